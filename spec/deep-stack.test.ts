/**
 * Deep stacks: a guest paused deep in a recursion resumes correctly at a depth of at least half
 * of what plain V8 reaches with the same function, uninstrumented, in this same process. Deeper
 * (for the engine's stack, for the unwind buffer, or for the stack available when resuming),
 * the outcome is `trapped` with kind `StackExhausted` and a message that says so, and the
 * machine is usable again afterwards.
 *
 * Every test runs on Asyncify driven by `run()`, on Asyncify driven by `runAsync()` (also with
 * its paused stack in the guest's one memory) and on JSPI driven by `runAsync()`. Where the
 * stacks differ, each backend has its own test: Asyncify
 * copies a paused stack into an unwind buffer and rewinds it on the host's stack; JSPI leaves it
 * on a stack of a fixed size the engine gives each call, and resumes it there.
 */
import { type ExecOutcome, type VirtualMachine, type VirtualMachinePrototype, WasmValue } from '../lib/index.js';
import { deepest, deepestAsync, expectedRec, plainRecursion, settledDepth, settledDepthAsync, vmRecursion, vmRecursionOn } from './support/recursion.js';
import { type Variant, backendOf } from './support/backends.js';
import { DRIVES_WITH_SINGLE_MEMORY, type RunMethod, type Stepper, stepper } from './support/stepping.js';

/** Runs `action` with about `frames` JavaScript frames below it. */
function withJsStack<T>(frames: number, action: () => T): T {
  return frames === 0 ? action() : withJsStack(frames - 1, action);
}

/** What the trap of a guest recursing past the engine's stack says, by backend. */
const ENGINE_STACK_MESSAGE = {
  asyncify: /call stack exhausted: the guest recursed deeper than the engine stack allows/,
  jspi: /call stack exhausted: the guest recursed deeper than the stack the engine gives each call allows/,
} as const;

/** The recursive guest's prototype and searches, driven by `run()` or `runAsync()` on its backend. */
interface Recursion {
  pauseAndResume(n: number): Promise<boolean>;
  prototype(): VirtualMachinePrototype;
}

async function recursion(backend: Variant, method: RunMethod, unwindBufferPages?: number, nonce = 0): Promise<Recursion> {
  if (method === 'run') {
    const vm = await vmRecursion(unwindBufferPages, nonce);
    return { pauseAndResume: async (n) => vm.pauseAndResume(n), prototype: () => vm.prototype() };
  }
  return vmRecursionOn(backend, unwindBufferPages, nonce);
}

