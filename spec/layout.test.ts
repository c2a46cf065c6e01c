/**
 * The shape of `lib/`: its folders are layers, imports flow one way (downwards), and the only
 * import circle is the three states of the machine building each other. See the map at the top
 * of `docs/architecture.md`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { circles, importGraph } from './support/import-graph.js';

const LIB = fileURLToPath(new URL('../lib', import.meta.url));

/**
 * The layers, lowest first: a file may import files of its own layer or of a lower one. The
 * longest matching prefix decides a file's layer.
 */
const LAYERS: readonly (readonly [prefix: string, rank: number])[] = [
  ['base/', 0], // shared values, errors, config, component types; imports nothing above it
  ['transform/', 1], // module rewriting: the ABI names, renaming, Binaryen's Asyncify
  ['load/', 2], // bytes -> base components: checks, facts, import resolution
  ['artifact/', 3], // base components <-> artifacts, and the cache
  ['backends/', 4], // the backends: each one's loading and driver, the seam the drivers share, their list
  ['vm/', 5], // the state machine, live instances, guest memory, traps
  ['index.ts', 6], // the public API of the core
  ['node/', 7], // Node.js-only additions to the public API
  ['browser/', 7], // browser-only additions to the public API
  ['substrate/', 8], // the Substrate host layer, built on the public API; its own folders are layers too:
  ['substrate/errors.ts', 8.0], //   the layer's errors
  ['substrate/encoding/', 8.1], //   hex, SCALE, zstd, the hashers
  ['substrate/heap/', 8.2], //   the runtime's heap: allocator, pointer-size
  ['substrate/state/', 8.2], //   the chain's state: providers, overlay, trie roots
  ['substrate/code/', 8.2], //   runtime code, its version and metadata
  ['substrate/call/', 8.3], //   one call's context and what the caller provides for it
  ['substrate/host/', 8.4], //   the host functions, by area, and their catalogue
  ['substrate/runtime/', 8.5], //   the runtime and its call loop
  ['substrate/index.ts', 8.6], //   the public entry of resumable-wasm/substrate
  ['cli/', 9], // the command line
];

function layerOf(file: string): readonly [string, number] {
  let best: readonly [string, number] | null = null;
  for (const layer of LAYERS) if (file.startsWith(layer[0]) && (best === null || layer[0].length > best[0].length)) best = layer;
  if (best === null) throw new Error(`${file} is in no layer: add its folder to LAYERS`);
  return best;
}

/** What the layers above the core may reach: the public API and the documented leaf layer. */
const NARROW: Record<string, readonly string[]> = {
  'substrate/': ['index.ts', 'base/', 'substrate/'],
  'node/': ['index.ts', 'node/'],
  'browser/': ['index.ts', 'browser/'],
};

const graph = importGraph(LIB);

describe('lib/ layout', () => {
  test('every file is in a layer', () => {
    for (const file of graph.keys()) expect(() => layerOf(file)).not.toThrow();
  });

  test('every Substrate file but its entry and its errors is in one of its folders', () => {
    const loose = [...graph.keys()].filter((file) => layerOf(file)[0] === 'substrate/');
    expect(loose).toEqual([]);
  });

  test('no import circle except the three states of the machine', () => {
    expect(circles(graph)).toEqual([['vm/prepare.ts', 'vm/prototype.ts', 'vm/virtual-machine.ts']]);
  });

  test('no file imports a layer above its own', () => {
    const upward: string[] = [];
    for (const [file, targets] of graph) {
      const [, rank] = layerOf(file);
      for (const target of targets) if (layerOf(target)[1] > rank) upward.push(`${file} -> ${target}`);
    }
    expect(upward).toEqual([]);
  });

  test('the Substrate layer and the Node.js and browser entries use only the public API and the leaf layer', () => {
    const outside: string[] = [];
    for (const [file, targets] of graph) {
      const allowed = Object.entries(NARROW).find(([prefix]) => file.startsWith(prefix))?.[1];
      if (allowed === undefined) continue;
      for (const target of targets) if (!allowed.some((p) => target.startsWith(p))) outside.push(`${file} -> ${target}`);
    }
    expect(outside).toEqual([]);
  });

  test("no code outside backends/ compares a backend's name, or reaches a backend but through their list", () => {
    // A backend is one object (backends/backend.ts): the rest of the library, the command line
    // included, asks it what it can do.
    const comparison = /(?:===|!==|case)\s*['"](?:asyncify|jspi)['"]|['"](?:asyncify|jspi)['"]\s*(?:===|!==)/;
    const offenders: string[] = [];
    for (const [file, targets] of graph) {
      if (file.startsWith('backends/')) continue;
      readFileSync(join(LIB, file), 'utf8')
        .split('\n')
        .forEach((line, index) => {
          if (comparison.test(line)) offenders.push(`${file}:${index + 1}: ${line.trim()}`);
        });
      for (const target of targets) {
        if (/^backends\/[^/]+\//.test(target)) offenders.push(`${file} -> ${target} (use backends/list.ts)`);
      }
    }
    expect(offenders).toEqual([]);
    expect(comparison.test("if (config.backend === 'jspi') {")).toBe(true);
  });

  test('the check itself catches a circle and an upward import', () => {
    const planted = new Map(graph);
    planted.set('base/values.ts', [...(graph.get('base/values.ts') ?? []), 'vm/guest-memory.ts']);
    expect(circles(planted).length).toBeGreaterThan(1);
    expect(layerOf('base/values.ts')[1]).toBeLessThan(layerOf('vm/guest-memory.ts')[1]);
  });
});
