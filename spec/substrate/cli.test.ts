/**
 * The `resumable-wasm` CLI's commands, called as functions on small modules written to a
 * temporary folder: `inspect` reports what `create()` would say, `run` calls a runtime.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageProblem, parseArgs } from '../../lib/cli/args.js';
import { readInputFile } from '../../lib/cli/input-file.js';
import { inspectModule, printInspectReport } from '../../lib/cli/inspect.js';
import { prepareCommand } from '../../lib/cli/prepare.js';
import { runCommand } from '../../lib/cli/run.js';
import { toHex } from '../../lib/substrate/index.js';
import { wat } from '../support/wat.js';
import { guest, zstdStored } from '../support/substrate-guest.js';

const dir = mkdtempSync(join(tmpdir(), 'resumable-wasm-cli-'));
const write = (name: string, data: Uint8Array | string) => {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
};

const RUNTIME = guest(
  `(import "env" "ext_hashing_twox_64_version_1" (func $twox (param i64) (result i32)))
   (import "env" "ext_storage_get_version_1" (func $get (param i64) (result i64)))
   (import "env" "ext_crypto_verify_version_1" (func $verify (param i64) (result i32)))`,
  `(func (export "hash") (param $p i32) (param $l i32) (result i64)
     (call $ps (call $twox (call $ps (local.get $p) (local.get $l))) (i32.const 8)))
   (func (export "get") (param $p i32) (param $l i32) (result i64) (call $get (call $ps (local.get $p) (local.get $l))))`,
);

describe('inspect', () => {
  test('a Substrate runtime: routes, version, accepted', async () => {
    const path = write('runtime.wasm', zstdStored(await RUNTIME));
    const report = inspectModule(path, await readInputFile(path));
    expect(report).toMatchObject({ compressed: true, accepted: true, refusal: null, memory: { imported: true, initialPages: 1, maximumPages: null } });
    expect(report.imports.filter((i) => i.kind === 'function').map((i) => [i.name, i.signature, i.route])).toEqual([
      ['ext_hashing_twox_64_version_1', '(i64) -> i32', 'inline'],
      ['ext_storage_get_version_1', '(i64) -> i64', 'pausing'],
      ['ext_crypto_verify_version_1', '(i64) -> i32', 'handler'],
    ]);
    expect(report.exports).toContainEqual({ name: 'hash', kind: 'function', type: '(i32, i32) -> i64' });
    expect(report.exports).toContainEqual({ name: '__heap_base', kind: 'global', type: 'i32' });
    expect(report.customSections.map((s) => s.name)).toEqual(['runtime_version', 'runtime_apis']);
    expect(report.substrate?.version?.specName).toBe('guest');
    const lines: string[] = [];
    printInspectReport(report, (line) => lines.push(line));
    expect(lines[1]).toBe('VirtualMachinePrototype.create: accepted');
    expect(lines.join('\n')).toMatch(/ext_storage_get_version_1\s+\(i64\) -> i64\s+\[pausing\]/);
  });

  test.each([
    ['a start function', '(module (memory (export "memory") 1) (func $s) (start $s))', 'StartFunctionNotSupported'],
    ['a float import', '(module (import "env" "f" (func (param f64))) (memory (export "memory") 1))', 'UnresolvedFunctionImport'],
    ['no memory', '(module)', 'NoMemory'],
  ])('%s is refused with the error create() gives', async (_what, source, kind) => {
    const path = write(`${kind}.wasm`, await wat(source));
    const report = inspectModule(path, await readInputFile(path));
    expect(report.accepted).toBe(false);
    expect(report.refusal).toMatchObject({ error: 'NewError', kind });
  });

  test('hex files are read as code', async () => {
    const path = write('runtime.hex', toHex(await RUNTIME));
    expect(inspectModule(path, await readInputFile(path)).format).toBe('hex');
  });
});

describe('run', () => {
  const spec = { values: ['storage', 'heap-pages', 'cache', 'log', 'out'], flags: ['json', 'quiet'] };
  const run = async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    await runCommand(parseArgs(argv, spec), (l) => out.push(l), (l) => err.push(l));
    return { out: out.join('\n'), err: err.join('\n') };
  };

  test('calls an entry point and reports host calls and timings; progress goes to stderr', async () => {
    const path = write('run.wasm', await RUNTIME);
    const { out, err } = await run([path, 'hash', '0x68656c6c6f20776f726c64']);
    expect(out).toMatch(/hash: 8 bytes of output/);
    expect(out).toMatch(/0x68691eb23467ab45/);
    expect(out).toMatch(/ext_hashing_twox_64_version_1\s+1/);
    expect(err).toMatch(/creating the runtime/);
  });

  test('--json, with storage from a JSON file', async () => {
    const path = write('run2.wasm', await RUNTIME);
    const storage = write('storage.json', JSON.stringify({ '0x01': '0xabcd' }));
    const { out, err } = await run([path, 'get', '0x01', '--storage', storage, '--json', '--quiet']);
    expect(err).toBe('');
    const result = JSON.parse(out) as { output: string; pauses: number; hostCalls: Record<string, number> };
    expect(result.output).toBe('0x0108abcd');
    expect(result.pauses).toBe(1);
    expect(result.hostCalls).toEqual({ ext_storage_get_version_1: 1 });
  });

  test('bad command lines are usage problems', async () => {
    await expect(run([])).rejects.toThrow(UsageProblem);
    await expect(run(['x.wasm', 'f', 'zz'])).rejects.toThrow(/hexadecimal/);
    expect(() => parseArgs(['--bogus'], spec)).toThrow(/unknown option --bogus/);
    expect(() => parseArgs(['--storage'], spec)).toThrow(/needs a value/);
  });
});

describe('prepare', () => {
  test('writes an artifact that run --artifact loads without the transform', async () => {
    const runtime = write('prepared.wasm', await RUNTIME);
    const artifact = join(dir, 'prepared.rwasm');
    const out: string[] = [];
    const err: string[] = [];
    await prepareCommand(parseArgs([runtime, '-o', artifact], { values: ['o', 'output', 'heap-pages'], flags: ['plain', 'quiet'] }), (l) => out.push(l), (l) => err.push(l));
    expect(out.join('\n')).toMatch(/prepared\.rwasm: [\d,]+ bytes artifact/);
    expect(err.join('\n')).toMatch(/for the Substrate host layer/);
    expect(err.join('\n')).toMatch(/transforming/);

    const runOut: string[] = [];
    const runErr: string[] = [];
    const spec = { values: ['storage', 'heap-pages', 'cache', 'artifact', 'log', 'out'], flags: ['json', 'quiet'] };
    await runCommand(parseArgs([runtime, 'hash', '0x00', '--artifact', artifact, '--json'], spec), (l) => runOut.push(l), (l) => runErr.push(l));
    const result = JSON.parse(runOut.join('\n'));
    expect(result.outputSize).toBe(8);
    expect(result.timings.phasesMs).not.toHaveProperty('transform');
    expect(result.timings.phasesMs).toHaveProperty('load-artifact');
  });

  test('an artifact made with other options is not used, and the run says so', async () => {
    const runtime = write('prepared2.wasm', await RUNTIME);
    const artifact = join(dir, 'prepared2.rwasm');
    await prepareCommand(parseArgs([runtime, '-o', artifact, '--heap-pages', '16'], { values: ['o', 'output', 'heap-pages'], flags: ['plain', 'quiet'] }), () => undefined, () => undefined);
    const runErr: string[] = [];
    const spec = { values: ['storage', 'heap-pages', 'cache', 'artifact', 'log', 'out'], flags: ['json', 'quiet'] };
    await runCommand(parseArgs([runtime, 'hash', '0x00', '--artifact', artifact], spec), () => undefined, (l) => runErr.push(l));
    expect(runErr.join('\n')).toMatch(/is not an artifact of this runtime with these options; it was transformed instead/);
  });

  test('-o is required', async () => {
    await expect(prepareCommand(parseArgs(['x.wasm'], { values: ['o'], flags: [] }), () => undefined, () => undefined)).rejects.toBeInstanceOf(UsageProblem);
  });
});
