/**
 * The `resumable-wasm` CLI. The commands are called as functions on small modules written to a
 * temporary folder (`inspect` reports what `create()` would say, `run` calls a runtime,
 * `prepare` writes artifacts), and the built command (`dist/cli/main.js`, which `npm test`
 * builds first) is spawned to check what a user sees: one line and a documented exit status for
 * every failure, never a stack trace; a short usage under an argument error; `--help` and
 * `--version`.
 *
 * The tests are bounded by their work (a few tiny modules, each transformed at most once), not
 * by the clock: nothing here expects a duration, and the timeout only catches a hang.
 * That the cheap checks come before the transform is shown by what the command printed, not by
 * how long it took.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ParsedArgs, parseCommandLine } from '../../lib/cli/args.js';
import { EXIT_STATUS_TABLE, ExitStatus, failureOf } from '../../lib/cli/exit-status.js';
import { readInputFile } from '../../lib/cli/input-file.js';
import { inspectModule, printInspectReport } from '../../lib/cli/inspect.js';
import { PREPARE_OPTIONS, prepareCommand } from '../../lib/cli/prepare.js';
import { UsageProblem } from '../../lib/cli/problems.js';
import { COMMANDS } from '../../lib/cli/usage.js';
import { RUN_OPTIONS, runCommand } from '../../lib/cli/run.js';
import { NewError } from '../../lib/base/errors.js';
import { toHex } from '../../lib/substrate/index.js';
import { REPO_ROOT, describeUnless } from '../support/shared.js';
import { opaqueMetadata, syntheticMetadata } from '../support/synthetic-metadata.js';
import { wat } from '../support/wat.js';
import { GUEST_VERSION, encodeVersion, guest, zstdStored } from '../support/substrate-guest.js';


const dir = mkdtempSync(join(tmpdir(), 'resumable-wasm-cli-'));
const write = (name: string, data: Uint8Array | string) => {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
};

/** `bytes` as a WAT string literal. */
const watBytes = (bytes: Uint8Array): string => [...bytes].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('');

const VERSION_BYTES = encodeVersion(GUEST_VERSION);
/** Above the guests' heap base (4096) and clear of the few bytes a call allocates there. */
const METADATA_OFFSET = 32768;
const METADATA_PROPER = syntheticMetadata(14, ['System', 'Balances']);
const METADATA = opaqueMetadata(METADATA_PROPER);

const RUNTIME = guest(
  `(import "env" "ext_hashing_twox_64_version_1" (func $twox (param i64) (result i32)))
   (import "env" "ext_storage_get_version_1" (func $get (param i64) (result i64)))
   (import "env" "ext_crypto_verify_version_1" (func $verify (param i64) (result i32)))`,
  `(func (export "hash") (param $p i32) (param $l i32) (result i64)
     (call $ps (call $twox (call $ps (local.get $p) (local.get $l))) (i32.const 8)))
   (func (export "get") (param $p i32) (param $l i32) (result i64) (call $get (call $ps (local.get $p) (local.get $l))))
   (func (export "Core_version") (param i32 i32) (result i64) (call $ps (i32.const 1024) (i32.const ${VERSION_BYTES.length})))
   (func (export "Metadata_metadata") (param i32 i32) (result i64) (call $ps (i32.const ${METADATA_OFFSET}) (i32.const ${METADATA.length})))
   (data (i32.const 1024) "${watBytes(VERSION_BYTES)}")
   (data (i32.const ${METADATA_OFFSET}) "${watBytes(METADATA)}")`,
);

/** Another runtime: same shape, different bytes. */
const OTHER_RUNTIME = guest('', '(func (export "nothing") (param i32 i32) (result i64) (i64.const 0))');

/** Calls `command` in this process; returns what it wrote to stdout and stderr. */
async function call(
  command: (args: ParsedArgs, out: (l: string) => void, err: (l: string) => void) => Promise<void>,
  args: ParsedArgs,
): Promise<{ out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  await command(args, (l) => out.push(l), (l) => err.push(l));
  return { out: out.join('\n'), err: err.join('\n') };
}
const run = (argv: string[]) => call(runCommand, parseCommandLine(argv, RUN_OPTIONS, 'run'));
const prepare = (argv: string[]) => call(prepareCommand, parseCommandLine(argv, PREPARE_OPTIONS, 'prepare'));

