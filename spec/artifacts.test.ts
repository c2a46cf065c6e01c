/**
 * Artifacts and the cache: a prototype rebuilt from an artifact (or served by the cache) runs
 * without the transform; a corrupted, truncated or mismatched artifact is refused with a clear
 * error and never run; creation reports its phases.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ArtifactError,
  type ArtifactErrorKind,
  type ArtifactCache,
  MemoryArtifactCache,
  NewError,
  type ProgressEvent,
  VirtualMachinePrototype,
  type VmConfig,
  WasmValue,
} from '../lib/index.js';
import { checksum } from '../lib/base/digest.js';
import { FileArtifactCache } from '../lib/node/index.js';
import { wat } from './support/wat.js';

const GUEST = `(module
  (import "env" "ask" (func $ask (param i32) (result i32)))
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1 2)
  (global (export "answer_base") i32 (i32.const 40))
  (data (i32.const 8) "artifact")
  (func (export "main") (param $x i32) (result i32)
    (call $log (i32.load8_u (i32.const 8)))
    (i32.add (global.get 0) (call $ask (local.get $x)))))`;

let moduleBytes: Uint8Array;
beforeAll(async () => {
  moduleBytes = await wat(GUEST);
});

function config(overrides: Partial<VmConfig> = {}): VmConfig {
  return { moduleBytes, symbols: (_m, name) => (name === 'ask' ? 1 : 2), ...overrides };
}

/** Runs main(2) answering ask with 5 and log with nothing; checks the interrupts on the way. */
function expectWorks(proto: VirtualMachinePrototype): void {
  expect(proto.globalValue('answer_base')).toBe(40);
  const vm = proto.prepare().start('main', [WasmValue.i32(2)]);
  expect(vm.run(null)).toEqual({ type: 'interrupted', id: 2, params: [{ type: 'i32', value: 'a'.charCodeAt(0) }] });
  expect(vm.run(null)).toEqual({ type: 'interrupted', id: 1, params: [{ type: 'i32', value: 2 }] });
  expect(vm.run(WasmValue.i32(5))).toEqual({ type: 'finished', value: { type: 'i32', value: 45 } });
}

async function refusal(artifact: Uint8Array, cfg: VmConfig): Promise<ArtifactError> {
  try {
    await VirtualMachinePrototype.fromArtifact(artifact, cfg);
  } catch (e) {
    if (e instanceof ArtifactError) return e;
    throw e;
  }
  throw new Error('the artifact was accepted');
}

async function expectRefused(artifact: Uint8Array, cfg: VmConfig, kind: ArtifactErrorKind, message: RegExp): Promise<void> {
  const error = await refusal(artifact, cfg);
  expect(error.kind).toBe(kind);
  expect(error.message).toMatch(message);
}

/** Rewrites an artifact's JSON header with `edit` and recomputes the checksum, as a forger would. */
function withHeader(artifact: Uint8Array, edit: (header: Record<string, unknown>) => void): Uint8Array {
  const view = new DataView(artifact.buffer, artifact.byteOffset, artifact.byteLength);
  const headerLength = view.getUint32(12, true);
  const header = JSON.parse(new TextDecoder().decode(artifact.subarray(16, 16 + headerLength)));
  edit(header);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const body = artifact.subarray(16 + headerLength, artifact.length - 8);
  const out = new Uint8Array(16 + json.length + body.length + 8);
  out.set(artifact.subarray(0, 16));
  new DataView(out.buffer).setUint32(12, json.length, true);
  out.set(json, 16);
  out.set(body, 16 + json.length);
  new DataView(out.buffer).setBigUint64(out.length - 8, checksum(out.subarray(0, out.length - 8)), true);
  return out;
}

/** Collects the progress events of a creation: how a test sees which phases ran (the transform or not). */
function recorder(): { events: ProgressEvent[]; onProgress: (e: ProgressEvent) => void } {
  const events: ProgressEvent[] = [];
  return { events, onProgress: (e) => events.push(e) };
}

