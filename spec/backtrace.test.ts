/**
 * Backtraces: a trap carries the guest's frames (`Trap.frames`): the function's index in the
 * guest's own module and its name (Rust symbols demangled) and, where the module has DWARF line
 * tables, the file and line; identical on both backends (Asyncify maps the instrumented code
 * back to the guest's, see lib/transform/offset-map.ts). The guest is C built by Debian's clang
 * with -g (spec/guests/backtrace.c, .wasm committed); expected lines are found in its source by
 * the markers it carries.
 */
import { readFileSync } from 'node:fs';
import wabtInit from 'wabt';
import { type Backend, type GuestFrame, type Trap, VirtualMachinePrototype, type VmConfig, WasmValue } from '../lib/index.js';
import { BinaryReader, splitSections } from '../lib/base/binary-reader.js';
import { guestFrames } from '../lib/vm/backtrace.js';
import { BACKENDS, createOn } from './support/backends.js';

const GUESTS = new URL('./guests/', import.meta.url);
const GUEST = new Uint8Array(readFileSync(new URL('backtrace.wasm', GUESTS)));
const SOURCE = readFileSync(new URL('backtrace.c', GUESTS), 'utf8').split('\n');

/** The 1-based line of `backtrace.c` that carries the marker comment `/* <marker> *\/`. */
function lineOf(marker: string): number {
  const index = SOURCE.findIndex((l) => l.includes(`/* ${marker} */`));
  if (index < 0) throw new Error(`no marker ${marker}`);
  return index + 1;
}