describe('inspect', () => {
  test('a Substrate runtime: routes, version, memory, accepted', async () => {
    const path = write('runtime.wasm', zstdStored(await RUNTIME));
    const report = inspectModule(path, await readInputFile(path));
    expect(report).toMatchObject({
      compressed: true,
      accepted: true,
      refusal: null,
      memory: { imported: true, import: { module: 'env', name: 'memory' }, exports: [], initialPages: 1, maximumPages: null },
    });
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
    expect(lines).toContain('memory: imported as env.memory, 1 pages initially, no maximum');
    expect(lines.join('\n')).toMatch(/ext_storage_get_version_1\s+\(i64\) -> i64\s+\[pausing\]/);
  });

  test.each([
    ['an imported memory under other names', '(module (import "host" "heap" (memory 2 5)))', 'memory: imported as host.heap, 2 pages initially, at most 5 pages'],
    ['a defined memory exported under another name', '(module (memory (export "mem") 1))', 'memory: defined, exported as mem, 1 pages initially, no maximum'],
    ['a defined memory not exported', '(module (memory 3))', 'memory: defined, not exported, 3 pages initially, no maximum'],
    ['an exported memory', '(module (memory (export "memory") 1 2))', 'memory: defined, exported as memory, 1 pages initially, at most 2 pages'],
  ])('%s: the memory line names it as the module does', async (_what, source, line) => {
    const path = write('memory.wasm', await wat(source));
    const lines: string[] = [];
    printInspectReport(inspectModule(path, await readInputFile(path)), (l) => lines.push(l));
    expect(lines).toContain(line);
  });

  test.each([
    ['a start function', '(module (memory (export "memory") 1) (func $s) (start $s))', 'StartFunctionNotSupported'],
    ['a float import', '(module (import "env" "f" (func (param f64))) (memory (export "memory") 1))', 'UnresolvedFunctionImport'],
    ['no memory', '(module)', 'NoMemory'],
    ['a feature outside the feature set', '(module (memory (export "memory") 1) (func (drop (i32x4.splat (i32.const 0)))))', 'InvalidWasm'],
  ])('%s is refused with the error create() gives', async (_what, source, kind) => {
    const path = write(`${kind}.wasm`, await wat(source));
    const report = inspectModule(path, await readInputFile(path));
    expect(report.accepted).toBe(false);
    expect(report.refusal).toMatchObject({ error: 'NewError', kind });
  });

  test('bytes that are not a module are an error, not a report', async () => {
    const text = write('notes.txt', 'these are notes, not a module\n');
    expect(() => inspectModule(text, { code: readFileSync(text), genesisStorage: null, format: 'binary' })).toThrow(NewError);
    const truncated = write('truncated.wasm', (await RUNTIME).subarray(0, 200));
    expect(() => inspectModule(truncated, { code: readFileSync(truncated), genesisStorage: null, format: 'binary' })).toThrow(
      /not a valid WebAssembly module/,
    );
  });

  test('hex files are read as code', async () => {
    const path = write('runtime.hex', toHex(await RUNTIME));
    expect(inspectModule(path, await readInputFile(path)).format).toBe('hex');
  });
});