/** `create(cfg)`, and whether it ran the transform (seen through its progress events). */
async function createObserved(cfg: VmConfig): Promise<{ proto: VirtualMachinePrototype; transformed: boolean }> {
  const { events, onProgress } = recorder();
  const proto = await VirtualMachinePrototype.create({ ...cfg, onProgress });
  return { proto, transformed: events.some((e) => e.phase === 'transform') };
}

describe('toArtifact / fromArtifact', () => {
  test('a prototype rebuilt from an artifact works, without running the transform', async () => {
    const original = await VirtualMachinePrototype.create(config());
    const artifact = original.toArtifact();
    const progress = recorder();
    const rebuilt = await VirtualMachinePrototype.fromArtifact(artifact, config({ onProgress: progress.onProgress }));
    expect(progress.events.filter((e) => e.status === 'end').map((e) => e.phase)).toEqual(['load-artifact', 'compile', 'instantiate']);
    // Every prototype of the module gives the same artifact.
    expect(rebuilt.toArtifact()).toEqual(artifact);
    expect(rebuilt.clone().toArtifact()).toEqual(artifact);
    expectWorks(rebuilt);
    expectWorks(original);
  });

  test('the import ids come from the config used to load', async () => {
    const artifact = (await VirtualMachinePrototype.create(config())).toArtifact();
    const proto = await VirtualMachinePrototype.fromArtifact(artifact, config({ symbols: (_m, name) => (name === 'ask' ? 10 : 20) }));
    expect(proto.prepare().start('main', [WasmValue.i32(0)]).run(null)).toMatchObject({ type: 'interrupted', id: 20 });
  });

  test('the caller may reuse the artifact and the module bytes while fromArtifact() is running', async () => {
    const artifact = (await VirtualMachinePrototype.create(config())).toArtifact();
    const ownBytes = moduleBytes.slice();
    const loading = VirtualMachinePrototype.fromArtifact(artifact, config({ moduleBytes: ownBytes }));
    artifact.fill(0);
    ownBytes.fill(0);
    expectWorks(await loading);
  });

  test('a refused import is the same NewError as create() gives', async () => {
    const artifact = (await VirtualMachinePrototype.create(config())).toArtifact();
    const loading = VirtualMachinePrototype.fromArtifact(artifact, config({ symbols: () => null }));
    await expect(loading).rejects.toBeInstanceOf(NewError);
    await expect(loading).rejects.toMatchObject({ kind: 'UnresolvedFunctionImport', functionName: 'ask' });
  });

  describe('refusals', () => {
    let artifact: Uint8Array;
    beforeAll(async () => {
      artifact = (await VirtualMachinePrototype.create(config())).toArtifact();
    });

    test('not an artifact', async () => {
      await expectRefused(moduleBytes, config(), 'Corrupted', /not an artifact/);
      await expectRefused(new Uint8Array(3), config(), 'Corrupted', /not an artifact/);
    });

    test.each([
      ['a flipped byte in the module', (a: Uint8Array) => (a[a.length - 40]! ^= 0x01)],
      ['a flipped byte in the header', (a: Uint8Array) => (a[20]! ^= 0x20)],
      ['a flipped byte in the checksum', (a: Uint8Array) => (a[a.length - 1]! ^= 0x80)],
    ])('%s', async (_name, corrupt) => {
      const damaged = artifact.slice();
      corrupt(damaged);
      await expectRefused(damaged, config(), 'Corrupted', /checksum does not match/);
    });

    test('truncation', async () => {
      for (const length of [artifact.length - 1, artifact.length - 100, 40, 17]) {
        await expectRefused(artifact.subarray(0, length), config(), 'Corrupted', /checksum|not an artifact|too short/);
      }
    });

    test('another library version or format', async () => {
      await expectRefused(
        withHeader(artifact, (h) => (h['library'] = '0.0.1')),
        config(),
        'VersionMismatch',
        /made by resumable-wasm 0\.0\.1; this is version/,
      );
      const otherFormat = artifact.slice();
      new DataView(otherFormat.buffer).setUint32(8, 99, true);
      new DataView(otherFormat.buffer).setBigUint64(otherFormat.length - 8, checksum(otherFormat.subarray(0, otherFormat.length - 8)), true);
      await expectRefused(otherFormat, config(), 'VersionMismatch', /format version 99/);
    });

    test('another module', async () => {
      const other = await wat(GUEST.replace('"artifact"', '"different"'));
      await expectRefused(artifact, config({ moduleBytes: other }), 'ModuleMismatch', /made from another module/);
    });

    test.each<[string, Partial<VmConfig>, RegExp]>([
      ['floats', { floats: true }, /floats false \(now true\)/],
      ['features', { features: 'mvp' }, /features "default" \(now "mvp"\)/],
      ['unwindBufferPages', { unwindBufferPages: 3 }, /unwindBufferPages 64 \(now 3\)/],
      ['requireMemory', { requireMemory: false }, /requireMemory/],
    ])('other options: %s', async (_name, overrides, message) => {
      await expectRefused(artifact, config(overrides), 'OptionsMismatch', message);
    });

    test('another split between inline and pausing imports', async () => {
      await expectRefused(
        artifact,
        config({ inlineImports: (_m, name) => (name === 'log' ? () => undefined : undefined) }),
        'OptionsMismatch',
        /"env"\."log" was a pausing import when the artifact was made, but is answered inline/,
      );
    });

    test('another transform', async () => {
      await expectRefused(
        withHeader(artifact, (h) => ((h['options'] as Record<string, unknown>)['transform'] = 'something else')),
        config(),
        'OptionsMismatch',
        /transform "something else"/,
      );
    });

    test('a header that does not match its module', async () => {
      await expectRefused(
        withHeader(artifact, (h) => {
          const exports = h['exports'] as [string, { position: number }][];
          exports[0]![1].position = 99;
        }),
        config(),
        'Corrupted',
        /does not have the imports and exports its header announces/,
      );
      await expectRefused(withHeader(artifact, (h) => (h['imports'] = 7)), config(), 'Corrupted', /header is malformed/);
    });
  });
});

