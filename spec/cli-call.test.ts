/**
 * `resumable-wasm call`: any module's export, through the public API, every import answered with
 * one value; prints the interrupts, the result, or the trap with its backtrace. On both backends.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandLine } from '../lib/cli/args.js';
import { CALL_OPTIONS, DEFAULT_MAX_INTERRUPTS, callCommand, parseValue } from '../lib/cli/call.js';
import { ExitStatus, failureOf } from '../lib/cli/exit-status.js';
import { WasmValue } from '../lib/index.js';
import { describeValue } from '../lib/base/values.js';
import { BACKENDS } from './support/backends.js';
import { wat } from './support/wat.js';

const GUEST = fileURLToPath(new URL('./guests/backtrace.wasm', import.meta.url));

async function call(argv: string[]): Promise<{ status: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const status = await callCommand(parseCommandLine(argv, CALL_OPTIONS, 'call'), (l) => out.push(l), (l) => err.push(l));
  return { status, out, err };
}

describe.each(BACKENDS)('%s', (backend) => {
  test('a trapped call prints its interrupts and its backtrace, with files and lines', async () => {
    const { status, out } = await call([GUEST, 'run', '0', '2', '--answer', '4294967295', '--backend', backend]);
    expect(status).toBe(1);
    expect(out).toEqual([
      `${GUEST}: accepted, backend ${backend}`,
      'run(i32 0, i32 2):',
      '  env.ask(i32 0) -> i32 -1',
      'trapped: Unreachable: trap: unreachable executed',
      'backtrace (innermost first):',
      '  #0 recurse (function 2) at backtrace.c:28:16',
      '  #1 recurse (function 2) at backtrace.c:31:10',
      '  #2 recurse (function 2) at backtrace.c:31:10',
      '  #3 run (function 1) at backtrace.c:37:14',
    ]);
  });

  test('a finished call prints its result', async () => {
    const { status, out } = await call([GUEST, 'run', '0', '1', '--answer', '41', '--backend', backend]);
    expect(status).toBe(0);
    expect(out.at(-1)).toBe('finished: i32 42');
  });

  test('a refused module prints every refusal, with the option that allows it', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'resumable-wasm-call-')), 'start.wasm');
    writeFileSync(path, await wat('(module (import "a" "a" (memory 1)) (func $s) (start $s) (func (export "f")))'));
    const refused = await call([path, 'f', '--backend', backend]);
    expect(refused.status).toBe(4); // ExitStatus.Input: the VM refused the module
    expect(refused.err[0]).toBe('refused: 2 reasons');
    expect(refused.err[1]).toMatch(/^ {2}StartFunctionNotSupported in the start section \(function 0\) \[allowed by startFunction: true\]/);
    expect(refused.err[2]).toMatch(/^ {2}MemoryNotNamedMemory in the import "a"\."a" \[allowed by anyMemoryImport: true\]/);
    const accepted = await call([path, 'f', '--backend', backend, '--start-function', '--any-memory-import']);
    expect(accepted.out).toEqual([`${path}: accepted, backend ${backend}`, 'start function:', 'f():', 'finished: nothing']);
  });
});

/** A guest that asks its host until it answers 1, and one whose unnamed export traps in another. */
const LOOPING = `(module (import "env" "ask" (func $ask (result i32))) (memory (export "memory") 1)
  (func (export "wait") (loop $again (br_if $again (i32.eqz (call $ask))))))`;
const UNNAMED = `(module (memory (export "memory") 1)
  (func $inner (export "inner") unreachable)
  (func (export "outer") (call $inner)))`;

async function guestFile(name: string, source: string): Promise<string> {
  const path = join(mkdtempSync(join(tmpdir(), 'resumable-wasm-call-')), name);
  writeFileSync(path, await wat(source));
  return path;
}