describe('run', () => {
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
    const result = JSON.parse(out) as { output: string; pauses: number; hostCalls: Record<string, number>; decoded: unknown };
    expect(result.output).toBe('0x0108abcd');
    expect(result.pauses).toBe(1);
    expect(result.hostCalls).toEqual({ ext_storage_get_version_1: 1 });
    expect(result.decoded).toBeNull();
  });

  test('Core_version is printed as the decoded version, --hex prints the bytes', async () => {
    const path = write('version.wasm', await RUNTIME);
    const { out } = await run([path, 'Core_version', '--quiet']);
    const lines = out.split('\n');
    const start = lines.findIndex((l) => l.startsWith('Core_version: '));
    const end = lines.findIndex((l, i) => i > start && l.startsWith('host calls'));
    const version = JSON.parse(lines.slice(start + 1, end).join('\n'));
    expect(version).toMatchObject({ specName: 'guest', implName: 'test-guest', specVersion: 7, transactionVersion: 3, stateVersion: 1 });
    expect(version.apis).toEqual([{ id: '0xdf6acb689907609b', name: 'Core', version: 4 }]);

    const hex = await run([path, 'Core_version', '--quiet', '--hex']);
    expect(hex.out).toContain(`  ${toHex(VERSION_BYTES)}\n`);
    expect(hex.out).not.toContain('"specName"');

    const json = JSON.parse((await run([path, 'Core_version', '--quiet', '--json'])).out);
    expect(json.decoded.runtimeVersion).toMatchObject({ specName: 'guest', specVersion: 7 });
  });

  test('Metadata_metadata is summarised: version, size, pallets', async () => {
    const path = write('metadata.wasm', await RUNTIME);
    const { out } = await run([path, 'Metadata_metadata', '--quiet']);
    const size = METADATA_PROPER.length; // the output less its compact length prefix
    expect(out).toContain(`  metadata version 14, ${size.toLocaleString('en-US')} bytes, 2 pallets (--hex for the bytes)`);
    expect((await run([path, 'Metadata_metadata', '--quiet', '--hex'])).out).toContain(`  ${toHex(METADATA)}\n`);
    const json = JSON.parse((await run([path, 'Metadata_metadata', '--quiet', '--json'])).out);
    expect(json.decoded).toEqual({ metadata: { version: 14, size, pallets: 2 } });
    expect(json.metadataVersion).toBe(14);
  });

  test('bad command lines are usage problems, naming the command', async () => {
    await expect(run([])).rejects.toMatchObject({ name: 'UsageProblem', command: 'run' });
    await expect(run(['x.wasm', 'f', 'zz'])).rejects.toThrow(/hexadecimal/);
    await expect(run(['x.wasm', 'f', '--heap-pages', '1e3'])).rejects.toThrow(/--heap-pages must be a non-negative integer/);
    expect(() => parseCommandLine(['--bogus'], RUN_OPTIONS, 'run')).toThrow(/^unknown option --bogus$/);
    expect(() => parseCommandLine(['--storage'], RUN_OPTIONS, 'run')).toThrow(/^--storage needs a value$/);
    expect(() => parseCommandLine(['--storage', '--json'], RUN_OPTIONS, 'run')).toThrow(/^--storage needs a value/);
    expect(() => parseCommandLine(['--json=yes'], RUN_OPTIONS, 'run')).toThrow(/^--json takes no value$/);
  });
});

describe('parseCommandLine', () => {
  test('values, flags, aliases, --name=value and --', () => {
    const args = parseCommandLine(['a', '-o', 'out.rwasm', '--heap-pages=16', '--plain', '--', '--not-an-option'], PREPARE_OPTIONS, 'prepare');
    expect(args.positional).toEqual(['a', '--not-an-option']);
    expect([...args.values]).toEqual([
      ['output', 'out.rwasm'],
      ['heap-pages', '16'],
    ]);
    expect([...args.flags]).toEqual(['plain']);
    expect(parseCommandLine(['-h'], PREPARE_OPTIONS).flags.has('help')).toBe(true);
  });
});

