/**
 * The package as users get it: the built JavaScript and declarations are importable by name
 * from another folder, through the `exports` map, on the Node this project pins, with `import`
 * and with `require`; the declarations type-check with TypeScript 5.7 and later, and an older
 * TypeScript is told so; the published files hold the license; installing runs no script.
 *
 * Bounded by work (a few processes, each doing one small thing), not by the clock.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LIBRARY_VERSION } from '../lib/base/version.js';
import { REPO_ROOT, describeUnless } from './support/shared.js';
import { wat } from './support/wat.js';


interface Manifest {
  version: string;
  license: string;
  scripts: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
}
const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as Manifest;

/** A folder holding `node_modules/resumable-wasm` (this repository, as `npm link` would). */
function consumerFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), 'resumable-wasm-consumer-'));
  mkdirSync(join(folder, 'node_modules'));
  symlinkSync(REPO_ROOT, join(folder, 'node_modules', 'resumable-wasm'), 'dir');
  return folder;
}

test('the version artifacts record is the package version', () => {
  expect(LIBRARY_VERSION).toBe(manifest.version);
});

test('the built package is importable by name from another folder', async () => {
  // `npm test` builds dist/ first.
  const folder = consumerFolder();
  try {
    writeFileSync(
      join(folder, 'guest.wasm'),
      await wat(`(module (import "env" "twice" (func $t (param i32) (result i32))) (memory (export "memory") 1)
        (func (export "main") (param i32) (result i32) (call $t (local.get 0))))`),
    );
    writeFileSync(
      join(folder, 'consumer.mjs'),
      `import { readFileSync } from 'node:fs';
import { VirtualMachinePrototype, WasmValue, NewError } from 'resumable-wasm';
import { FileArtifactCache } from 'resumable-wasm/node';
const proto = await VirtualMachinePrototype.create({
  moduleBytes: readFileSync(new URL('./guest.wasm', import.meta.url)),
  symbols: () => 0,
  cache: new FileArtifactCache(new URL('./cache', import.meta.url).pathname),
});
const vm = proto.prepare().start('main', [WasmValue.i32(21)]);
const paused = vm.run(null);
const done = vm.run(WasmValue.i32(paused.params[0].value * 2));
console.log(JSON.stringify({ paused: paused.type, value: done.value.value, newError: typeof NewError }));
`,
    );
    const output = execFileSync(process.execPath, [join(folder, 'consumer.mjs')], { cwd: folder, encoding: 'utf8' });
    expect(JSON.parse(output)).toEqual({ paused: 'interrupted', value: 42, newError: 'function' });
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('the declarations are published for both entry points', () => {
  for (const entry of ['dist/index.d.ts', 'dist/node/index.d.ts']) {
    const declarations = readFileSync(join(REPO_ROOT, entry), 'utf8');
    expect(declarations.length).toBeGreaterThan(0);
  }
  const index = readFileSync(join(REPO_ROOT, 'dist/index.d.ts'), 'utf8');
  expect(index).toContain('VirtualMachinePrototype');
  // Internal helpers are stripped from the published declarations.
  expect(readFileSync(join(REPO_ROOT, 'dist/vm/prototype.d.ts'), 'utf8')).not.toContain('_createTuned');
});

const GUEST = `(module (import "env" "twice" (func $t (param i32) (result i32))) (memory (export "memory") 1)
  (func (export "main") (param i32) (result i32) (call $t (local.get 0))))`;

test('require() works too: every entry point has a require condition (Node >= 22.12 requires ES modules)', async () => {
  for (const [entry, target] of Object.entries(manifest.exports)) {
    if (typeof target === 'string') continue;
    expect([entry, target['require'], target['default']]).toEqual([entry, target['import'], target['import']]);
  }
  const folder = consumerFolder();
  try {
    writeFileSync(join(folder, 'guest.wasm'), await wat(GUEST));
    writeFileSync(
      join(folder, 'consumer.cjs'),
      `const { readFileSync } = require('node:fs');
const { VirtualMachinePrototype, WasmValue } = require('resumable-wasm');
const { SubstrateRuntime, toHex } = require('resumable-wasm/substrate');
const { FileArtifactCache } = require('resumable-wasm/node');
(async () => {
  const proto = await VirtualMachinePrototype.create({ moduleBytes: readFileSync(__dirname + '/guest.wasm'), symbols: () => 0 });
  const vm = proto.prepare().start('main', [WasmValue.i32(21)]);
  const paused = vm.run(null);
  const done = vm.run(WasmValue.i32(paused.params[0].value * 2));
  console.log(JSON.stringify({
    value: done.value.value,
    substrate: typeof SubstrateRuntime.create,
    hex: toHex(Uint8Array.of(1, 2)),
    node: typeof FileArtifactCache,
    version: require('resumable-wasm/package.json').version,
  }));
})();
`,
    );
    const output = execFileSync(process.execPath, [join(folder, 'consumer.cjs')], { cwd: folder, encoding: 'utf8' });
    expect(JSON.parse(output)).toEqual({ value: 42, substrate: 'function', hex: '0x0102', node: 'function', version: manifest.version });
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('the published files: the built code, the declarations, the license; no install script', () => {
  const packed = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO_ROOT, encoding: 'utf8' });
  expect(packed.status).toBe(0);
  const files = (JSON.parse(packed.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
  for (const file of ['LICENSE', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'compat/typescript-before-5.7/index.d.ts']) {
    expect(files).toContain(file);
  }
  expect(files.filter((f) => f.startsWith('spec/') || f.startsWith('node_modules/'))).toEqual([]);
  const license = readFileSync(join(REPO_ROOT, 'LICENSE'), 'utf8');
  expect(manifest.license).toBe('Apache-2.0');
  expect(license).toContain('Apache License\n                           Version 2.0, January 2004');
  expect(license).toContain('END OF TERMS AND CONDITIONS');
  // A consumer's install runs none of this package's scripts: the build runs when packing.
  for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) expect(manifest.scripts).not.toHaveProperty(script);
  expect(manifest.scripts['prepack']).toBe('npm run build');
  // Every file the exports map names is published.
  for (const target of Object.values(manifest.exports)) {
    for (const path of typeof target === 'string' ? [target] : Object.values(target)) expect(files).toContain(path.replace(/^\.\//, ''));
  }
});

/** A file using the four entry points' values and types, and a tsconfig as a user would write it. */
function typeScriptConsumer(skipLibCheck: boolean): string {
  const folder = consumerFolder();
  // The Node.js types, as a user of `resumable-wasm/node` has them.
  symlinkSync(join(REPO_ROOT, 'node_modules', '@types'), join(folder, 'node_modules', '@types'), 'dir');
  writeFileSync(join(folder, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  writeFileSync(
    join(folder, 'index.ts'),
    `import { VirtualMachinePrototype, WasmValue, type VmConfig } from 'resumable-wasm';
import { SubstrateRuntime, type RuntimeVersion } from 'resumable-wasm/substrate';
import { FileArtifactCache } from 'resumable-wasm/node';
import { IndexedDbArtifactCache } from 'resumable-wasm/browser';
const value: WasmValue = WasmValue.i32(1);
export const used = [VirtualMachinePrototype.create, SubstrateRuntime.create, FileArtifactCache, IndexedDbArtifactCache, value] as const;
export type Used = [VmConfig['moduleBytes'], RuntimeVersion['specName']];
`,
  );
  writeFileSync(
    join(folder, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, types: ['node'], skipLibCheck },
      files: ['index.ts'],
    }),
  );
  return folder;
}

/** Runs the TypeScript compiler at `tscPath` on `folder`: its exit status and what it printed. */
function compile(tscPath: string, folder: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [tscPath, '-p', folder], { cwd: folder, encoding: 'utf8' });
  return { status: result.status, output: result.stdout + result.stderr };
}

test('the declarations type-check with this TypeScript, without skipLibCheck', () => {
  const folder = typeScriptConsumer(false);
  try {
    expect(compile(join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), folder)).toEqual({ status: 0, output: '' });
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

/**
 * TypeScript 5.4, installed from the npm registry into a folder kept between runs (it is not a
 * devDependency: its `tsc` would take the place of the project's). `null` when it cannot be
 * installed (no network), and the test says it is skipped.
 */
function oldTypeScript(): string | null {
  const folder = join(tmpdir(), 'resumable-wasm-typescript-5.4.5');
  const tsc = join(folder, 'node_modules', 'typescript', 'bin', 'tsc');
  if (existsSync(tsc)) return tsc;
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'package.json'), JSON.stringify({ private: true }));
  const installed = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', 'typescript@5.4.5'], {
    cwd: folder,
    encoding: 'utf8',
  });
  if (installed.status === 0 && existsSync(tsc)) return tsc;
  oldTypeScriptRefusal = `npm could not install typescript@5.4.5 (${installed.stderr.trim().split('\n').pop()})`;
  return null;
}

let oldTypeScriptRefusal = '';
const tsc54 = oldTypeScript();
describeUnless(tsc54 === null ? oldTypeScriptRefusal : null, 'TypeScript before 5.7', () => {
  test('without skipLibCheck: an error that says which TypeScript is needed', () => {
    const folder = typeScriptConsumer(false);
    try {
      const { status, output } = compile(tsc54!, folder);
      expect(status).not.toBe(0);
      expect(output).toContain('resumable-wasm needs TypeScript 5.7 or later (or skipLibCheck: true)');
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  test('with skipLibCheck: the declarations are used as they are', () => {
    const folder = typeScriptConsumer(true);
    try {
      expect(compile(tsc54!, folder)).toEqual({ status: 0, output: '' });
      // The types are really there: a wrong use is an error.
      writeFileSync(join(folder, 'index.ts'), `import { WasmValue } from 'resumable-wasm';\nexport const wrong: number = WasmValue.i32(1);\n`);
      expect(compile(tsc54!, folder).output).toMatch(/error TS2322: Type .* is not assignable to type 'number'/);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
