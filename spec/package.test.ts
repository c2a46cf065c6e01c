/**
 * The package as users get it: the built JavaScript and declarations are importable by name
 * from another folder, through the `exports` map, on the Node this project pins.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LIBRARY_VERSION } from '../lib/base/version.js';
import { REPO_ROOT } from './support/shared.js';
import { wat } from './support/wat.js';

test('the version artifacts record is the package version', () => {
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  expect(LIBRARY_VERSION).toBe(manifest.version);
});

test('the built package is importable by name from another folder', async () => {
  // `npm test` builds dist/ first (and `npm install` runs the build too).
  const folder = mkdtempSync(join(tmpdir(), 'resumable-wasm-consumer-'));
  try {
    mkdirSync(join(folder, 'node_modules'));
    symlinkSync(REPO_ROOT, join(folder, 'node_modules', 'resumable-wasm'), 'dir');
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
