/**
 * Fuel through the public API (`VmConfig.fuel`), on both backends: an endless loop stopped and
 * resumed, the same consumption and the same out-of-fuel points however the host refills, the
 * state machine's rules for the new outcome, `runToCompletion`'s refills, the counters' reset
 * rules and their reach (a hostile guest cannot name or reset them).
 *
 * The unit itself (what each instruction costs) is specified on the rewriter in
 * `code-rewrite-fuel.test.ts`; here the VM must report exactly that unit.
 */
import { RunError, UsageError, type VirtualMachine, WasmValue, runToCompletion } from '../lib/index.js';
import { BACKENDS, createOn } from './support/backends.js';
import { Guest } from './support/rewrite-harness.js';
import { wat } from './support/wat.js';

/** A guest that loops forever unless told to stop, pausing at `env.tick` every 1000 iterations. */
const ENDLESS = `(module
  (import "env" "tick" (func $tick (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "spin") (param $limit i32) (result i32) (local $i i32)
    loop
      local.get $i i32.const 1 i32.add local.set $i
      local.get $i i32.const 1000 i32.rem_u i32.eqz
      if local.get $i call $tick drop end
      local.get $limit i32.eqz
      local.get $i local.get $limit i32.lt_u
      i32.or br_if 0
    end
    local.get $i)
  (func (export "work") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    block loop
      local.get $i local.get $n i32.ge_u br_if 1
      local.get $acc local.get $i i32.const 7 i32.mul i32.add local.set $acc
      local.get $i i32.const 100 i32.rem_u i32.eqz if local.get $i call $tick local.get $acc i32.add local.set $acc end
      local.get $i i32.const 4 i32.mul local.get $acc i32.store offset=64
      local.get $i i32.const 1 i32.add local.set $i
      br 0
    end end
    local.get $acc)
)`;

const symbols = (_module: string, name: string): number | null => (name === 'tick' ? 7 : null);

