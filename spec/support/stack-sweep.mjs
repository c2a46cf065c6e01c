// The runAsync() stack sweep of spec/guest-faults.test.ts, run in a process of its own: on the
// built package (dist/, which `npm test` builds first), the guest's bytes in argv[3], the
// backend in argv[2]. Prints the anomalies as JSON on stdout.
//
// A process of its own because on JSPI, a call into `WebAssembly.promising` with almost no
// JavaScript stack left makes V8 run Node.js's promise-rejection callback out of stack too,
// and V8 then writes "Exception in PromiseRejectCallback: ... RangeError: Maximum call stack
// size exceeded" on the process's stderr itself, where no JavaScript can catch it. These
// messages are expected (the library handles the RangeError: see the test), and the test
// asserts that nothing else is written.
import { readFileSync } from 'node:fs';
import { VirtualMachinePrototype, WasmValue } from '../../dist/index.js';
import { jsStackLimit, withJsStack } from './js-stack.mjs';

const GET = 0;
const [backend, guestPath] = process.argv.slice(2);

// A rejection no handler took, by its error's name: counted and reported (a Jest worker swallows
// them; a plain Node.js process would die of the first).
const unhandled = {};
process.on('unhandledRejection', (error) => {
  const name = error?.name ?? typeof error;
  unhandled[name] = (unhandled[name] ?? 0) + 1;
});

/**
 * Steps that never settled, by padding: reported rather than left to hang the sweep. A step
 * settles within a few promise jobs; one that has not after {@link TURNS} turns of the event
 * loop never will.
 */
const unsettled = [];
const TURNS = 1000;
class Unsettled extends Error {}

/** `promise`'s value, or throws {@link Unsettled} if it has not settled after TURNS turns. */
async function settled(promise) {
  let state = 'pending';
  let result;
  promise.then(
    (value) => ((state = 'fulfilled'), (result = value)),
    (error) => ((state = 'rejected'), (result = error)),
  );
  for (let turn = 0; turn < TURNS && state === 'pending'; turn++) await new Promise((resolve) => setImmediate(resolve));
  if (state === 'pending') throw new Unsettled();
  if (state === 'rejected') throw result;
  return result;
}

/**
 * Calls `attempt(padding)` (resolving to true when the host's own call overflowed) for every
 * padding around the point where the host's call starts to overflow: found by bisection after
 * a warm-up, then swept one frame at a time over 400 frames.
 */
async function sweepStackLimit(unguarded) {
  const attempt = async (padding) => {
    try {
      return await unguarded(padding);
    } catch (e) {
      if (!(e instanceof Unsettled)) throw e;
      unsettled.push(padding);
      restart();
      return true;
    }
  };
  jsStackLimit();
  const limit = jsStackLimit();
  let lo = Math.floor(limit / 2);
  let hi = limit * 2;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (await attempt(mid)) hi = mid;
    else lo = mid + 1;
  }
  for (let padding = Math.max(lo - 200, 0); padding < lo + 200; padding++) await attempt(padding);
}

/** vm.runAsync(value) under `padding` frames: its outcome, or null after a RangeError. */
async function runAsyncUnder(padding, vm, value, anomalies) {
  let pending;
  try {
    pending = withJsStack(padding, () => vm.runAsync(value));
  } catch (e) {
    if (!(e instanceof RangeError)) anomalies.push(`padding ${padding}: runAsync threw ${String(e).slice(0, 120)}`);
    return null;
  }
  try {
    return await settled(pending);
  } catch (e) {
    if (e instanceof Unsettled) throw e;
    if (!(e instanceof RangeError)) anomalies.push(`padding ${padding}: runAsync rejected with ${String(e).slice(0, 120)}`);
    return null;
  }
}

/** Starts `sum(10)` (pauses) or `now(0, 0)` (traps) under every depth near the limit. */
/** A machine left with a step in progress is dropped; the sweep goes on with a new prototype. */
let restart = () => {};

async function sweepStarting(base, fn) {
  const anomalies = [];
  let proto = base.clone();
  restart = () => (proto = base.clone());
  await sweepStackLimit(async (padding) => {
    const vm = proto.prepare().start(fn, fn === 'sum' ? [WasmValue.i32(10)] : [WasmValue.i32(0), WasmValue.i32(0)]);
    const outcome = await runAsyncUnder(padding, vm, null, anomalies);
    try {
      const first = outcome ?? (await settled(vm.runAsync(null)));
      if (first.type === 'trapped') {
        const expected = fn === 'now' ? ['Unreachable', 'StackExhausted'] : ['StackExhausted'];
        if (!expected.includes(first.trap.kind)) anomalies.push(`padding ${padding}: ${fn} trapped ${first.trap.kind}: ${first.trap.message}`);
      } else if (fn === 'now') {
        anomalies.push(`padding ${padding}: now ${first.type} instead of trapped`);
      } else if (first.type !== 'interrupted') {
        anomalies.push(`padding ${padding}: ${first.type} instead of interrupted`);
      } else {
        const end = await settled(vm.runAsync(WasmValue.i32(1)));
        if (end.type !== 'finished' || end.value?.value !== 56) anomalies.push(`padding ${padding}: resumed to ${JSON.stringify(end)}`);
      }
    } catch (e) {
      if (e instanceof Unsettled) throw e;
      anomalies.push(`padding ${padding}: the retry failed: ${String(e).slice(0, 120)}`);
    }
    proto = vm.intoPrototype();
    return outcome === null;
  });
  return anomalies;
}

/** Pauses `sum(10)`, then resumes it under every depth near the limit. */
async function sweepResuming(base) {
  const anomalies = [];
  let proto = base.clone();
  restart = () => (proto = base.clone());
  await sweepStackLimit(async (padding) => {
    const vm = proto.prepare().start('sum', [WasmValue.i32(10)]);
    const paused = await settled(vm.runAsync(null));
    if (paused.type !== 'interrupted') anomalies.push(`padding ${padding}: sum(10) did not pause: ${paused.type}`);
    const outcome = await runAsyncUnder(padding, vm, WasmValue.i32(1), anomalies);
    const good = (o) => (o.type === 'finished' && o.value?.value === 56) || (o.type === 'trapped' && o.trap.kind === 'StackExhausted');
    try {
      const reported = outcome ?? (await settled(vm.runAsync(WasmValue.i32(1))));
      if (!good(reported)) anomalies.push(`padding ${padding}: ${outcome === null ? 'the retry gave ' : ''}${JSON.stringify(reported).slice(0, 160)}`);
    } catch (e) {
      if (e instanceof Unsettled) throw e;
      anomalies.push(`padding ${padding}: the retry failed: ${String(e).slice(0, 120)}`);
    }
    proto = vm.intoPrototype();
    return outcome === null;
  });
  return anomalies;
}

const base = await VirtualMachinePrototype.create({
  moduleBytes: readFileSync(guestPath),
  symbols: (_module, name) => (name === 'get' ? GET : 1),
  backend,
});
const anomalies = [...(await sweepStarting(base, 'sum')), ...(await sweepStarting(base, 'now')), ...(await sweepResuming(base))];
// Let the last abandoned calls settle before reporting.
await new Promise((resolve) => setTimeout(resolve, 50));
process.stdout.write(JSON.stringify({ backend: base.backend, anomalies, unhandled, unsettled }));
// Machines left with a step in progress hold nothing that keeps the process alive.
process.exit(0);
