/**
 * Guest faults are outcomes, never exceptions: every MVP trap kind, before any pause, right
 * after a resume, deep in a resumed stack and after a thousand interrupts; stack exhaustion at
 * any depth and while rewinding; an unwind buffer too small for the stack. Each is a `trapped`
 * outcome, and the instance (through `intoPrepare()`) and a fresh one (through
 * `intoPrototype()`) work after it.
 */
import {
  type ExecOutcome,
  type Prepare,
  type TrapKind,
  type VirtualMachine,
  VirtualMachinePrototype,
  WasmValue,
} from '../lib/index.js';
import { GET, TICK, faultGuest } from './support/fault-guest.js';

/** The faults of `fault(kind, 0)`, by kind number. */
const FAULTS: readonly (readonly [number, string, TrapKind])[] = [
  [0, 'unreachable', 'Unreachable'],
  [1, 'i32.load past the end', 'MemoryOutOfBounds'],
  [2, 'i32.store straddling the end', 'MemoryOutOfBounds'],
  [3, 'i32.div_s by zero', 'DivisionByZero'],
  [4, 'i32.div_u by zero', 'DivisionByZero'],
  [5, 'i32.rem_s by zero', 'DivisionByZero'],
  [6, 'i64.rem_u by zero', 'DivisionByZero'],
  [7, 'i64.div_s by zero', 'DivisionByZero'],
  [8, 'i32.div_s overflow', 'IntegerOverflow'],
  [9, 'i64.div_s overflow', 'IntegerOverflow'],
  [10, 'i32.trunc_f32_s of NaN', 'InvalidConversion'],
  [11, 'i32.trunc_f64_u of 2^32', 'InvalidConversion'],
  [12, 'i64.trunc_f64_s of infinity', 'InvalidConversion'],
  [13, 'call_indirect past the table', 'UndefinedElement'],
  [14, 'call_indirect to an empty slot', 'IndirectCallMismatch'],
  [15, 'call_indirect with the wrong type', 'IndirectCallMismatch'],
  [16, 'unbounded recursion', 'StackExhausted'],
];

/** Where the fault happens. Each starts its call on `prepare` and drives it to the fault. */
type Position = (prepare: Prepare, kind: number) => { vm: VirtualMachine; outcome: ExecOutcome };
const POSITIONS: readonly (readonly [string, Position])[] = [
  ['before any pause', (prepare, kind) => driveZero(prepare.start('now', [WasmValue.i32(kind), WasmValue.i32(0)]))],
  ['right after a resume', (prepare, kind) => driveZero(prepare.start('deep', [WasmValue.i32(0), WasmValue.i32(kind)]))],
  ['right after a resume 500 frames deep', (prepare, kind) => driveZero(prepare.start('deep', [WasmValue.i32(500), WasmValue.i32(kind)]))],
  ['after 1000 interrupts', (prepare, kind) => driveZero(prepare.start('many', [WasmValue.i32(1000), WasmValue.i32(kind)]))],
];

/** Answers every interrupt with zero (or nothing) until the call ends. */
function driveZero(vm: VirtualMachine): { vm: VirtualMachine; outcome: ExecOutcome } {
  let outcome = vm.run(null);
  while (outcome.type === 'interrupted') outcome = vm.run(outcome.id === GET ? WasmValue.i32(0) : null);
  return { vm, outcome };
}

/** `sum(n)` paused at the bottom and resumed with `answer`: `n(n+1)/2 + answer`. */
function expectSum(prepare: Prepare, n: number, answer: number): VirtualMachine {
  const vm = prepare.start('sum', [WasmValue.i32(n)]);
  expect(vm.run(null)).toEqual({ type: 'interrupted', id: GET, params: [] });
  expect(vm.run(WasmValue.i32(answer))).toEqual({ type: 'finished', value: { type: 'i32', value: (n * (n + 1)) / 2 + answer } });
  return vm;
}

