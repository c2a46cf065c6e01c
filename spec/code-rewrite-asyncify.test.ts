/**
 * The code rewrites under Binaryen's Asyncify (a real Binaryen run, as the Asyncify backend
 * does it), driven by a minimal driver with no VM (`support/asyncify-driver.ts`):
 *
 * - **Asyncify without multi-memory**: a guest shifted up by K pages (`memoryBase`), asyncified
 *   with its unwind data in the K reserved pages (header at 0, stack up to K * 64 KiB), pauses
 *   and resumes with its memory and `memory.size` identical to a plain run's at every pause;
 *   Binaryen's Asyncify does not check its stack's end while unwinding (shown here: a deep
 *   unwind writes into the guest's memory), and the unwind guard (`guardStoresBelow`) makes it
 *   trap before writing anything past the reserved pages.
 * - **the stack limit**: paused deep inside a recursion and resumed, the height counter is what
 *   an uninterrupted run has at the same point, and the limit traps at the same depth.
 * - **fuel**: the out-of-fuel import as a real pause, refilled while paused: the same pauses, the
 *   same consumption, the same results as with a synchronous host.
 */
import { rewriteCode } from '../lib/transform/code-rewrite.js';
import { AsyncifyDriver, type Step, asyncify } from './support/asyncify-driver.js';
import { Guest } from './support/rewrite-harness.js';
import { wat } from './support/wat.js';

/** A guest that pauses in a loop and deep in a recursion, writes what the host answers, grows its memory. */
const PAUSING_GUEST = `(module
  (import "env" "pause" (func $pause (param i32) (result i32)))
  (memory (export "mem") 1 4)
  (data (i32.const 100) "some data")
  (func $loop (param $n i32) (result i32) (local $i i32) (local $acc i32)
    loop
      local.get $i i32.const 4 i32.mul
      local.get $i call $pause local.get $acc i32.add local.tee $acc
      i32.store offset=1000
      local.get $i i32.const 9 i32.rem_u i32.eqz if i32.const 1 memory.grow drop end
      i32.const 70000 local.get $i i32.const 3 i32.mul i32.add i32.const 0xab local.get $i i32.const 8 i32.add memory.fill
      local.get $i i32.const 1 i32.add local.tee $i local.get $n i32.lt_u br_if 0
    end
    memory.size local.get $acc i32.add)
  (func $rec (param $depth i32) (result i32) (local $keep i64)
    local.get $depth i64.extend_i32_u i64.const 1000 i64.mul local.set $keep
    local.get $depth i32.eqz
    if (result i32) i32.const 77 call $pause
    else local.get $depth i32.const 1 i32.sub call $rec end
    local.get $keep i32.wrap_i64 i32.add)
  (func (export "work") (param i32) (result i32)
    local.get 0 call $loop
    i32.const 40 call $rec i32.add)
)`;

/** What the host answers to `pause(x)`, and what it writes into the guest's memory meanwhile. */
const answer = (x: number, k: number): number => (x * 31 + k) | 0;
const hostWrite = (k: number): [number, Uint8Array] => [3000 + 8 * k, Uint8Array.of(k, k + 1, k + 2, 0xee)];