describe.each(BACKENDS)('%s: the command line', (backend) => {
  test(`a call still running after --max-interrupts interrupts is stopped (default ${DEFAULT_MAX_INTERRUPTS}): status 1`, async () => {
    const path = await guestFile('loop.wasm', LOOPING);
    const bounded = await call([path, 'wait', '--backend', backend, '--max-interrupts', '3']);
    expect(bounded.status).toBe(ExitStatus.CallFailed);
    expect(bounded.out.slice(1)).toEqual([
      'wait():',
      '  env.ask() -> i32 0',
      '  env.ask() -> i32 0',
      '  env.ask() -> i32 0',
      'stopped: 3 interrupts answered and the call still running (--max-interrupts 3)',
    ]);
    const byDefault = await call([path, 'wait', '--backend', backend]);
    expect(byDefault.status).toBe(ExitStatus.CallFailed);
    expect(byDefault.out.filter((line) => line.startsWith('  env.ask')).length).toBe(DEFAULT_MAX_INTERRUPTS);
    expect(byDefault.out.at(-1)).toBe(`stopped: 10,000 interrupts answered and the call still running (--max-interrupts ${DEFAULT_MAX_INTERRUPTS})`);
    expect((await call([path, 'wait', '--backend', backend, '--answer', '1'])).out.at(-1)).toBe('finished: nothing');
  });

  test('a frame the name section does not name is named by its export', async () => {
    const path = await guestFile('unnamed.wasm', UNNAMED);
    const { status, out } = await call([path, 'outer', '--backend', backend]);
    expect(status).toBe(ExitStatus.CallFailed);
    // (JSPI knows the offsets without DWARF too; Asyncify does not: docs/features.md.)
    expect(out.slice(-3).map((line) => line.replace(/ at offset 0x[0-9a-f]+$/, ''))).toEqual([
      'backtrace (innermost first):',
      '  #0 <export "inner"> (function 0)',
      '  #1 <export "outer"> (function 1)',
    ]);
  });

  test('no such export: status 1, as run gives for no such entry point; wrong arguments: status 2; nothing printed', async () => {
    const path = await guestFile('unnamed.wasm', UNNAMED);
    for (const [args, status, message] of [
      [['nope'], ExitStatus.CallFailed, /^StartError\(FunctionNotFound\)/],
      [['outer', '1'], ExitStatus.Usage, /takes 0 parameters/],
    ] as const) {
      const out: string[] = [];
      const error = await callCommand(parseCommandLine([path, ...args, '--backend', backend], CALL_OPTIONS, 'call'), (l) => out.push(l), () => {}).catch(
        (e: unknown) => e,
      );
      expect(out).toEqual([]);
      const failure = failureOf(error);
      expect(failure.status).toBe(status);
      expect(failure.line.slice('error: '.length)).toMatch(message);
    }
  });
});

test('arguments: integers in decimal or hex, typed values; anything else is a usage problem that says what is expected', () => {
  expect(parseValue('5')).toEqual(WasmValue.i32(5));
  expect(parseValue('-1')).toEqual(WasmValue.i32(-1));
  expect(parseValue('0xff')).toEqual(WasmValue.i32(255));
  expect(parseValue('4294967295')).toEqual(WasmValue.i32(-1));
  expect(parseValue('i64:-0x10')).toEqual(WasmValue.i64(-16n));
  expect(parseValue('f32:1.5')).toEqual(WasmValue.f32(1.5));
  expect(parseValue('f64:-inf')).toEqual(WasmValue.f64(-Infinity));
  expect(Number.isNaN(parseValue('f64:nan').value)).toBe(true);
  for (const [text, message] of [
    ['abc', 'cannot read the argument "abc": an i32 is an integer (5, -1, 0xff); other types are written i64:5, f32:1.5, f64:2'],
    ['1.5', 'cannot read the argument "1.5": an i32 is an integer (5, -1, 0xff); other types are written i64:5, f32:1.5, f64:2'],
    ['i64:x', 'cannot read the argument "i64:x": an i64 is an integer (5, -1, 0xff)'],
    ['4294967296', 'cannot read the argument "4294967296": out of the range of an i32 (-2147483648 to 4294967295)'],
    ['f32:', 'cannot read the argument "f32:": an f32 is a number (1.5, -2, 1e3, nan, inf)'],
  ]) {
    expect(() => parseValue(text!)).toThrow(expect.objectContaining({ name: 'UsageProblem', message, command: 'call' }));
  }
});

test('a parameter of the wrong type is named by its type and value, not [object Object]', () => {
  expect(describeValue(WasmValue.i64(3n))).toBe('i64 3n');
  expect(describeValue(WasmValue.f64(1.5))).toBe('f64 1.5');
  expect(describeValue({ type: 'i32' })).toBe('[object Object]');
  expect(describeValue({ type: 'x', value: 1 })).toBe('[object Object]');
});