describe.each(BACKENDS)('fuel on %s', (backend) => {
  test('an endless loop is stopped by fuel, and resumed by addFuel as if nothing happened', async () => {
    const proto = await createOn(backend, { moduleBytes: await wat(ENDLESS), symbols, fuel: true });
    const vm = proto.prepare().start('spin', [WasmValue.i32(0)], { fuel: 100_000n });
    let outcome = await vm.runAsync(null);
    let ticks = 0;
    let outOfFuel = 0;
    while (outOfFuel < 5) {
      if (outcome.type === 'interrupted') {
        ticks++;
        outcome = await vm.runAsync(WasmValue.i32(0));
      } else {
        expect(outcome).toEqual({ type: 'outOfFuel' });
        outOfFuel++;
        vm.addFuel(50_000n);
        outcome = await vm.runAsync(null);
      }
    }
    // Five times out of fuel, refilled each time: the fifth refill is being spent.
    expect(vm.fuelConsumed).toBeLessThanOrEqual(100_000n + 5n * 50_000n);
    expect(vm.fuelConsumed).toBeGreaterThan(100_000n + 4n * 50_000n - 100n);
    expect(ticks).toBeGreaterThan(10);
    // Abandoned while out of fuel: the prototype is fresh and usable.
    const again = vm.intoPrototype().prepare().start('spin', [WasmValue.i32(3000)], { fuel: 10n ** 9n });
    const done = await runToCompletion(again, () => WasmValue.i32(0));
    expect(done).toEqual({ type: 'finished', value: WasmValue.i32(3000) });
  });

  test('the consumption and the out-of-fuel points are those of the rewritten guest run plainly, whatever the refills', async () => {
    const bytes = await wat(ENDLESS);
    // The reference: the rewriter's output run by the engine with a synchronous refilling host.
    const reference = new Guest(bytes, {
      rewrite: { fuel: true },
      fuel: 10n ** 12n,
      imports: { env: { tick: (x: number) => (x * 3) | 0 } },
    });
    const expected = reference.call('work', 1234);
    const total = 10n ** 12n + reference.refilled - reference.fuelLeft;

    const proto = await createOn(backend, { moduleBytes: bytes, symbols, fuel: true });
    let prototype = proto;
    for (const [budget, refill] of [
      [total, 1n],
      [0n, 1n],
      [1n, 3n],
      [17n, 1000n],
      [total - 1n, 1n],
      [total / 2n, total],
    ] as const) {
      const vm = prototype.prepare().start('work', [WasmValue.i32(1234)], { fuel: budget });
      let outcome = await vm.runAsync(null);
      let given = budget;
      const seen: bigint[] = [];
      while (outcome.type !== 'finished' && outcome.type !== 'trapped') {
        if (outcome.type === 'interrupted') {
          outcome = await vm.runAsync(WasmValue.i32(((outcome.params[0]!.value as number) * 3) | 0));
          continue;
        }
        // Out of fuel: exactly everything given so far was not enough for the next block.
        expect(vm.fuelConsumed).toBeLessThanOrEqual(given);
        seen.push(vm.fuelConsumed);
        vm.addFuel(refill);
        given += refill;
        outcome = await vm.runAsync(null);
      }
      expect(expected.type).toBe('returned');
      expect(outcome).toEqual({ type: 'finished', value: WasmValue.i32(Number((expected as { value: string }).value.slice(2))) });
      expect(vm.fuelConsumed).toBe(total);
      if (budget >= total) expect(seen).toEqual([]);
      else expect(seen.length).toBeGreaterThan(0);
      prototype = vm.intoPrototype();
    }
  });

  test('fuel is reset at each start, never on resume, and intoPrepare keeps nothing of it', async () => {
    const proto = await createOn(backend, { moduleBytes: await wat(ENDLESS), symbols, fuel: true });
    let vm: VirtualMachine = proto.prepare().start('work', [WasmValue.i32(150)], { fuel: 10n ** 6n });
    const first = await runToCompletion(vm, () => WasmValue.i32(1));
    expect(first.type).toBe('finished');
    const used = vm.fuelConsumed;
    expect(used).toBeGreaterThan(150n * 10n);
    vm = vm.intoPrepare().start('work', [WasmValue.i32(150)], { fuel: used });
    // Exactly enough: the same call again consumes the same, from a fresh budget.
    expect(await runToCompletion(vm, () => WasmValue.i32(1))).toEqual(first);
    expect(vm.fuelConsumed).toBe(used);
    // One unit short: out of fuel at the very end, refilled by runToCompletion's handler.
    vm = vm.intoPrepare().start('work', [WasmValue.i32(150)], { fuel: used - 1n });
    const asked: bigint[] = [];
    const refilled = await runToCompletion(vm, () => WasmValue.i32(1), {
      onOutOfFuel: (consumed) => {
        asked.push(consumed);
        return 1n;
      },
    });
    expect(refilled).toEqual(first);
    expect(asked.length).toBe(1);
    expect(vm.fuelConsumed).toBe(used);
  });

  test('runToCompletion without a refill rejects with RunError OutOfFuel and leaves the call paused, resumable', async () => {
    const proto = await createOn(backend, { moduleBytes: await wat(ENDLESS), symbols, fuel: true });
    const vm = proto.prepare().start('work', [WasmValue.i32(500)], { fuel: 1000n });
    const failure = await runToCompletion(vm, () => WasmValue.i32(2)).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(RunError);
    expect((failure as RunError).kind).toBe('OutOfFuel');
    // A promise answer from onOutOfFuel, and a 0n that stops again.
    vm.addFuel(500n);
    let calls = 0;
    const stopped = await runToCompletion(vm, () => WasmValue.i32(2), { onOutOfFuel: async () => (++calls < 3 ? 100n : 0n) }).catch(
      (e: unknown) => e,
    );
    expect((stopped as RunError).kind).toBe('OutOfFuel');
    expect(calls).toBe(3);
    const done = await runToCompletion(vm, () => WasmValue.i32(2), { onOutOfFuel: () => 10n ** 9n });
    expect(done.type).toBe('finished');
  });

  test('the state machine: resume with null only, no transition while out of fuel but intoPrototype, misuse refused', async () => {
    const proto = await createOn(backend, { moduleBytes: await wat(ENDLESS), symbols, fuel: true });
    const vm = proto.prepare().start('work', [WasmValue.i32(10)]);
    // No budget: out of fuel before the first block.
    expect(await vm.runAsync(null)).toEqual({ type: 'outOfFuel' });
    expect(vm.fuelConsumed).toBe(0n);
    await expect(vm.runAsync(WasmValue.i32(1))).rejects.toMatchObject({ kind: 'BadValueType' });
    expect(() => vm.intoPrepare()).toThrow(expect.objectContaining({ kind: 'CallInProgress' }));
    expect(() => vm.addFuel(-1n)).toThrow(expect.objectContaining({ kind: 'InvalidArgument' }));
    expect(() => vm.addFuel(5 as unknown as bigint)).toThrow(expect.objectContaining({ kind: 'InvalidArgument' }));
    expect(() => vm.addFuel((1n << 63n) - 1n)).not.toThrow();
    expect(() => vm.addFuel(1n)).toThrow(expect.objectContaining({ kind: 'InvalidArgument' }));
    // Out of fuel still (the refill above is far more than enough: the call goes on).
    const done = await runToCompletion(vm, () => WasmValue.i32(0));
    expect(done.type).toBe('finished');
    const next = vm.intoPrototype().prepare();
    expect(() => next.start('work', [WasmValue.i32(1)], { fuel: -1n })).toThrow(expect.objectContaining({ kind: 'InvalidArgument' }));
    expect(() => next.start('work', [WasmValue.i32(1)], 5 as never)).toThrow(UsageError);
    // Nothing was consumed by the refusals.
    expect(next.start('work', [WasmValue.i32(1)], { fuel: 10n ** 6n })).toBeDefined();
  });

  test('a prototype without fuel refuses every fuel operation', async () => {
    const proto = await createOn(backend, { moduleBytes: await wat(ENDLESS), symbols });
    const prepare = proto.prepare();
    expect(() => prepare.start('work', [WasmValue.i32(1)], { fuel: 5n })).toThrow(expect.objectContaining({ kind: 'FuelNotEnabled' }));
    const vm = prepare.start('work', [WasmValue.i32(1)]);
    expect(() => vm.fuelConsumed).toThrow(expect.objectContaining({ kind: 'FuelNotEnabled' }));
    expect(() => vm.addFuel(1n)).toThrow(expect.objectContaining({ kind: 'FuelNotEnabled' }));
  });

  test('a hostile guest cannot reach the counters: not by globalValue, not by its own exports or globals', async () => {
    // The guest exports globals named like the counters' exports and writes every global it has.
    const bytes = await wat(`(module
      (global $g (export "f") (mut i64) (i64.const 0))
      (global $h (export "h") (mut i32) (i32.const 0))
      (memory (export "memory") 1)
      (func (export "reset") (result i32) (local $i i32)
        i64.const 9223372036854775807 global.set $g
        i32.const 0 global.set $h
        loop local.get $i i32.const 1 i32.add local.tee $i i32.const 100 i32.lt_u br_if 0 end
        local.get $i))`);
    const proto = await createOn(backend, { moduleBytes: bytes, symbols: () => null, fuel: true, maxStackHeight: 100 });
    expect(proto.globalValue('h')).toBe(0);
    const vm = proto.prepare().start('reset', [], { fuel: 50n });
    const outcome = await runToCompletion(vm, () => null, { onOutOfFuel: () => 50n });
    expect(outcome).toEqual({ type: 'finished', value: WasmValue.i32(100) });
    // The guest set its own "f" to the maximum: the call's fuel is untouched by it.
    const consumed = vm.fuelConsumed;
    expect(consumed).toBeGreaterThan(100n * 5n);
    expect(consumed).toBeLessThan(10_000n);
  });
});