function expectTrapped(outcome: ExecOutcome, kind: TrapKind, vm?: VirtualMachine): void {
  expect(outcome.type).toBe('trapped');
  if (outcome.type !== 'trapped') return;
  expect(outcome.trap.kind).toBe(kind);
  expect(outcome.trap.message).not.toBe('');
  if (vm !== undefined) expect(() => vm.run(null)).toThrow(expect.objectContaining({ kind: 'Poisoned' }));
}

describe('guest faults are outcomes, never exceptions', () => {
  let base: VirtualMachinePrototype;
  beforeAll(async () => {
    base = await faultGuest();
  });

  const table = FAULTS.flatMap(([kind, what, trap]) => POSITIONS.map(([where, run]) => [what, where, kind, trap, run] as const));

  test.each(table)('%s, %s: trapped, then intoPrototype() gives a fresh instance that runs correctly', (_what, _where, kind, trap, run) => {
    const prepare = base.clone().prepare();
    prepare.writeMemory(100, Uint8Array.of(7));
    const { vm, outcome } = run(prepare, kind);
    expectTrapped(outcome, trap, vm);
    expect(vm.readMemory(100, 1)).toEqual(Uint8Array.of(7));
    const fresh = vm.intoPrototype();
    expect(fresh.globalValue('calls')).toBe(0);
    const again = fresh.prepare();
    expect(again.readMemory(100, 1)).toEqual(Uint8Array.of(0));
    expectSum(again, 10, 5);
  });

  test('every fault × position on ONE instance through intoPrepare(), with a good call after each: state kept, results right', () => {
    let prepare = base.clone().prepare();
    let calls = 0;
    for (const [kind, , trap] of FAULTS) {
      for (const [, run] of POSITIONS) {
        prepare.writeMemory(200 + calls, Uint8Array.of(calls & 0xff));
        const { vm, outcome } = run(prepare, kind);
        calls++;
        expectTrapped(outcome, trap, vm);
        prepare = expectSum(vm.intoPrepare(), 20, calls).intoPrepare();
        calls++;
      }
    }
    // The memory written before every fault is still there, and the guest's counter saw every call.
    const memory = prepare.readMemory(200, calls);
    for (let i = 0; i < calls; i += 2) expect(memory[i]).toBe(i & 0xff);
    expect(prepare.start('calls_value', []).run(null)).toEqual({ type: 'finished', value: { type: 'i32', value: calls } });
  });

  test('a trap in the middle of many interrupts, then the same call again on the same instance', () => {
    let prepare = base.clone().prepare();
    for (let round = 0; round < 5; round++) {
      const vm = prepare.start('many', [WasmValue.i32(300), WasmValue.i32(3)]);
      let outcome = vm.run(null);
      let ticks = 0;
      while (outcome.type === 'interrupted' && outcome.id === TICK) {
        expect(outcome.params).toEqual([{ type: 'i32', value: ticks }]);
        ticks++;
        outcome = vm.run(null);
      }
      expect(ticks).toBe(300);
      expect(outcome).toEqual({ type: 'interrupted', id: GET, params: [] });
      // Non-zero: no fault. Zero: division by zero right after the resume.
      const last = vm.run(WasmValue.i32(round % 2 === 0 ? 0 : 4));
      if (round % 2 === 0) expectTrapped(last, 'DivisionByZero', vm);
      else expect(last).toEqual({ type: 'finished', value: { type: 'i32', value: 0 } });
      prepare = vm.intoPrepare();
    }
    expectSum(prepare, 3, 1);
  });

  describe('stack exhaustion', () => {
    test.each([0, 1, 10, 100, 1000, 3000])('unbounded recursion after a resume %i frames deep: trapped, instance usable', (depth) => {
      const vm = base.clone().prepare().start('deep', [WasmValue.i32(depth), WasmValue.i32(16)]);
      expect(vm.run(null)).toMatchObject({ type: 'interrupted', id: GET });
      // The pause and the rewind went through `depth` frames; the recursion then overflows.
      expectTrapped(vm.run(WasmValue.i32(0)), 'StackExhausted', vm);
      expectSum(vm.intoPrepare(), depth, 2);
    });

    // Regression (found by this suite): with little JavaScript stack left when the host called
    // run(), an exception escaped after the call was marked as ended (the trap was lost), or the
    // pause driver was left half reset. Now: an outcome, or a RangeError after which the retry
    // reports what happened.
    test('run() under every JS stack depth near the limit, starting and resuming: an outcome, or a RangeError after which the retry reports it', () => {
      const anomalies = [...sweepStarting(base), ...sweepResuming(base)];
      expect(anomalies).toEqual([]);
    });
  });

  describe('an unwind buffer of one page', () => {
    let small: VirtualMachinePrototype;
    let fits = 0;
    beforeAll(async () => {
      small = await faultGuest({ unwindBufferPages: 1 });
      // The deepest pause of `sum` that fits in 64 KiB.
      let lo = 1;
      let hi = 100_000;
      while (lo < hi) {
        const mid = Math.floor((lo + hi + 1) / 2);
        const vm = small.clone().prepare().start('sum', [WasmValue.i32(mid)]);
        if (vm.run(null).type === 'interrupted') lo = mid;
        else hi = mid - 1;
      }
      fits = lo;
    });

    test('overflowing pauses and good pauses alternate on one instance', () => {
      expect(fits).toBeGreaterThan(50);
      let prepare = small.clone().prepare();
      for (let round = 0; round < 20; round++) {
        prepare.writeMemory(round, Uint8Array.of(round + 1));
        const vm = prepare.start('sum', [WasmValue.i32(fits + 1 + round * 97)]);
        const outcome = vm.run(null);
        expectTrapped(outcome, 'StackExhausted', vm);
        if (outcome.type === 'trapped') expect(outcome.trap.message).toMatch(/64 KiB unwind buffer/);
        prepare = expectSum(vm.intoPrepare(), round % 2 === 0 ? fits : 3, round).intoPrepare();
      }
      expect(prepare.readMemory(0, 20)).toEqual(Uint8Array.from({ length: 20 }, (_, i) => i + 1));
    });

    test('a call that pauses at ever deeper frames overflows mid-call, after many good pauses and resumes', () => {
      const vm = small.clone().prepare().start('climb', [WasmValue.i32(fits * 2)]);
      let outcome = vm.run(null);
      let pauses = 0;
      while (outcome.type === 'interrupted') {
        pauses++;
        outcome = vm.run(outcome.id === GET ? WasmValue.i32(0) : null);
      }
      expect(pauses).toBeGreaterThan(50);
      expectTrapped(outcome, 'StackExhausted', vm);
      expectSum(vm.intoPrototype().prepare(), fits, 9);
    });

    test('an overflow after 1000 shallow interrupts', () => {
      const vm = small.clone().prepare().start('many', [WasmValue.i32(1000), WasmValue.i32(17)]);
      expect(driveZero(vm).outcome).toEqual({ type: 'finished', value: { type: 'i32', value: 0 } });
      const deep = vm.intoPrepare().start('sum', [WasmValue.i32(fits * 3)]);
      expectTrapped(deep.run(null), 'StackExhausted', deep);
      expectSum(deep.intoPrepare(), fits, 4);
    });
  });
});