describe('the cache', () => {
  test('the second create() of a module is served from the cache', async () => {
    const cache = new MemoryArtifactCache();
    const first = recorder();
    expectWorks(await VirtualMachinePrototype.create(config({ cache, onProgress: first.onProgress })));
    expect(cache.size).toBe(1);
    expect(first.events.filter((e) => e.status === 'end').map((e) => e.phase)).toEqual([
      'cache-lookup',
      'validate',
      'inspect',
      'transform',
      'compile',
      'instantiate',
      'cache-store',
    ]);
    expect(first.events.find((e) => e.phase === 'cache-lookup' && e.status === 'end')?.cacheHit).toBe(false);

    const second = recorder();
    expectWorks(await VirtualMachinePrototype.create(config({ cache, onProgress: second.onProgress })));
    expect(second.events.filter((e) => e.status === 'end').map((e) => e.phase)).toEqual([
      'cache-lookup',
      'load-artifact',
      'compile',
      'instantiate',
    ]);
    expect(second.events.find((e) => e.phase === 'cache-lookup' && e.status === 'end')?.cacheHit).toBe(true);
  });

  test('the key covers the options', async () => {
    const cache = new MemoryArtifactCache();
    await VirtualMachinePrototype.create(config({ cache }));
    await VirtualMachinePrototype.create(config({ cache, unwindBufferPages: 2 }));
    await VirtualMachinePrototype.create(config({ cache, features: 'mvp' }));
    expect(cache.size).toBe(3);
  });

  test('a damaged or stale entry is a miss, rebuilt and replaced', async () => {
    const entries = new Map<string, Uint8Array>();
    const cache: ArtifactCache = { get: (k) => entries.get(k), set: (k, v) => void entries.set(k, v) };
    await VirtualMachinePrototype.create(config({ cache }));
    const [key, good] = [...entries][0]!;
    entries.set(key, good.subarray(0, 100));
    const rebuilt = await createObserved(config({ cache }));
    expectWorks(rebuilt.proto);
    expect(rebuilt.transformed).toBe(true);
    expect(entries.get(key)).toEqual(good);
    // An artifact made with another inline split is replaced by one for the new split.
    const inline = config({ cache, inlineImports: (_m, name) => (name === 'log' ? () => undefined : undefined) });
    await VirtualMachinePrototype.create(inline);
    expect(entries.get(key)).not.toEqual(good);
    expect((await createObserved(inline)).transformed).toBe(false);
  });

  test('a failing store never fails create(), and is reported', async () => {
    const broken: ArtifactCache = {
      get: () => Promise.reject(new Error('disk gone')),
      set: () => {
        throw new Error('read-only');
      },
    };
    const { events, onProgress } = recorder();
    expectWorks(await VirtualMachinePrototype.create(config({ cache: broken, onProgress })));
    const ends = events.filter((e) => e.status === 'end');
    expect(ends.find((e) => e.phase === 'cache-lookup')?.error).toMatchObject({ message: 'disk gone' });
    expect(ends.find((e) => e.phase === 'cache-store')?.error).toMatchObject({ message: 'read-only' });
  });

  test('FileArtifactCache keeps artifacts in a folder', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'resumable-wasm-cache-'));
    try {
      const cache = new FileArtifactCache(join(directory, 'nested'));
      expect(await cache.get('0'.repeat(64))).toBeUndefined();
      await VirtualMachinePrototype.create(config({ cache }));
      const files = readdirSync(join(directory, 'nested'));
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(/^[0-9a-f]{64}\.rwasm$/);
      const hit = await createObserved(config({ cache: new FileArtifactCache(join(directory, 'nested')) }));
      expectWorks(hit.proto);
      expect(hit.transformed).toBe(false);
      // A file damaged on disk is caught by the checksum and replaced.
      writeFileSync(join(directory, 'nested', files[0]!), 'garbage');
      const rebuilt = await createObserved(config({ cache }));
      expectWorks(rebuilt.proto);
      expect(rebuilt.transformed).toBe(true);
      expect(() => cache.pathOf('../escape')).toThrow(TypeError);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

test('progress events come in order, each phase started then ended', async () => {
  const events: ProgressEvent[] = [];
  await VirtualMachinePrototype.create(config({ onProgress: (e) => events.push(e) }));
  const phases = ['validate', 'inspect', 'transform', 'compile', 'instantiate'];
  const bounds = events.filter((e) => e.status !== 'progress');
  expect(bounds.map((e) => `${e.phase}:${e.status}`)).toEqual(phases.flatMap((p) => [`${p}:start`, `${p}:end`]));
  // The transform's steps, between its start and its end ('load-binaryen' only if its thread started now).
  const transform = events.filter((e) => e.phase === 'transform');
  expect(transform.map((e) => e.step ?? e.status).filter((s) => s !== 'load-binaryen')).toEqual([
    'start',
    'read',
    'asyncify',
    'post-passes',
    'emit',
    'end',
  ]);
  for (let i = 1; i < events.length; i++) expect(events[i]!.elapsedMs).toBeGreaterThanOrEqual(events[i - 1]!.elapsedMs);
  for (const e of events.filter((e) => e.status === 'end')) expect(e.durationMs).toBeGreaterThanOrEqual(0);
  // A listener that throws does not fail the creation.
  await expect(VirtualMachinePrototype.create(config({ onProgress: () => { throw new Error('display broke'); } }))).resolves.toBeInstanceOf(
    VirtualMachinePrototype,
  );
});