describe('prepare', () => {
  test('writes an artifact that run --artifact loads without the transform', async () => {
    const runtime = write('prepared.wasm', await RUNTIME);
    const artifact = join(dir, 'prepared.rwasm');
    const made = await prepare([runtime, '-o', artifact]);
    expect(made.out).toMatch(/prepared\.rwasm: [\d,]+ bytes artifact/);
    expect(made.err).toMatch(/for the Substrate host layer/);
    expect(made.err).toMatch(/transforming/);
    // The long step is visible: its estimate from the module's size, then each step as it begins.
    expect(made.err).toMatch(/it runs on a thread of its own; about [\d.]+ (ms|s) in all for 0\.0 MB of wasm \(an estimate\)/);
    // (Loading Binaryen is a step only the first time the transform thread runs.)
    const steps = ['reading the module', 'the Asyncify pass', 'the post passes', 'writing the instrumented module'];
    const positions = steps.map((step) => made.err.indexOf(`    ${step}`));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);

    const { out, err } = await run([runtime, 'hash', '0x00', '--artifact', artifact, '--json']);
    const result = JSON.parse(out);
    expect(result.outputSize).toBe(8);
    expect(result.timings.phasesMs).not.toHaveProperty('transform');
    expect(result.timings.phasesMs).toHaveProperty('load-artifact');
    expect(err).not.toMatch(/transforming/);
  });

  test('an artifact of another runtime, or made with other options, is an error, and nothing is transformed', async () => {
    const runtime = write('prepared2.wasm', await RUNTIME);
    const artifact = join(dir, 'prepared2.rwasm');
    await prepare([runtime, '-o', artifact, '--heap-pages', '16', '--quiet']);

    const otherOptions = await run([runtime, 'hash', '0x00', '--artifact', artifact]).catch((e: unknown) => e);
    expect(otherOptions).toMatchObject({ name: 'ArtifactError', kind: 'OptionsMismatch' });
    expect(failureOf(otherOptions).status).toBe(ExitStatus.Artifact);

    const other = write('other.wasm', await OTHER_RUNTIME);
    const err: string[] = [];
    const otherRuntime = await runCommand(parseCommandLine([other, 'nothing', '--artifact', artifact, '--heap-pages', '16'], RUN_OPTIONS), () => undefined, (l) =>
      err.push(l),
    ).catch((e: unknown) => e);
    expect(otherRuntime).toMatchObject({ name: 'ArtifactError', kind: 'ModuleMismatch' });
    expect((otherRuntime as Error).message).toContain(`${artifact} cannot be used for ${other} with --heap-pages 16: `);
    expect(err.join('\n')).not.toMatch(/transforming|validating/);
  });

  test('--asyncify-stack single-memory makes an artifact for engines without multi-memory; run --artifact loads it', async () => {
    const runtime = write('prepared-single.wasm', await RUNTIME);
    const artifact = join(dir, 'prepared-single.rwasm');
    const made = await prepare([runtime, '-o', artifact, '--asyncify-stack', 'single-memory']);
    // Its two steps of its own: the memory shift before Asyncify, the unwind guard after.
    const steps = ['moving the guest memory up', 'reading the module', 'the Asyncify pass', 'writing the instrumented module', "bounding Asyncify's stores"];
    const positions = steps.map((step) => made.err.indexOf(`    ${step}`));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    const header = JSON.parse(new TextDecoder().decode(readFileSync(artifact).subarray(16, 16 + readFileSync(artifact).readUInt32LE(12))));
    expect(header.options.asyncifyStack).toBe('single-memory');
    // run takes it with its default 'auto', whichever placement it holds.
    const { out } = await run([runtime, 'hash', '0x00', '--artifact', artifact, '--json']);
    expect(JSON.parse(out).outputSize).toBe(8);
    await expect(prepare([runtime, '-o', artifact, '--asyncify-stack', 'third-memory'])).rejects.toThrow(
      /--asyncify-stack must be second-memory, single-memory or auto, got "third-memory"/,
    );
  });

  test('-o is required; --heap-pages is for runtimes only', async () => {
    await expect(prepare(['x.wasm'])).rejects.toBeInstanceOf(UsageProblem);
    const plain = write('plain.wasm', await wat('(module (memory (export "memory") 1))'));
    await expect(prepare([plain, '-o', join(dir, 'plain.rwasm'), '--heap-pages', '4'])).rejects.toThrow(/only applies to Substrate runtimes/);
  });
});