/** Runs `action` with about `frames` JavaScript frames below it. */
function withJsStack<T>(frames: number, action: () => T): T {
  return frames === 0 ? action() : withJsStack(frames - 1, action);
}

/** The deepest padding of {@link withJsStack} under which a trivial action still runs. */
function jsStackLimit(): number {
  let lo = 0;
  let hi = 1 << 20;
  while (lo < hi) {
    const mid = Math.floor((lo + hi + 1) / 2);
    let ok = true;
    try {
      withJsStack(mid, () => 0);
    } catch {
      ok = false;
    }
    if (ok) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Calls `attempt(padding)` for every padding around the point where the host's own call to the
 * library starts to overflow the JS stack (`attempt` returns `true` when it did): the band
 * where the overflow happens somewhere *inside* the library is covered one frame at a time.
 * The point is found by bisection first, after a warm-up (optimised frames are smaller than
 * the interpreter's).
 */
function sweepStackLimit(attempt: (padding: number) => boolean): void {
  jsStackLimit();
  const limit = jsStackLimit();
  let lo = Math.floor(limit / 2);
  let hi = limit * 2;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (attempt(mid)) hi = mid;
    else lo = mid + 1;
  }
  for (let padding = Math.max(lo - 200, 0); padding < lo + 200; padding++) attempt(padding);
}

/**
 * Starts `sum(10)` under every JS stack depth around the limit. Each `run(null)` must give
 * `interrupted` or a `StackExhausted` trap; if the host's own call overflows (a RangeError),
 * the same call retried with plenty of stack must give what happened: the pause (or, if the
 * guest itself ran out of stack, its `StackExhausted` trap), then resume correctly. Returns
 * what went wrong.
 */
function sweepStarting(base: VirtualMachinePrototype): string[] {
  const anomalies: string[] = [];
  let proto = base.clone();
  sweepStackLimit((padding) => {
    const vm = proto.prepare().start('sum', [WasmValue.i32(10)]);
    let threw = false;
    let outcome: ExecOutcome | null = null;
    try {
      outcome = withJsStack(padding, () => vm.run(null));
    } catch (e) {
      threw = true;
      if (!(e instanceof RangeError)) anomalies.push(`padding ${padding}: run(null) threw ${String(e).slice(0, 120)}`);
    }
    try {
      // After a RangeError, the retry reports what the interrupted run() could not.
      const first = outcome ?? vm.run(null);
      if (first.type === 'trapped') {
        if (first.trap.kind !== 'StackExhausted') anomalies.push(`padding ${padding}: trapped ${first.trap.kind}`);
      } else {
        const paused = first;
        if (paused.type !== 'interrupted') anomalies.push(`padding ${padding}: ${paused.type} instead of interrupted`);
        else {
          const end = vm.run(WasmValue.i32(1));
          if (end.type !== 'finished' || end.value?.value !== 56) anomalies.push(`padding ${padding}: resumed to ${JSON.stringify(end)}`);
        }
      }
    } catch (e) {
      anomalies.push(`padding ${padding}: the retry threw ${String(e).slice(0, 120)}`);
    }
    proto = vm.intoPrototype();
    return threw;
  });
  return anomalies;
}

/**
 * Pauses `sum(10)`, then resumes it under every JS stack depth around the limit. Each resume
 * must give the right result or a `StackExhausted` trap; after a RangeError from the host's own
 * call, the retry with plenty of stack must report one of those. Returns what went wrong.
 */
function sweepResuming(base: VirtualMachinePrototype): string[] {
  const anomalies: string[] = [];
  let proto = base.clone();
  sweepStackLimit((padding) => {
    const vm = proto.prepare().start('sum', [WasmValue.i32(10)]);
    vm.run(null);
    let threw = false;
    try {
      const outcome = withJsStack(padding, () => vm.run(WasmValue.i32(1)));
      const good =
        (outcome.type === 'finished' && outcome.value?.value === 56) || (outcome.type === 'trapped' && outcome.trap.kind === 'StackExhausted');
      if (!good) anomalies.push(`padding ${padding}: ${JSON.stringify(outcome).slice(0, 120)}`);
    } catch (e) {
      threw = true;
      if (!(e instanceof RangeError)) anomalies.push(`padding ${padding}: run(value) threw ${String(e).slice(0, 120)}`);
      else {
        try {
          // The retry reports what the interrupted run() could not: the result, or the trap of a
          // rewind that ran out of stack.
          const retry = vm.run(WasmValue.i32(1));
          const reported = (retry.type === 'finished' && retry.value?.value === 56) || (retry.type === 'trapped' && retry.trap.kind === 'StackExhausted');
          if (!reported) {
            anomalies.push(`padding ${padding}: the retry gave ${retry.type} ${retry.type === 'trapped' ? retry.trap.kind : ''}`);
          }
        } catch (e2) {
          anomalies.push(`padding ${padding}: the retry threw ${String(e2).slice(0, 120)}`);
        }
      }
    }
    proto = vm.intoPrototype();
    return threw;
  });
  return anomalies;
}