/** `bytes` without the custom sections whose names `drop` accepts. */
function withoutSections(bytes: Uint8Array, drop: (name: string) => boolean): Uint8Array {
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  for (const s of splitSections(bytes)) {
    if (s.id === 0 && drop(new BinaryReader(bytes, s.payloadStart, s.end).name())) continue;
    parts.push(bytes.subarray(s.start, s.end));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Runs `run(what, arg)` on a fresh instance of `proto`, answering `ask` with `answer`, and returns the trap. */
async function trapOf(proto: VirtualMachinePrototype, what: number, answer: number, arg = 0): Promise<Trap> {
  const vm = proto.clone().prepare().start('run', [WasmValue.i32(what), WasmValue.i32(arg)]);
  let outcome = await vm.runAsync(null);
  while (outcome.type === 'interrupted') outcome = await vm.runAsync(WasmValue.i32(answer));
  if (outcome.type !== 'trapped') throw new Error(`expected a trap, got ${JSON.stringify(outcome)}`);
  return outcome.trap;
}

/** The frames without their columns and offsets, which the tests compare separately. */
const names = (frames: readonly GuestFrame[]) => frames.map((f) => ({ index: f.functionIndex, name: f.functionName, file: f.file, line: f.line }));

const at = (index: number, name: string, marker: string) => ({ index, name, file: 'backtrace.c', line: lineOf(marker) });

const SCENARIOS: readonly (readonly [string, number, number, number, readonly ReturnType<typeof at>[]])[] = [
  [
    'unreachable three calls deep, after a pause',
    0,
    -1,
    3,
    [
      at(2, 'recurse', 'trap: recurse'),
      at(2, 'recurse', 'call: recurse'),
      at(2, 'recurse', 'call: recurse'),
      at(2, 'recurse', 'call: recurse'),
      at(1, 'run', 'call: run recurse'),
    ],
  ],
  ['a division by zero', 1, 0, 0, [at(3, 'divide', 'trap: divide'), at(1, 'run', 'call: run divide')]],
  ['a load out of bounds', 2, 0x7fff_fff0, 0, [at(4, 'load', 'trap: load'), at(1, 'run', 'call: run load')]],
  ['a bad indirect call', 3, 1000, 0, [at(5, 'apply', 'trap: apply'), at(1, 'run', 'call: run apply')]],
];

const byBackend = new Map<Backend, Map<string, readonly GuestFrame[]>>();

describe.each(BACKENDS)('%s', (backend) => {
  let proto: VirtualMachinePrototype;
  beforeAll(async () => {
    proto = await createOn(backend, { moduleBytes: GUEST, symbols: () => 0 });
  });

  test.each(SCENARIOS)('%s: functions, names, files and lines', async (what, run, answer, arg, expected) => {
    const trap = await trapOf(proto, run, answer, arg);
    expect(names(trap.frames)).toEqual(expected);
    for (const frame of trap.frames) {
      expect(frame.column).toBeGreaterThan(0);
      expect(frame.offset).toBeGreaterThan(0);
    }
    let seen = byBackend.get(backend);
    if (seen === undefined) byBackend.set(backend, (seen = new Map()));
    seen.set(what, trap.frames);
  });

  test('the frames are worked out once, and are frozen', async () => {
    const trap = await trapOf(proto, 1, 0);
    expect(trap.frames).toBe(trap.frames);
    expect(Object.isFrozen(trap.frames)).toBe(true);
    expect(Object.isFrozen(trap.frames[0])).toBe(true);
  });

  test('without DWARF: functions and names, no lines; offsets on JSPI only (they need line tables on Asyncify)', async () => {
    const bare = await createOn(backend, { moduleBytes: withoutSections(GUEST, (n) => n.startsWith('.debug')), symbols: () => 0 });
    const trap = await trapOf(bare, 1, 0);
    expect(trap.frames.map((f) => [f.functionIndex, f.functionName, f.file, f.line])).toEqual([
      [3, 'divide', null, null],
      [1, 'run', null, null],
    ]);
    if (backend === 'jspi') expect(trap.frames.every((f) => f.offset !== null)).toBe(true);
    else expect(trap.frames.every((f) => f.offset === null)).toBe(true);
  });

  test('without a name section either: function indices only', async () => {
    const bare = await createOn(backend, { moduleBytes: withoutSections(GUEST, () => true), symbols: () => 0 });
    const trap = await trapOf(bare, 1, 0);
    expect(trap.frames.map((f) => [f.functionIndex, f.functionName])).toEqual([
      [3, null],
      [1, null],
    ]);
  });

  test('an inline host function that throws: the guest frames under it', async () => {
    const inline = await createOn(backend, {
      moduleBytes: GUEST,
      symbols: () => 0,
      inlineImports: () => () => {
        throw new Error('host failure');
      },
    });
    const trap = await trapOf(inline, 1, 0);
    expect(trap.kind).toBe('HostFunction');
    expect(names(trap.frames)).toEqual([at(1, 'run', 'call: run divide')]);
  });

  test('Rust symbols are demangled', async () => {
    const wabt = await wabtInit();
    const module = wabt.parseWat(
      'rust.wat',
      `(module (memory (export "memory") 1)
        (func $_ZN4core9panicking5panic17h0123456789abcdefE unreachable)
        (func $_ZN60_$LT$alloc..string..String$u20$as$u20$core..fmt..Display$GT$3fmt17h1234567890abcdefE
          (call $_ZN4core9panicking5panic17h0123456789abcdefE))
        (func $run (export "run") (param i32 i32) (result i32)
          (call $_ZN60_$LT$alloc..string..String$u20$as$u20$core..fmt..Display$GT$3fmt17h1234567890abcdefE) (i32.const 0)))`,
    );
    module.resolveNames();
    const bytes = new Uint8Array(module.toBinary({ write_debug_names: true }).buffer);
    module.destroy();
    const rust = await createOn(backend, { moduleBytes: bytes, symbols: () => 0 });
    const trap = await trapOf(rust, 0, 0);
    expect(trap.frames.map((f) => f.functionName)).toEqual([
      'core::panicking::panic',
      '<alloc::string::String as core::fmt::Display>::fmt',
      'run',
    ]);
  });

  test('DWARF 5 line tables (clang -gdwarf-5) give the same frames', async () => {
    const dwarf5 = await createOn(backend, { moduleBytes: new Uint8Array(readFileSync(new URL('backtrace-dwarf5.wasm', GUESTS))), symbols: () => 0 });
    const trap = await trapOf(dwarf5, 0, -1, 3);
    expect(names(trap.frames)).toEqual(SCENARIOS[0]![4]);
  });

  test("the engine's own stack format and V8's call-site positions (as a prepareStackTrace writes them) read alike", async () => {
    const trap = await trapOf(proto, 1, 0);
    const stack = String((trap.cause as Error).stack);
    const components = proto._live().components;
    // Whichever form this process writes, the other one is made from it.
    let frame = 0;
    const own = /wasm-function\[\d+\]:0x[0-9a-f]+/.test(stack);
    const other = own
      ? stack.replace(/(wasm:\/\/wasm\/[^:\s]*):wasm-function\[\d+\]:0x([0-9a-f]+)/g, (_m, url: string, hex: string) => `${url}:1:${parseInt(hex, 16) + 1}`)
      : stack.replace(/(wasm:\/\/wasm\/[^:\s]*):1:(\d+)/g, (_m, url: string, column: string) => {
          const index = trap.frames[frame++]!.functionIndex;
          return `${url}:wasm-function[${index}]:0x${(Number(column) - 1).toString(16)}`;
        });
    expect(other).not.toBe(stack);
    expect(guestFrames({ stack: other }, components)).toEqual(trap.frames);
  });

  if (backend === 'asyncify') {
    test('an artifact keeps the backtraces', async () => {
      const config: VmConfig = { moduleBytes: GUEST, symbols: () => 0 };
      const rebuilt = await VirtualMachinePrototype.fromArtifact((await createOn(backend, config)).toArtifact(), config);
      const trap = await trapOf(rebuilt, 0, -1, 3);
      expect(names(trap.frames)).toEqual(SCENARIOS[0]![4]);
    });
  }
});

test('both backends give the same frames, offsets and columns included', () => {
  const asyncify = byBackend.get('asyncify');
  const jspi = byBackend.get('jspi');
  expect(asyncify?.size).toBe(SCENARIOS.length);
  expect(asyncify).toEqual(jspi);
});