describe('exit statuses', () => {
  test('every documented status is in the README, with the same meaning', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    for (const [status, meaning] of EXIT_STATUS_TABLE) expect(readme).toContain(`| ${status} | ${meaning} |`);
  });

  test('an error the CLI does not know is an internal error, in one line', () => {
    const failure = failureOf(new TypeError('x is not a function\n    at somewhere'));
    expect(failure.status).toBe(ExitStatus.Internal);
    expect(failure.line).not.toContain('\n');
  });
});

const CLI = join(REPO_ROOT, 'dist', 'cli', 'main.js');
const notBuilt = existsSync(CLI) ? null : 'dist/cli/main.js is not built (run `npm run build`; `npm test` does)';
const describeBuilt = (name: string, body: () => void): void => describeUnless(notBuilt, name, body);

/** Runs the built command with the Node running the tests. */
function command(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: dir });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Asserts a failure as the CLI promises it: `status`, nothing on stdout, one line on stderr, no stack trace. */
function expectOneLineFailure(result: ReturnType<typeof command>, status: number, message: RegExp): void {
  expect({ status: result.status, stdout: result.stdout }).toEqual({ status, stdout: '' });
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stderr.endsWith('\n')).toBe(true);
  expect(result.stderr.slice(0, -1).split('\n')).toEqual([expect.stringMatching(message)]);
}

