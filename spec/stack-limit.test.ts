/**
 * The logical stack limit through the public API (`VmConfig.maxStackHeight`), on both backends:
 * a trap of its own kind (`StackLimitExceeded`) at exactly the depth the documented costs give,
 * the same with pauses deep in the recursion, the height reset at each call start, backtraces
 * naming the guest's own functions through the rewrite's index shift; the engine's own limit
 * still `StackExhausted`; and the default limit (`DEFAULT_MAX_STACK_HEIGHT`) trapping before the
 * engine's stack runs out, for frames of every shape (`support/stack-shapes.ts`), with the
 * margin measured here reported (see `docs/features.md`).
 *
 * The costs themselves are specified on the rewriter in `code-rewrite-stack-limit.test.ts`.
 */
import { DEFAULT_MAX_STACK_HEIGHT, WasmValue, runToCompletion } from '../lib/index.js';
import { rewriteCode } from '../lib/transform/code-rewrite.js';
import { BACKENDS, createOn } from './support/backends.js';
import { STACK_SHAPES, deepestFinishing, shapeRunner } from './support/stack-shapes.js';
import { wat } from './support/wat.js';

/** `rec(n)`: n frames deep, pausing at `env.leaf` at the bottom, `env.tick` at every 10th frame. */
const RECURSION = `(module
  (import "env" "leaf" (func $leaf (result i32)))
  (import "env" "tick" (func $tick (param i32)))
  (memory (export "memory") 1)
  (func $rec (param $n i32) (result i32) (local $keep i32)
    local.get $n i32.const 3 i32.mul local.set $keep
    local.get $n i32.const 10 i32.rem_u i32.eqz if local.get $n call $tick end
    local.get $n
    if (result i32) local.get $n i32.const 1 i32.sub call $rec
    else call $leaf end
    local.get $keep i32.add)
  (func (export "rec") (param $n i32) (result i32) local.get $n call $rec)
  (func (export "crash") (param $n i32) (result i32)
    local.get $n if (result i32) local.get $n i32.const 1 i32.sub call 4 else unreachable end))`;

const symbols = (_module: string, name: string): number | null => (name === 'leaf' ? 1 : name === 'tick' ? 2 : null);

/** The rewriter's cost of the guest's functions (by guest index): what the limit counts. */
async function costs(source: string): Promise<Int32Array> {
  return rewriteCode(await wat(source), { maxStackHeight: 1 << 20 }).stack!.costs;
}