describe('Asyncify without multi-memory: a shifted guest with its unwind data in the reserved pages', () => {
  for (const pages of [1, 4]) {
    test(`K = ${pages}: at every pause and at the end, the guest's memory and size are a plain run's`, async () => {
      const bytes = await wat(PAUSING_GUEST);
      // The plain run: the host answers synchronously; the guest's memory is recorded at each call.
      const seen: { bytes: Uint8Array; pages: number }[] = [];
      let plainMemory: WebAssembly.Memory | null = null;
      const plain = new Guest(bytes, {
        imports: {
          env: {
            pause: (x: number) => {
              const k = seen.length;
              const memory = new Uint8Array(plainMemory!.buffer);
              seen.push({ bytes: memory.slice(), pages: memory.length / 65536 });
              const [at, data] = hostWrite(k);
              memory.set(data, at);
              return answer(x, k);
            },
          },
        },
      });
      plainMemory = plain.memory;
      const expected = plain.call('work', 25);
      expect(expected.type).toBe('returned');
      expect(seen.length).toBe(26);

      // Shifted, asyncified in place (no secondary memory), guarded.
      const base = pages * 65536;
      const shifted = rewriteCode(bytes, { memoryBase: pages });
      const instrumented = rewriteCode(await asyncify(shifted.bytes, { pausing: ['env.pause'] }), { guardStoresBelow: base }).bytes;
      let instance: WebAssembly.Instance | null = null;
      const memory = (): WebAssembly.Memory => instance!.exports['mem'] as WebAssembly.Memory;
      const driver = new AsyncifyDriver(memory, 0, base);
      instance = new WebAssembly.Instance(new WebAssembly.Module(instrumented as Uint8Array<ArrayBuffer>), {
        env: { pause: driver.pausingImport('env', 'pause') },
      });
      driver.attach(instance);
      const guestBytes = (): Uint8Array => new Uint8Array(memory().buffer).slice(base);
      let step: Step = driver.start('work', 25);
      let k = 0;
      let deepest = 0;
      while (step.type === 'paused') {
        // Paused: the stack is saved in the reserved pages, and the guest sees exactly what the plain guest saw.
        const header = new DataView(memory().buffer);
        deepest = Math.max(deepest, header.getInt32(0, true));
        expect(header.getInt32(0, true)).toBeLessThanOrEqual(base);
        expect(memory().buffer.byteLength / 65536 - pages).toBe(seen[k]!.pages);
        if (Buffer.compare(guestBytes(), seen[k]!.bytes) !== 0) throw new Error(`pause ${k}: the guest's memory differs from the plain run's`);
        const [at, data] = hostWrite(k);
        new Uint8Array(memory().buffer).set(data, base + at);
        step = driver.resume(answer(step.pause.args[0] as number, k));
        k++;
      }
      expect(k).toBe(26);
      expect({ type: 'returned', value: `n:${step.value as number}` }).toEqual(expected);
      expect(Buffer.compare(guestBytes(), plain.guestBytes())).toBe(0);
      // The pause 41 frames deep used the buffer: the test exercised a real unwind.
      expect(deepest).toBeGreaterThan(41 * 12);
    });
  }

  test('an unwind too deep for the reserved pages: unguarded it writes into the guest memory; guarded it traps first', async () => {
    // A recursion whose frames keep three locals live across the pause at its bottom.
    const bytes = await wat(`(module
      (import "env" "pause" (func $pause (param i32) (result i32)))
      (memory (export "mem") 2)
      (func $rec (export "rec") (param $n i32) (result i32) (local $a i64) (local $b i64)
        local.get $n i64.extend_i32_u local.set $a
        local.get $n i64.extend_i32_u i64.const 7 i64.mul local.set $b
        local.get $n i32.eqz
        if (result i32) i32.const 5 call $pause
        else local.get $n i32.const 1 i32.sub call $rec end
        local.get $a i32.wrap_i64 i32.add local.get $b i32.wrap_i64 i32.add))`);
    const pages = 1;
    const base = pages * 65536;
    const asyncified = await asyncify(rewriteCode(bytes, { memoryBase: pages }).bytes, { pausing: ['env.pause'] });
    const guarded = rewriteCode(asyncified, { guardStoresBelow: base }).bytes;
    const attempt = (instrumented: Uint8Array, depth: number): { step: Step | null; error: string | null; state: number; guestTouched: boolean; position: number } => {
      let instance: WebAssembly.Instance | null = null;
      const memory = (): WebAssembly.Memory => instance!.exports['mem'] as WebAssembly.Memory;
      const driver = new AsyncifyDriver(memory, 0, base);
      instance = new WebAssembly.Instance(new WebAssembly.Module(instrumented as Uint8Array<ArrayBuffer>), {
        env: { pause: driver.pausingImport('env', 'pause') },
      });
      driver.attach(instance);
      let step: Step | null = null;
      let error: string | null = null;
      try {
        step = driver.start('rec', depth);
      } catch (e) {
        error = String(e);
      }
      // The guest never writes its memory: any byte not zero was written by the unwind.
      const guestTouched = new Uint8Array(memory().buffer).subarray(base).some((b) => b !== 0);
      return { step, error, state: driver.state, guestTouched, position: new DataView(memory().buffer).getInt32(0, true) };
    };
    // A pause that fits: both pause and resume the same.
    for (const instrumented of [asyncified, guarded]) {
      const fits = attempt(instrumented, 500);
      expect(fits.step?.type).toBe('paused');
      expect(fits.guestTouched).toBe(false);
      expect(fits.position).toBeLessThan(base);
    }
    // Too deep, unguarded: Binaryen's Asyncify saves the frames past the buffer's end, over the
    // guest's first bytes, and only asyncify_stop_unwind notices, afterwards.
    const unguarded = attempt(asyncified, 1500);
    expect(unguarded.error).toBe('RuntimeError: unreachable');
    expect(unguarded.guestTouched).toBe(true);
    expect(unguarded.position).toBeGreaterThan(base);
    // Guarded: the store that would pass the reserved pages traps, in the middle of the unwind
    // (Asyncify's state is still "unwinding"), and nothing was written past them.
    const stopped = attempt(guarded, 1500);
    expect(stopped.error).toBe('RuntimeError: unreachable');
    expect(stopped.state).toBe(1);
    expect(stopped.guestTouched).toBe(false);
    expect(stopped.position).toBeLessThanOrEqual(base);
  });
});

