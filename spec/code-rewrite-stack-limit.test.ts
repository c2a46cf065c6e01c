/**
 * The logical stack limit (`maxStackHeight`, `lib/transform/stack-limit.ts`): function costs as
 * documented, a trap at exactly the depth the costs and the limit give (through direct calls,
 * exports, tables and the start function), the height back to 0 after a call, and results equal
 * to the plain guest's under the limit. The counter across an Asyncify pause is in
 * `code-rewrite-asyncify.test.ts`.
 */
import { rewriteCode } from '../lib/transform/code-rewrite.js';
import { FRAME_COST } from '../lib/transform/stack-limit.js';
import { Guest, StackLimitExceeded } from './support/rewrite-harness.js';
import { wat } from './support/wat.js';

const RECURSION = `(module
  (type $t (func (param i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $rec $viaTable)
  ;; cost: FRAME_COST + 1 parameter + 0 locals + height 2 (local.get, i32.const before i32.sub)
  (func $rec (export "rec") (param $n i32) (result i32)
    local.get $n i32.eqz
    if (result i32) i32.const 0
    else local.get $n i32.const 1 i32.sub call $rec i32.const 1 i32.add end)
  ;; the same through the table: cost FRAME_COST + 1 + 0 + 2 (local.get, i32.const, then the table index)
  (func $viaTable (export "viaTable") (param $n i32) (result i32)
    local.get $n i32.eqz
    if (result i32) i32.const 0
    else local.get $n i32.const 1 i32.sub i32.const 1 call_indirect (type $t) end)
  (func (export "table") (param i32 i32) (result i32) local.get 1 local.get 0 call_indirect (type $t))
)`;

describe('stack limit: the cost of a function', () => {
  test('FRAME_COST + parameters + declared locals + the most values its operand stack holds', async () => {
    const bytes = await wat(`(module
      (type $pair (func (param i32 i32) (result i32)))
      (func $leaf)
      (func $f (param i32 i64) (local f32 f64 i32)
        i32.const 1 i32.const 2 i32.const 3 i32.add i32.add drop)
      (func $blocks (param i32) (result i32)
        ;; a block with parameters keeps them on the stack: 2, then 3 inside, then 1
        i32.const 1 i32.const 2 block (type $pair) i32.const 3 i32.add i32.add end)
      (func $dead (result i32)
        ;; unreachable code is not counted
        i32.const 1 return i32.const 1 i32.const 2 i32.const 3 i32.const 4 drop drop drop)
      (func $calls (result i32)
        ;; the callee's results count when they are pushed
        i32.const 1 call $pairs drop drop)
      (func $pairs (param i32) (result i32 i32) local.get 0 local.get 0))`);
    const rewritten = rewriteCode(bytes, { maxStackHeight: 1000 });
    const costs = Array.from(rewritten.stack!.costs);
    expect(costs).toEqual([
      FRAME_COST + 0 + 0 + 0,
      FRAME_COST + 2 + 3 + 3,
      FRAME_COST + 1 + 0 + 3,
      FRAME_COST + 0 + 0 + 1,
      FRAME_COST + 0 + 0 + 2,
      FRAME_COST + 1 + 0 + 2,
    ]);
  });
});

