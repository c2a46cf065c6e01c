/**
 * `resumable-wasm call`: any module's export, through the public API, every import answered with
 * one value; prints the interrupts, the result, or the trap with its backtrace. On both backends.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandLine } from '../lib/cli/args.js';
import { CALL_OPTIONS, callCommand } from '../lib/cli/call.js';
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