describe.each(BACKENDS)('the logical stack limit on %s', (backend) => {
  test('traps with StackLimitExceeded at exactly the depth the costs give, paused or not on the way', async () => {
    const [, , rec, entry] = Array.from(await costs(RECURSION));
    // rec(n) has n + 1 frames of $rec under the export's frame.
    const heightAt = (n: number): number => entry! + (n + 1) * rec!;
    const limit = heightAt(57);
    const proto = await createOn(backend, { moduleBytes: await wat(RECURSION), symbols, maxStackHeight: limit });
    let prototype = proto;
    const run = async (n: number): Promise<string> => {
      const vm = prototype.prepare().start('rec', [WasmValue.i32(n)]);
      let ticks = 0;
      const outcome = await runToCompletion(vm, ({ name }) => (name === 'leaf' ? WasmValue.i32(5) : (ticks++, null)));
      prototype = vm.intoPrototype();
      if (outcome.type === 'finished') return `finished ${outcome.value!.value as number} after ${ticks} ticks`;
      return `${outcome.trap.kind} after ${ticks} ticks`;
    };
    const expectedSum = (n: number): number => 5 + (3 * n * (n + 1)) / 2;
    expect(await run(57)).toBe(`finished ${expectedSum(57)} after 6 ticks`);
    // One frame more: the limit, after the pauses on the way down (ticks at 50, 40, ..., 10).
    expect(await run(58)).toBe('StackLimitExceeded after 5 ticks');
    // 58 frames of $rec fit: rec(500)'s are n = 500 .. 443 (ticks at 500, 490, ..., 450).
    expect(await run(500)).toBe('StackLimitExceeded after 6 ticks');
    // The height is back to 0 at each start: the same call fits again.
    expect(await run(57)).toBe(`finished ${expectedSum(57)} after 6 ticks`);
  });

  test('the trap names the guest frames by their own indices (the rewrite moved them), and intoPrepare keeps the instance usable', async () => {
    const proto = await createOn(backend, { moduleBytes: await wat(RECURSION, { names: true }), symbols, maxStackHeight: 200, fuel: true });
    const vm = proto.prepare().start('rec', [WasmValue.i32(100)], { fuel: 10n ** 9n });
    const outcome = await runToCompletion(vm, ({ name }) => (name === 'leaf' ? WasmValue.i32(0) : null));
    expect(outcome.type).toBe('trapped');
    if (outcome.type !== 'trapped') return;
    expect(outcome.trap.kind).toBe('StackLimitExceeded');
    expect(outcome.trap.message).toMatch(/maxStackHeight \(200 units\)/);
    const frames = outcome.trap.frames;
    expect(frames.length).toBeGreaterThan(2);
    // Function 2 is $rec in the guest's own index space (two imports first); the rewrite's imports are left out.
    expect(frames.every((f) => f.functionIndex === 2 || f.functionIndex === 3)).toBe(true);
    expect(frames[0]!.functionIndex).toBe(2);
    expect(frames[0]!.functionName).toBe('rec');
    // An ordinary trap's frames are mapped the same way.
    const next = vm.intoPrepare().start('crash', [WasmValue.i32(3)], { fuel: 10n ** 9n });
    const crash = await runToCompletion(next, () => null);
    expect(crash.type === 'trapped' && crash.trap.kind).toBe('Unreachable');
    if (crash.type === 'trapped') expect(crash.trap.frames.map((f) => f.functionIndex)).toEqual([4, 4, 4, 4]);
  });

  test("past the engine's own stack (a limit too large for it), the trap is still StackExhausted", async () => {
    const proto = await createOn(backend, { moduleBytes: await wat(RECURSION), symbols, maxStackHeight: 0x7fff_ffff });
    const vm = proto.prepare().start('rec', [WasmValue.i32(5_000_000)]);
    const outcome = await runToCompletion(vm, ({ name }) => (name === 'leaf' ? WasmValue.i32(0) : null));
    expect(outcome.type === 'trapped' && outcome.trap.kind).toBe('StackExhausted');
  });

  test('the default limit traps before the engine stack runs out, for every frame shape; margin measured', async () => {
    const lines: string[] = [];
    for (const shape of STACK_SHAPES) {
      const bytes = await wat(shape.source);
      const shapeCosts = await costs(shape.source);
      const [cost, entry] = [shapeCosts[1]!, shapeCosts[2]!];
      // With every option on: Asyncify instruments every function that pays fuel (larger frames).
      const options = { maxStackHeight: DEFAULT_MAX_STACK_HEIGHT, fuel: true, canonicalizeNaNs: true };
      const limited = await shapeRunner(bytes, backend, options);
      const fits = Math.floor((DEFAULT_MAX_STACK_HEIGHT - entry) / cost) - 1;
      expect(`${shape.name}: ${await limited.recurse(fits)}`).toBe(`${shape.name}: finished`);
      expect(`${shape.name}: ${await limited.recurse(fits + 1)}`).toBe(`${shape.name}: StackLimitExceeded`);
      expect(`${shape.name}: ${await limited.recurse(fits * 50)}`).toBe(`${shape.name}: StackLimitExceeded`);
      // The same code with a limit it never reaches: how far the engine's own stack goes, in units.
      const unlimited = await shapeRunner(bytes, backend, { ...options, maxStackHeight: 0x7fff_ffff });
      const deepest = await deepestFinishing(unlimited, 1 << 20);
      const units = entry + (deepest + 1) * cost;
      lines.push(`${backend} ${shape.name} (cost ${cost}): the engine's stack holds ${units} units, ${(units / DEFAULT_MAX_STACK_HEIGHT).toFixed(1)}x the default`);
      expect(units).toBeGreaterThan(DEFAULT_MAX_STACK_HEIGHT);
    }
    console.log(lines.join('\n'));
  });
});
