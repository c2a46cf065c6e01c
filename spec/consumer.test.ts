/**
 * The package as a new project gets it: the tarball `npm pack` makes, installed by `npm install`
 * into a folder of its own (its dependencies from the npm cache), then used as users do: under
 * Node.js's test runner (which starts each file with per-process options that a Worker refuses)
 * and under Mocha, on both backends, Asyncify's transform included, with no `binaryen` package
 * installed; its command on the path; its types without skipLibCheck. And what it costs: the
 * tarball and the `node_modules` it leaves, measured here and recorded for the docs
 * (`docs/numbers.json`, `npm run docs:numbers`).
 *
 * Bounded by work (one install, a few processes), not by the clock.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type PackedConsumer, packedConsumerFolder } from './support/bundle.js';
import { documentedNumbers, recordNumbers } from './support/numbers.js';
import { REPO_ROOT } from './support/shared.js';
import { wat } from './support/wat.js';

const MB = 1e6;
/** The budget of a new project's node_modules after `npm install resumable-wasm`. */
const INSTALL_BUDGET = 30 * MB;

let consumer: PackedConsumer;

beforeAll(async () => {
  consumer = packedConsumerFolder();
  for (const file of ['cases.mjs', 'node-test.test.mjs', 'mocha.spec.mjs']) copyFileSync(join(REPO_ROOT, 'spec', 'consumer', file), join(consumer.folder, file));
  writeFileSync(
    join(consumer.folder, 'guest.wasm'),
    await wat(`(module (import "env" "twice" (func $t (param i32) (result i32))) (memory (export "memory") 1)
      (func (export "main") (param i32) (result i32) (call $t (local.get 0))))`),
  );
  recordNumbers('install', {
    installMB: Number((consumer.nodeModulesBytes / MB).toFixed(1)),
    tarballMB: Number((consumer.tarball.bytes / MB).toFixed(2)),
    unpackedMB: Number((consumer.tarball.unpackedBytes / MB).toFixed(1)),
    tarballFiles: consumer.tarball.files,
  });
  console.info(
    `install: node_modules ${(consumer.nodeModulesBytes / MB).toFixed(1)} MB; tarball ${(consumer.tarball.bytes / MB).toFixed(2)} MB, ` +
      `${(consumer.tarball.unpackedBytes / MB).toFixed(1)} MB unpacked, ${consumer.tarball.files} files`,
  );
});

afterAll(() => {
  if (consumer !== undefined) rmSync(consumer.folder, { recursive: true, force: true });
});

/** Runs `args` with this Node.js in the consumer's folder. */
function node(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, args, { cwd: consumer.folder, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test(`the install: within ${INSTALL_BUDGET / MB} MB of node_modules, no binaryen, only this package's command on the path`, () => {
  expect(consumer.nodeModulesBytes).toBeLessThanOrEqual(INSTALL_BUDGET);
  expect(existsSync(join(consumer.folder, 'node_modules', 'binaryen'))).toBe(false);
  expect(readdirSync(join(consumer.folder, 'node_modules', '.bin'))).toEqual(['resumable-wasm']);
  // And the docs say what was measured (to the tenth of a megabyte: npm's own files vary).
  expect(Math.abs(Number(documentedNumbers()['installMB']!.value) * MB - consumer.nodeModulesBytes)).toBeLessThan(0.5 * MB);
});

test('the tarball: no source maps, no TypeScript sources, no pictures', () => {
  const { paths } = consumer.tarball;
  expect(paths.filter((p) => p.endsWith('.map') || p.endsWith('.png') || /^lib\//.test(p))).toEqual([]);
  expect(paths).toContain('dist/transform/browser-worker-source.js');
});

test("npm pack --json's output is JSON (the build writes its line on stderr)", () => {
  // The build as prepack runs it, without writing dist/ again: its stdout must be empty.
  const build = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build-browser-worker.mjs'), '--check'], { cwd: REPO_ROOT, encoding: 'utf8' });
  expect({ status: build.status, stdout: build.stdout }).toEqual({ status: 0, stdout: '' });
});

test("Node.js's test runner: a test file creating prototypes on both backends passes", () => {
  const run = node('--test', '--test-reporter=tap', 'node-test.test.mjs');
  expect(run.stdout).toMatch(/^# pass 2$/m);
  expect({ status: run.status, fail: /^# fail (\d+)$/m.exec(run.stdout)?.[1], stderr: run.stderr }).toEqual({ status: 0, fail: '0', stderr: '' });
});

test('Mocha: the same checks pass', () => {
  // No time limit: Mocha's default (2 s) is about what loading Binaryen takes on a busy
  // machine, before the first transform; this test's own timeout catches a hang.
  const run = node(join(REPO_ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js'), '--reporter', 'dot', '--timeout', '0', 'mocha.spec.mjs');
  expect(run.stdout).toMatch(/2 passing/);
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
});

test('the command is on the path: npx resumable-wasm --version', () => {
  const run = node(join(consumer.folder, 'node_modules', '.bin', 'resumable-wasm'), '--version');
  expect(run).toEqual({ status: 0, stdout: expect.stringMatching(/^resumable-wasm \d+\.\d+\.\d+\n$/), stderr: '' });
});

test('the types check without skipLibCheck, with no binaryen installed', () => {
  symlinkSync(join(REPO_ROOT, 'node_modules', '@types'), join(consumer.folder, 'node_modules', '@types'), 'dir');
  writeFileSync(
    join(consumer.folder, 'index.ts'),
    `import { VirtualMachinePrototype, WasmValue } from 'resumable-wasm';\nimport { SubstrateRuntime } from 'resumable-wasm/substrate';\n` +
      `export const used = [VirtualMachinePrototype.create, SubstrateRuntime.create, WasmValue.i32(1)] as const;\n`,
  );
  writeFileSync(
    join(consumer.folder, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'nodenext', target: 'es2022', strict: true, noEmit: true, types: ['node'] }, files: ['index.ts'] }),
  );
  const tsc = node(join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', consumer.folder);
  expect({ status: tsc.status, output: tsc.stdout + tsc.stderr }).toEqual({ status: 0, output: '' });
});