describeBuilt('the command', () => {
  test('a text file: run and inspect fail with one line and status 4', () => {
    const text = write('readme.txt', 'This is a text file, not WebAssembly.\n');
    expectOneLineFailure(command('run', text, 'Core_version'), ExitStatus.Input, /^error: NewError\(InvalidWasm\): not a valid WebAssembly module: /);
    expectOneLineFailure(command('inspect', text), ExitStatus.Input, /^error: NewError\(InvalidWasm\): not a valid WebAssembly module: /);
    const source = write('module.wat', '(module (memory (export "memory") 1))\n');
    expectOneLineFailure(command('inspect', source), ExitStatus.Input, /WebAssembly text format/);
  });

  test('a truncated module: run and inspect fail with one line and status 4', async () => {
    const truncated = write('cut.wasm', (await RUNTIME).subarray(0, 150));
    expectOneLineFailure(command('run', truncated, 'Core_version'), ExitStatus.Input, /^error: NewError\(InvalidWasm\): not a valid WebAssembly module/);
    expectOneLineFailure(command('inspect', truncated), ExitStatus.Input, /^error: NewError\(InvalidWasm\): not a valid WebAssembly module/);
    const compressed = write('cut.zst', zstdStored(await RUNTIME).subarray(0, 150));
    expectOneLineFailure(command('run', compressed, 'Core_version'), ExitStatus.Input, /^error: RuntimeCodeError\(InvalidZstd\): /);
  });

  test('a module that is not a runtime is reported before anything is transformed', async () => {
    const module = write('not-runtime.wasm', await wat('(module (memory (export "memory") 1) (func (export "f") (param i32 i32) (result i64) (i64.const 0)))'));
    // Without --quiet: the single line shows that no progress (so no transform) came before it.
    expectOneLineFailure(command('run', module, 'f'), ExitStatus.Input, /^error: SubstrateRuntimeError\(HeapBaseNotFound\): .*__heap_base/);
  });

  test('files that cannot be read or used', () => {
    expectOneLineFailure(command('run', join(dir, 'missing.wasm'), 'f'), ExitStatus.File, /^error: cannot read .*missing\.wasm: ENOENT/);
    expectOneLineFailure(command('inspect', dir), ExitStatus.File, /^error: cannot read /);
    const spec = write('spec.json', JSON.stringify({ genesis: { raw: { top: { '0x01': '0x02' } } } }));
    expectOneLineFailure(command('run', spec, 'f'), ExitStatus.Input, /chain spec without :code/);
    const badHex = write('bad.hex', '0x0g');
    expectOneLineFailure(command('inspect', badHex), ExitStatus.Input, /not hexadecimal bytes/);
  });

  test('a failed call: status 1, one line', async () => {
    const runtime = write('call.wasm', await RUNTIME);
    expectOneLineFailure(command('run', runtime, 'no_such_entry', '--quiet'), ExitStatus.CallFailed, /^error: RuntimeCallError\(EntryPointNotFound\): /);
  });

  test('an artifact that does not match: status 5, one line, no transform', async () => {
    const runtime = write('cmd-prepared.wasm', await RUNTIME);
    const artifact = join(dir, 'cmd-prepared.rwasm');
    expect(command('prepare', runtime, '-o', artifact, '--quiet').status).toBe(ExitStatus.Ok);
    const other = write('cmd-other.wasm', await OTHER_RUNTIME);
    expectOneLineFailure(command('run', other, 'nothing', '--artifact', artifact, '--quiet'), ExitStatus.Artifact, /^error: ArtifactError\(ModuleMismatch\): /);
    const shown = command('run', other, 'nothing', '--artifact', artifact);
    expect(shown.status).toBe(ExitStatus.Artifact);
    expect(shown.stderr).not.toMatch(/transforming/);
    expectOneLineFailure(command('run', runtime, 'hash', '--artifact', write('junk.rwasm', 'junk'), '--quiet'), ExitStatus.Artifact, /^error: ArtifactError\(Corrupted\): /);
  });

  test('an argument error shows the command\'s synopsis, not the whole help', () => {
    for (const [args, message] of [
      [['run', 'x.wasm', 'f', '--bogus'], 'error: unknown option --bogus'],
      [['run', 'x.wasm'], 'error: run needs <runtime-file> and <entry-point>'],
      [['run', 'x.wasm', 'f', '--heap-pages', 'many'], 'error: --heap-pages must be a non-negative integer, got "many"'],
    ] as const) {
      const result = command(...args);
      expect(result.status).toBe(ExitStatus.Usage);
      expect(result.stdout).toBe('');
      expect(result.stderr.split('\n')).toEqual([
        message,
        'usage: resumable-wasm run <runtime-file> <entry-point> [hex-input] [options]',
        '(resumable-wasm run --help for more)',
        '',
      ]);
    }
    const unknown = command('frobnicate');
    expect(unknown.status).toBe(ExitStatus.Usage);
    expect(unknown.stderr.split('\n')[0]).toBe('error: unknown command "frobnicate"');
    // The error, one synopsis per command and the pointer to --help: not the whole help.
    expect(unknown.stderr.split('\n').length).toBe(1 + Object.keys(COMMANDS).length + 2);
    expect(command().status).toBe(ExitStatus.Usage);
  });

  test('--help for the command and for each command; help <command>', () => {
    const general = command('--help');
    expect(general.status).toBe(ExitStatus.Ok);
    for (const name of ['inspect', 'run', 'prepare']) expect(general.stdout).toContain(`resumable-wasm ${name} `);
    for (const [status] of EXIT_STATUS_TABLE) expect(general.stdout).toMatch(new RegExp(`^ +${status}  `, 'm'));

    for (const args of [['run', '--help'], ['run', '-h'], ['help', 'run'], ['run', 'x.wasm', 'f', '--help']]) {
      const help = command(...args);
      expect(help).toMatchObject({ status: ExitStatus.Ok, stderr: '' });
      expect(help.stdout).toMatch(/^usage: resumable-wasm run /);
      expect(help.stdout).toContain('--artifact <file>');
      expect(help.stdout).toContain('exit status:');
      expect(help.stdout).toMatch(/^ +5  run --artifact/m);
    }
    expect(command('prepare', '--help').stdout).toContain('-o, --output <file>');
    expect(command('inspect', '--help').stdout).not.toMatch(/^ +5 /m);
  });

  test('--version prints the package version', () => {
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(command('--version')).toEqual({ status: ExitStatus.Ok, stdout: `resumable-wasm ${manifest.version}\n`, stderr: '' });
  });
});