/** An instance of an Asyncify-instrumented module with its unwind buffer in Binaryen's secondary memory, and its driver. */
function secondaryMemoryInstance(
  instrumented: Uint8Array,
  pausing: readonly (readonly [string, string])[],
  imports: Record<string, Record<string, WebAssembly.ImportValue>> = {},
): { instance: WebAssembly.Instance; driver: AsyncifyDriver } {
  let instance: WebAssembly.Instance | null = null;
  const driver = new AsyncifyDriver(() => instance!.exports['__asyncify_memory'] as WebAssembly.Memory, 0, 4 * 65536);
  const all: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  for (const [module, values] of Object.entries(imports)) all[module] = { ...values };
  for (const [module, name] of pausing) (all[module] ??= {})[name] = driver.pausingImport(module, name);
  instance = new WebAssembly.Instance(new WebAssembly.Module(instrumented as Uint8Array<ArrayBuffer>), all);
  driver.attach(instance);
  return { instance, driver };
}

describe('the stack limit across Asyncify pauses', () => {
  // rec(n, k) recurses down to 0 and pauses on the way down wherever n is a multiple of k.
  const SOURCE = `(module
    (import "env" "pause" (func $pause (param i32) (result i32)))
    (func $rec (export "rec") (param $n i32) (param $k i32) (result i32)
      local.get $n i32.eqz
      if (result i32) i32.const 0
      else
        local.get $n local.get $k i32.rem_u i32.eqz
        if local.get $n call $pause drop end
        local.get $n i32.const 1 i32.sub local.get $k call $rec i32.const 1 i32.add
      end))`;
  const stackImport = {
    i: {
      stack: () => {
        throw new Error('stack limit');
      },
    },
  };

  test('paused deep inside a recursion, the height counts exactly the frames paused; resumed, it falls back to 0', async () => {
    const rewritten = rewriteCode(await wat(SOURCE), { maxStackHeight: 100_000 });
    const cost = rewritten.stack!.costs[1]!;
    const { instance, driver } = secondaryMemoryInstance(await asyncify(rewritten.bytes, { pausing: ['env.pause'], secondaryPages: 4 }), [['env', 'pause']], stackImport);
    const height = (): number => (instance.exports['h'] as WebAssembly.Global).value as number;
    const top = 60;
    let step = driver.start('rec', top, 7);
    const pausedAt: number[] = [];
    while (step.type === 'paused') {
      const n = step.pause.args[0] as number;
      pausedAt.push(n);
      // rec(top) .. rec(n) are on the stack, saved by the unwind: each counted once.
      expect({ n, height: height() }).toEqual({ n, height: (top - n + 1) * cost });
      step = driver.resume(0);
    }
    expect(pausedAt).toEqual([56, 49, 42, 35, 28, 21, 14, 7]);
    expect(step).toEqual({ type: 'finished', value: top });
    expect(height()).toBe(0);
  });

  test('with pauses on the way, the limit traps at the same depth as without', async () => {
    const bytes = await wat(SOURCE);
    const cost = rewriteCode(bytes, { maxStackHeight: 1000 }).stack!.costs[1]!;
    // rec(n) has n + 1 frames: 30 fit under this limit.
    const limit = 30 * cost;
    const rewritten = rewriteCode(bytes, { maxStackHeight: limit });
    const instrumented = await asyncify(rewritten.bytes, { pausing: ['env.pause'], secondaryPages: 4 });
    const synchronous = (n: number): { paused: number[]; outcome: string } => {
      const paused: number[] = [];
      const guest = new Guest(bytes, { rewrite: { maxStackHeight: limit }, imports: { env: { pause: (x: number) => (paused.push(x), 0) } } });
      const outcome = guest.call('rec', n, 4);
      return { paused, outcome: outcome.type };
    };
    const paused = (n: number): { paused: number[]; outcome: string } => {
      const { driver } = secondaryMemoryInstance(instrumented, [['env', 'pause']], stackImport);
      const seen: number[] = [];
      try {
        let step = driver.start('rec', n, 4);
        while (step.type === 'paused') {
          seen.push(step.pause.args[0] as number);
          step = driver.resume(0);
        }
        return { paused: seen, outcome: 'returned' };
      } catch (e) {
        return { paused: seen, outcome: (e as Error).message === 'stack limit' ? 'stack-limit' : String(e) };
      }
    };
    expect(synchronous(29)).toEqual({ paused: [28, 24, 20, 16, 12, 8, 4], outcome: 'returned' });
    expect(synchronous(30)).toEqual({ paused: [28, 24, 20, 16, 12, 8, 4], outcome: 'stack-limit' });
    expect(paused(29)).toEqual(synchronous(29));
    expect(paused(30)).toEqual(synchronous(30));
  });
});

