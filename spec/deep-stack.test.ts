/**
 * Deep stacks: a guest paused deep in a recursion resumes correctly at a depth of at least half
 * of what plain V8 reaches with the same function, uninstrumented, in this same process. Deeper
 * (for the engine's stack, for the unwind buffer, or for the stack available when resuming),
 * the outcome is `trapped` with kind `StackExhausted` and a message that says so, and the
 * machine is usable again afterwards.
 */
import { VirtualMachinePrototype, WasmValue } from '../lib/index.js';
import { deepest, expectedRec, plainRecursion, settledDepth, vmRecursion } from './support/recursion.js';

/** Runs `action` with about `frames` JavaScript frames below it. */
function withJsStack<T>(frames: number, action: () => T): T {
  return frames === 0 ? action() : withJsStack(frames - 1, action);
}

function expectUsable(proto: VirtualMachinePrototype): void {
  const vm = proto.prepare().start('rec', [WasmValue.i32(10)]);
  expect(vm.run(null)).toEqual({ type: 'interrupted', id: 0, params: [] });
  expect(vm.run(WasmValue.i32(1))).toEqual({ type: 'finished', value: { type: 'i32', value: expectedRec(10, 1) } });
}

test('pause-and-resume depth is at least half of plain V8 depth', async () => {
  // Bytes no other test compiled, so that both start from cold code.
  const nonce = Date.now() % 1_000_000;
  const plain = await plainRecursion(nonce);
  const vm = await vmRecursion(undefined, nonce);
  const pauseAndResume = (n: number): boolean => vm.pauseAndResume(n);
  // The first search runs on the engine's baseline tier, whose depth is what "plain V8 reaches"
  // for a function that is not hot.
  const plainBaseline = deepest(plain);
  const vmBaseline = deepest(pauseAndResume);
  // Once optimised, plain V8 inlines the small recursive function a few levels deep, which the
  // larger instrumented function does not get: report those numbers too, compared like with like.
  const plainSettled = await settledDepth(plain);
  const vmSettled = await settledDepth(pauseAndResume);
  console.info(
    `recursion depth (frames): baseline tier: plain V8 ${plainBaseline}, paused and resumed ${vmBaseline} ` +
      `(${percent(vmBaseline, plainBaseline)}); optimised: plain V8 ${plainSettled}, paused and resumed ${vmSettled} ` +
      `(${percent(vmSettled, plainSettled)})`,
  );
  expect(plainBaseline).toBeGreaterThan(1000);
  expect(vmBaseline).toBeGreaterThanOrEqual(plainBaseline / 2);
  expect(vmSettled).toBeGreaterThanOrEqual(plainBaseline / 2);
});

function percent(part: number, whole: number): string {
  return `${Math.round((100 * part) / whole)}%`;
}

test('past the engine stack: trapped, then usable', async () => {
  const vm = await vmRecursion();
  const proto = vm.prototype();
  const running = proto.prepare().start('rec', [WasmValue.i32(10_000_000)]);
  const outcome = running.run(null);
  expect(outcome).toMatchObject({ type: 'trapped', trap: { kind: 'StackExhausted' } });
  if (outcome.type !== 'trapped') return;
  expect(outcome.trap.message).toMatch(/call stack exhausted: the guest recursed deeper than the engine stack allows/);
  // The same instance pauses and resumes again...
  const small = running.intoPrepare().start('rec', [WasmValue.i32(3)]);
  expect(small.run(null)).toMatchObject({ type: 'interrupted' });
  expect(small.run(WasmValue.i32(0))).toEqual({ type: 'finished', value: { type: 'i32', value: 6 } });
  // ...and so does a fresh one.
  expectUsable(small.intoPrototype());
});

test('past the unwind buffer: trapped with a message naming the buffer, then usable', async () => {
  // One page (64 KiB) holds a few thousand frames of this function: the engine stack holds more.
  const vm = await vmRecursion(1);
  const bufferDepth = deepest((n) => vm.pauseAndResume(n), 200_000);
  expect(bufferDepth).toBeGreaterThan(100);
  const proto = vm.prototype();
  const running = proto.prepare().start('rec', [WasmValue.i32(bufferDepth + 100)]);
  const outcome = running.run(null);
  expect(outcome).toMatchObject({ type: 'trapped', trap: { kind: 'StackExhausted' } });
  if (outcome.type !== 'trapped') return;
  expect(outcome.trap.message).toMatch(/does not fit in the 64 KiB unwind buffer \(raise `unwindBufferPages`\)/);
  // The failed unwind leaves nothing behind: the same instance pauses and resumes again.
  const next = running.intoPrepare().start('rec', [WasmValue.i32(bufferDepth)]);
  expect(next.run(null)).toMatchObject({ type: 'interrupted' });
  expect(next.run(WasmValue.i32(7))).toEqual({
    type: 'finished',
    value: { type: 'i32', value: expectedRec(bufferDepth, 7) | 0 },
  });
  expectUsable(next.intoPrototype());
});

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
  expectUsable(running.intoPrepare().start('rec', [WasmValue.i32(0)]).intoPrototype());
});