describeBuilt('one exit status per kind of failure, on every command', () => {
  const C_GUEST = join(REPO_ROOT, 'examples', 'c-guest', 'guest.wasm');

  test('call: no such export 1 (as run), malformed or ill-fitting arguments 2 with the synopsis, a refused module 4', () => {
    expectOneLineFailure(command('call', C_GUEST, 'nope', '--features', 'modern'), ExitStatus.CallFailed, /^error: StartError\(FunctionNotFound\): no export is named "nope"$/);
    for (const [args, message] of [
      [['average_length', 'abc', '0'], /^error: cannot read the argument "abc": an i32 is an integer/],
      [['average_length', 'i64:3', '0'], /^error: StartError\(InvalidParameters\): parameter 0 of "average_length" must be an i32 .*, got i64 3n$/],
      [['average_length', '1'], /^error: StartError\(InvalidParameters\): "average_length" takes 2 parameters/],
      [['average_length', '1', '0', '--max-interrupts', 'x'], /^error: --max-interrupts must be a non-negative integer/],
    ] as const) {
      const result = command('call', C_GUEST, ...args, '--features', 'modern');
      expect({ status: result.status, stdout: result.stdout }).toEqual({ status: ExitStatus.Usage, stdout: '' });
      expect(result.stderr.split('\n')).toEqual([
        expect.stringMatching(message),
        'usage: resumable-wasm call <module-file> <export> [args...] [options]',
        '(resumable-wasm call --help for more)',
        '',
      ]);
    }
    const refused = command('call', C_GUEST, 'average_length', '1', '0');
    expect(refused.status).toBe(ExitStatus.Input);
    expect(refused.stderr).toMatch(/^refused: 2 reasons\n/);
  });

  test("call --max-interrupts bounds a guest that never finishes (the README's C guest answered 3 forever)", () => {
    const result = command('call', C_GUEST, 'count_words', '--features', 'modern', '--answer', '3', '--max-interrupts', '50');
    expect(result.status).toBe(ExitStatus.CallFailed);
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('stopped: 50 interrupts answered and the call still running (--max-interrupts 50)');
    expect(command('call', '--help').stdout).toContain('--max-interrupts <n>  stop the call after <n> interrupts (default 10000)');
  });

  test('inspect --features: the README\'s C guest is accepted with the options call takes; a bad preset is 2', () => {
    expect(command('inspect', C_GUEST).stdout).toMatch(/refused [^]*\n {2}\(on the command line: --features/);
    const accepted = command('inspect', C_GUEST, '--features', 'modern');
    expect(accepted.status).toBe(ExitStatus.Ok);
    expect(accepted.stdout.split('\n')[1]).toBe('VirtualMachinePrototype.create: accepted');
    expect(JSON.parse(command('inspect', C_GUEST, '--features', 'default,bulk-memory', '--json').stdout)).toMatchObject({ accepted: true });
    expect(command('inspect', C_GUEST, '--features', 'newest').status).toBe(ExitStatus.Usage);
  });

  test('prepare checks its output path before the transform: status 3, nothing transformed', async () => {
    const runtime = write('unwritable.wasm', await RUNTIME);
    const result = command('prepare', runtime, '-o', join(dir, 'no-such-folder', 'x.rwasm'));
    // Without --quiet: no progress line came before the failure, so no transform either.
    expectOneLineFailure(result, ExitStatus.File, /^error: cannot write .*no-such-folder\/x\.rwasm: ENOENT/);
    expectOneLineFailure(command('prepare', runtime, '-o', dir), ExitStatus.File, /^error: cannot write .*: it is a folder$/);
    expectOneLineFailure(command('run', runtime, 'hash', '--out', join(dir, 'no-such-folder', 'out.bin')), ExitStatus.File, /^error: cannot write /);
  });

  test('run --backend; --cache does not pick the backend (on JSPI it is not used, and run says so)', async () => {
    const runtime = write('backend.wasm', await RUNTIME);
    const backendOf = (...args: string[]) => {
      const result = command('run', runtime, 'hash', '0x00', '--json', ...args);
      expect(result.status).toBe(ExitStatus.Ok);
      return { backend: JSON.parse(result.stdout).runtime.backend as string, stderr: result.stderr };
    };
    expect(backendOf().backend).toBe('jspi');
    expect(backendOf('--backend', 'asyncify').backend).toBe('asyncify');
    const cache = join(dir, 'backend-cache');
    const onJspi = backendOf('--cache', cache);
    expect(onJspi.backend).toBe('jspi');
    expect(onJspi.stderr).toContain('(--cache is not used: JSPI has no transform to skip; --backend asyncify uses the cache)');
    expect(backendOf('--cache', cache, '--backend', 'asyncify').backend).toBe('asyncify');
    expect(command('run', runtime, 'hash', '--backend', 'wasm3').status).toBe(ExitStatus.Usage);
    expect(command('run', runtime, 'hash', '--backend', 'jspi', '--cache', cache).status).toBe(ExitStatus.Usage);
    expect(command('run', '--help').stdout).not.toMatch(/the transform takes seconds, with/);
  });

  test('every command names its exit statuses; the table covers call', () => {
    expect(command('call', '--help').stdout).toMatch(/^ +1 {2}run, call: the call failed/m);
  });
});

describeBuilt('the engine is checked before any work', () => {
  // An engine with neither JSPI nor multi-memory (Node.js 20, Safari before 27), simulated in the child process:
  // the JSPI constructors removed, and the multi-memory probe answered "invalid".
  const OLD_ENGINE = `data:text/javascript,${encodeURIComponent(`
    delete WebAssembly.Suspending; delete WebAssembly.promising;
    const validate = WebAssembly.validate;
    WebAssembly.validate = (bytes) => (bytes.length === 15 && bytes[8] === 5 && bytes[10] === 2 ? false : validate(bytes));
  `)}`;
  const onOldEngine = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', OLD_ENGINE, CLI, ...args], { encoding: 'utf8', cwd: dir });

  test('run --backend jspi on an engine without JSPI fails at once with status 6, before reading the file', () => {
    const result = onOldEngine('run', 'no-such-file.wasm', 'Core_version', '--backend', 'jspi');
    expectOneLineFailure({ status: result.status, stdout: result.stdout, stderr: result.stderr }, 6, /Promise Integration/);
  });

  test("prepare without multi-memory: 'second-memory' refused with status 6, the default makes a single-memory artifact", async () => {
    const path = join(dir, 'engine-prepare.wasm');
    writeFileSync(path, await wat('(module (memory (export "memory") 1))'));
    const noMultiMemory = `data:text/javascript,${encodeURIComponent(`
      const validate = WebAssembly.validate;
      WebAssembly.validate = (bytes) => (bytes.length === 15 && bytes[8] === 5 && bytes[10] === 2 ? false : validate(bytes));
    `)}`;
    const prepareThere = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', noMultiMemory, CLI, 'prepare', path, '-o', join(dir, 'engine.rwasm'), ...args], { encoding: 'utf8', cwd: dir });
    // Refused before the module is read: one line, no "preparing ..." line before it.
    const refused = prepareThere('--asyncify-stack', 'second-memory');
    expect({ status: refused.status, stdout: refused.stdout }).toEqual({ status: 6, stdout: '' });
    expect(refused.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^error: .*multi-memory/)]);
    const made = prepareThere();
    expect(made.status).toBe(0);
    const artifact = readFileSync(join(dir, 'engine.rwasm'));
    const header = JSON.parse(new TextDecoder().decode(artifact.subarray(16, 16 + artifact.readUInt32LE(12))));
    expect(header.options.asyncifyStack).toBe('single-memory');
  });

  test('inspect says on which backend this engine would run the module', async () => {
    const path = join(dir, 'engine-guest.wasm');
    writeFileSync(path, await wat('(module (memory (export "memory") 1))'));
    expect(command('inspect', path).stdout).toMatch(/this engine: runs it on jspi \(asyncify available too\)/);
    // Without JSPI and multi-memory (Node.js 20, Safari before 27): Asyncify, its stack in the one memory.
    expect(onOldEngine('inspect', path).stdout).toMatch(/this engine: runs it on asyncify \(jspi unavailable: /);
  });
});