describe('stack limit: traps at exactly the depth the costs give', () => {
  const cost = FRAME_COST + 1 + 2;
  // (The deepest recursion here, 6,000 frames, stays far from the engine's own stack limit.)
  for (const limit of [cost, 100, 1000, 12_345, 30_000]) {
    test(`limit ${limit}: direct recursion, through the table, and entered through the table`, async () => {
      const bytes = await wat(RECURSION);
      const plain = new Guest(bytes);
      const limited = new Guest(bytes, { rewrite: { maxStackHeight: limit } });
      expect(limited.rewritten!.stack!.costs[0]).toBe(cost);
      expect(limited.rewritten!.stack!.costs[1]).toBe(cost);
      // rec(n) has n + 1 frames: it fits iff (n + 1) * cost <= limit.
      const deepest = Math.floor(limit / cost) - 1;
      for (const name of ['rec', 'viaTable']) {
        expect(limited.call(name, deepest)).toEqual(plain.call(name, deepest));
        expect(limited.height).toBe(0);
        expect(limited.call(name, deepest + 1)).toEqual({ type: 'stack-limit' });
        // A trap leaves the height it reached, the refused frame included: the VM sets it to 0
        // before each call it starts.
        expect(limited.height).toBe((deepest + 2) * cost);
        (limited.instance.exports['h'] as WebAssembly.Global).value = 0;
      }
      // Entered through the exported `table` function (cost FRAME_COST + 2 + 0 + 2) into the table.
      const entry = FRAME_COST + 2 + 2;
      const viaTable = Math.floor((limit - entry) / cost) - 1;
      if (viaTable >= 0) expect(limited.call('table', 0, viaTable)).toEqual(plain.call('table', 0, viaTable));
      expect(limited.call('table', 0, viaTable + 1)).toEqual({ type: 'stack-limit' });
    });
  }

  test('a function whose own cost passes the limit can never be called', async () => {
    const bytes = await wat(`(module
      (func $big (export "big") (result i32) (local ${'i64 '.repeat(40)}) i32.const 7)
      (func (export "callsBig") (result i32) call $big))`);
    const limited = new Guest(bytes, { rewrite: { maxStackHeight: 30 } });
    expect(limited.rewritten!.stack!.costs[0]).toBe(FRAME_COST + 40 + 1);
    expect(limited.call('big')).toEqual({ type: 'stack-limit' });
    expect(limited.call('callsBig')).toEqual({ type: 'stack-limit' });
    expect(new Guest(bytes, { rewrite: { maxStackHeight: 43 } }).call('big')).toEqual({ type: 'returned', value: 'n:7' });
  });

  test('the start function is counted (its frame counts itself, as every function does)', async () => {
    const source = (n: number): string => `(module
      (func $rec (param $n i32) (result i32)
        local.get $n i32.eqz if (result i32) i32.const 0 else local.get $n i32.const 1 i32.sub call $rec end)
      (func $start i32.const ${n} call $rec drop)
      (start $start))`;
    // $start: FRAME_COST + height 1; $rec: FRAME_COST + 1 + height 2; rec(n) has n + 1 frames.
    const limit = 200;
    const start = FRAME_COST + 1;
    const rec = FRAME_COST + 1 + 2;
    const deepest = Math.floor((limit - start) / rec) - 1;
    await expect(wat(source(deepest)).then((b) => new Guest(b, { rewrite: { maxStackHeight: limit } }))).resolves.toBeInstanceOf(Guest);
    await expect(wat(source(deepest + 1)).then((b) => new Guest(b, { rewrite: { maxStackHeight: limit } }))).rejects.toBeInstanceOf(
      StackLimitExceeded,
    );
  });

  test('an export and the same function in a table are the same JavaScript function, as in the plain guest', async () => {
    const bytes = await wat(RECURSION.replace('(table 2 funcref)', '(table (export "tbl") 2 funcref)'));
    for (const guest of [new Guest(bytes), new Guest(bytes, { rewrite: { maxStackHeight: 1000 } })]) {
      const table = guest.instance.exports['tbl'] as WebAssembly.Table;
      expect(table.get(0)).toBe(guest.instance.exports['rec']);
    }
  });

  test('a function put in a table at run time by ref.func is counted', async () => {
    const bytes = await wat(`(module
      (type $t (func (param i32) (result i32)))
      (table 1 funcref)
      (elem declare func $rec)
      (func $rec (param $n i32) (result i32)
        local.get $n i32.eqz if (result i32) i32.const 0
        else local.get $n i32.const 1 i32.sub i32.const 0 call_indirect (type $t) end)
      (func (export "run") (param i32) (result i32)
        i32.const 0 ref.func $rec table.set
        local.get 0 i32.const 0 call_indirect (type $t)))`);
    const rec = FRAME_COST + 1 + 2;
    const run = FRAME_COST + 1 + 2;
    const limit = 500;
    const limited = new Guest(bytes, { rewrite: { maxStackHeight: limit } });
    const deepest = Math.floor((limit - run) / rec) - 1;
    expect(limited.call('run', deepest)).toEqual({ type: 'returned', value: 'n:0' });
    expect(limited.call('run', deepest + 1)).toEqual({ type: 'stack-limit' });
  });
});

describe('stack limit: everything else as the plain guest', () => {
  test('results, memory and the height back at 0 after every call that returns', async () => {
    const bytes = await wat(`(module
      (memory (export "mem") 1)
      (func $fib (export "fib") (param i32) (result i32)
        local.get 0 i32.const 2 i32.lt_u
        if (result i32) local.get 0
        else local.get 0 i32.const 1 i32.sub call $fib local.get 0 i32.const 2 i32.sub call $fib i32.add end)
      (func (export "fill") (param i32) (local i32)
        loop local.get 1 i32.const 4 i32.mul local.get 1 call $fib i32.store
          local.get 1 i32.const 1 i32.add local.tee 1 local.get 0 i32.lt_u br_if 0 end))`);
    const plain = new Guest(bytes);
    const limited = new Guest(bytes, { rewrite: { maxStackHeight: 10_000 } });
    for (const n of [0, 1, 5, 20]) {
      expect(limited.call('fib', n)).toEqual(plain.call('fib', n));
      expect(limited.height).toBe(0);
    }
    expect(limited.call('fill', 22)).toEqual(plain.call('fill', 22));
    expect(Buffer.compare(limited.guestBytes(), plain.guestBytes())).toBe(0);
    expect(limited.height).toBe(0);
  });
});