describe('fuel across Asyncify pauses', () => {
  const SOURCE = `(module
    (memory (export "mem") 1)
    (func $fib (param i32) (result i32)
      local.get 0 i32.const 2 i32.lt_u
      if (result i32) local.get 0
      else local.get 0 i32.const 1 i32.sub call $fib local.get 0 i32.const 2 i32.sub call $fib i32.add end)
    (func (export "work") (param $n i32) (result i32) (local $i i32)
      loop
        local.get $i i32.const 4 i32.mul local.get $i call $fib i32.store
        local.get $i i32.const 0xff local.get $i memory.fill
        local.get $i i32.const 1 i32.add local.tee $i local.get $n i32.lt_u br_if 0
      end
      local.get $n call $fib))`;

  test('out of fuel is a real pause: the host refills while paused, and the pauses, consumption and results are a synchronous host\'s', async () => {
    const bytes = await wat(SOURCE);
    const plain = new Guest(bytes);
    const expected = plain.call('work', 18);
    const rewritten = rewriteCode(bytes, { fuel: true });
    const instrumented = await asyncify(rewritten.bytes, { pausing: ['i.fuel'], secondaryPages: 4 });
    for (const amount of [1n, 7n, 500n]) {
      // The synchronous host: the same refills, recorded.
      const synchronousPauses: string[] = [];
      const synchronous = new Guest(bytes, {
        rewrite: { fuel: true },
        fuel: 0n,
        refill: (cost, left) => (synchronousPauses.push(`${cost}/${left}`), amount),
      });
      expect(synchronous.call('work', 18)).toEqual(expected);

      const { instance, driver } = secondaryMemoryInstance(instrumented, [['i', 'fuel']]);
      const counter = instance.exports['f'] as WebAssembly.Global;
      const pauses: string[] = [];
      let given = 0n;
      let step = driver.start('work', 18);
      while (step.type === 'paused') {
        pauses.push(`${step.pause.args[0] as bigint}/${counter.value as bigint}`);
        counter.value = (counter.value as bigint) + amount;
        given += amount;
        step = driver.resume(undefined);
      }
      expect({ type: 'returned', value: `n:${step.value as number}` }).toEqual(expected);
      expect(pauses).toEqual(synchronousPauses);
      expect(given - (counter.value as bigint)).toBe(synchronous.refilled - synchronous.fuelLeft);
      expect(Buffer.compare(new Uint8Array((instance.exports['mem'] as WebAssembly.Memory).buffer), plain.guestBytes())).toBe(0);
      expect(pauses.length).toBeGreaterThan(amount === 500n ? 10 : 1000);
    }
  });
});