describe.each(DRIVES_WITH_SINGLE_MEMORY)('deep stacks (%s, driven by %s)', (backend, method) => {
  const step: Stepper = stepper(method);

  async function expectUsable(proto: VirtualMachinePrototype): Promise<void> {
    const vm = proto.prepare().start('rec', [WasmValue.i32(10)]);
    expect(await step(vm, null)).toEqual({ type: 'interrupted', id: 0, params: [] });
    expect(await step(vm, WasmValue.i32(1))).toEqual({ type: 'finished', value: { type: 'i32', value: expectedRec(10, 1) } });
  }

  test('pause-and-resume depth is at least half of plain V8 depth', async () => {
    // Bytes no other test compiled, so that both start from cold code.
    const nonce = ((Date.now() % 100_000) * 10 + DRIVES_WITH_SINGLE_MEMORY.findIndex(([b, m]) => b === backend && m === method)) % 1_000_000;
    const plain = await plainRecursion(nonce);
    let plainBaseline: number;
    let vmBaseline: number;
    let plainSettled: number;
    let vmSettled: number;
    if (method === 'run') {
      const vm = await vmRecursion(undefined, nonce);
      const pauseAndResume = (n: number): boolean => vm.pauseAndResume(n);
      // The first search runs on the engine's baseline tier, whose depth is what "plain V8 reaches"
      // for a function that is not hot.
      plainBaseline = deepest(plain);
      vmBaseline = deepest(pauseAndResume);
      // Once optimised, plain V8 inlines the small recursive function a few levels deep, which the
      // larger instrumented function does not get: report those numbers too, compared like with like.
      plainSettled = await settledDepth(plain);
      vmSettled = await settledDepth(pauseAndResume);
    } else {
      // A nonce of its own: on JSPI the VM runs the module's own bytes, which would otherwise be
      // the very bytes plain V8 just warmed up (the engine shares their compiled code).
      const vm = await vmRecursionOn(backend, undefined, nonce + 500_000);
      plainBaseline = deepest(plain);
      vmBaseline = await deepestAsync((n) => vm.pauseAndResume(n));
      plainSettled = await settledDepth(plain);
      vmSettled = await settledDepthAsync((n) => vm.pauseAndResume(n));
    }
    console.info(
      `recursion depth (frames), ${backend} driven by ${method}: baseline tier: plain V8 ${plainBaseline}, paused and resumed ${vmBaseline} ` +
        `(${percent(vmBaseline, plainBaseline)}); optimised: plain V8 ${plainSettled}, paused and resumed ${vmSettled} ` +
        `(${percent(vmSettled, plainSettled)})`,
    );
    expect(plainBaseline).toBeGreaterThan(1000);
    expect(vmBaseline).toBeGreaterThanOrEqual(plainBaseline / 2);
    expect(vmSettled).toBeGreaterThanOrEqual(plainBaseline / 2);
  });

  test('past the engine stack: trapped, then usable', async () => {
    const vm = await recursion(backend, method);
    const proto = vm.prototype();
    const running = proto.prepare().start('rec', [WasmValue.i32(10_000_000)]);
    const outcome = await step(running, null);
    expect(outcome).toMatchObject({ type: 'trapped', trap: { kind: 'StackExhausted' } });
    if (outcome.type !== 'trapped') return;
    expect(outcome.trap.message).toMatch(ENGINE_STACK_MESSAGE[backendOf(backend)]);
    // The same instance pauses and resumes again...
    const small = running.intoPrepare().start('rec', [WasmValue.i32(3)]);
    expect(await step(small, null)).toMatchObject({ type: 'interrupted' });
    expect(await step(small, WasmValue.i32(0))).toEqual({ type: 'finished', value: { type: 'i32', value: 6 } });
    // ...and so does a fresh one.
    await expectUsable(small.intoPrototype());
  });

  if (backendOf(backend) === 'asyncify') {
    // Asyncify only: the paused stack is copied into an unwind buffer of a fixed size. (On JSPI
    // a paused stack is not copied: its counterpart is the next test.)
    test('past the unwind buffer: trapped with a message naming the buffer, then usable', async () => {
      // One page (64 KiB) holds a few thousand frames of this function: the engine stack holds more.
      const vm = await recursion(backend, method, 1);
      const bufferDepth = await deepestAsync((n) => vm.pauseAndResume(n), 200_000);
      expect(bufferDepth).toBeGreaterThan(100);
      const proto = vm.prototype();
      const running = proto.prepare().start('rec', [WasmValue.i32(bufferDepth + 100)]);
      const outcome = await step(running, null);
      expect(outcome).toMatchObject({ type: 'trapped', trap: { kind: 'StackExhausted' } });
      if (outcome.type !== 'trapped') return;
      expect(outcome.trap.message).toMatch(/does not fit in the 64 KiB unwind buffer \(raise `unwindBufferPages`\)/);
      // The failed unwind leaves nothing behind: the same instance pauses and resumes again.
      const next = running.intoPrepare().start('rec', [WasmValue.i32(bufferDepth)]);
      expect(await step(next, null)).toMatchObject({ type: 'interrupted' });
      expect(await step(next, WasmValue.i32(7))).toEqual({
        type: 'finished',
        value: { type: 'i32', value: expectedRec(bufferDepth, 7) | 0 },
      });
      await expectUsable(next.intoPrototype());
    });
  } else {
    // The JSPI counterpart: a paused stack stays on the call's own stack, so the deepest pause
    // is the deepest recursion that stack holds; one deeper traps while recursing (never while
    // pausing), and leaves nothing behind.
    test("past the call's own stack: the deepest pause resumes, a deeper recursion traps, then usable", async () => {
      const vm = await recursion(backend, method);
      const stackDepth = await deepestAsync((n) => vm.pauseAndResume(n));
      expect(stackDepth).toBeGreaterThan(1000);
      const proto = vm.prototype();
      const running = proto.prepare().start('rec', [WasmValue.i32(stackDepth * 10)]);
      const outcome = await step(running, null);
      expect(outcome).toMatchObject({ type: 'trapped', trap: { kind: 'StackExhausted' } });
      if (outcome.type !== 'trapped') return;
      expect(outcome.trap.message).toMatch(ENGINE_STACK_MESSAGE.jspi);
      // The overflowed stack leaves nothing behind: the same instance pauses as deep as before.
      const next = running.intoPrepare().start('rec', [WasmValue.i32(stackDepth)]);
      expect(await step(next, null)).toMatchObject({ type: 'interrupted' });
      expect(await step(next, WasmValue.i32(7))).toEqual({
        type: 'finished',
        value: { type: 'i32', value: expectedRec(stackDepth, 7) | 0 },
      });
      await expectUsable(next.intoPrototype());
    });
  }

  if (method === 'run') {
    // Asyncify's run() only: the rewind runs on the host's own stack, which may be shallower
    // than when the call paused. (runAsync() runs every step from a promise job, and JSPI
    // resumes a paused stack where it is: the counterpart below.)
    test('stack exhaustion while resuming: trapped, then usable', async () => {
      const vm = await vmRecursion();
      deepest((n) => vm.pauseAndResume(n));
      const depth = deepest((n) => vm.pauseAndResume(n));
      // Pause at a depth that only just fits, then resume from under thousands of JS frames.
      const running = vm.prototype().prepare().start('rec', [WasmValue.i32(depth)]);
      expect(running.run(null)).toMatchObject({ type: 'interrupted' });
      const outcome = withJsStack(5000, () => running.run(WasmValue.i32(7)));
      expect(outcome).toMatchObject({ type: 'trapped', trap: { kind: 'StackExhausted' } });
      if (outcome.type !== 'trapped') return;
      expect(outcome.trap.message).toMatch(/while resuming the paused call/);
      await expectUsable(running.intoPrepare().start('rec', [WasmValue.i32(0)]).intoPrototype());
    });
  } else {
    test('resuming through runAsync() from under thousands of JS frames: the deepest pause still resumes correctly', async () => {
      const vm = await recursion(backend, method);
      await deepestAsync((n) => vm.pauseAndResume(n));
      const depth = await deepestAsync((n) => vm.pauseAndResume(n));
      const running: VirtualMachine = vm.prototype().prepare().start('rec', [WasmValue.i32(depth)]);
      expect(await step(running, null)).toMatchObject({ type: 'interrupted' });
      const outcome: ExecOutcome = await withJsStack(5000, () => running.runAsync(WasmValue.i32(7)));
      expect(outcome).toEqual({ type: 'finished', value: { type: 'i32', value: expectedRec(depth, 7) | 0 } });
      await expectUsable(running.intoPrepare().start('rec', [WasmValue.i32(0)]).intoPrototype());
    });
  }
});

function percent(part: number, whole: number): string {
  return `${Math.round((100 * part) / whole)}%`;
}
