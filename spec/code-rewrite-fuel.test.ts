/**
 * Fuel (`fuel`, `lib/transform/fuel-metering.ts`): the documented unit on hand-counted programs,
 * consumption independent of when the guest runs out and how the host refills, results equal to
 * the plain guest's, and an endless loop that stops.
 *
 * The host here is the test harness: its `i.fuel` import adds what a refill policy says (or
 * throws when it says 0, ending the call as a host that stops a guest would), synchronously; the
 * pause through Asyncify is in `code-rewrite-asyncify.test.ts`.
 */
import { RewriteError, rewriteCode } from '../lib/transform/code-rewrite.js';
import { MAX_BLOCK_COST } from '../lib/transform/fuel-metering.js';
import { Prng } from '../fuzz/differential/prng.js';
import { Guest, type RefillPolicy } from './support/rewrite-harness.js';
import { wat } from './support/wat.js';

const WORKLOAD = `(module
  (memory (export "mem") 1 2)
  (data (i32.const 0) "fuel")
  (func $fib (export "fib") (param i32) (result i32)
    local.get 0 i32.const 2 i32.lt_u
    if (result i32) local.get 0
    else local.get 0 i32.const 1 i32.sub call $fib local.get 0 i32.const 2 i32.sub call $fib i32.add end)
  (func $loop (export "count") (param $n i32) (result i32) (local $i i32)
    block loop
      local.get $i local.get $n i32.ge_u br_if 1
      local.get $i i32.const 4 i32.mul local.get $i i32.const 1 i32.add i32.store offset=64
      local.get $i i32.const 1 i32.add local.set $i
      br 0
    end end
    local.get $i)
  (func (export "bulk") (param $d i32) (param $n i32)
    local.get $d i32.const 7 local.get $n memory.fill
    local.get $d i32.const 100 i32.add local.get $d local.get $n memory.copy)
  (table 2 funcref)
  (elem (i32.const 0) $fib $loop)
  (type $unary (func (param i32) (result i32)))
  (func (export "indirect") (param i32 i32) (result i32) local.get 1 local.get 0 call_indirect (type $unary))
  (func (export "work") (result i32)
    i32.const 15 call $fib
    i32.const 300 call $loop i32.add
    i32.const 1000 i32.const 5000 call 2
    i32.const 1 i32.const 10 call 3 i32.add)
)`;

/** Refill policies: how much the host adds when a block of `cost` cannot be paid with `left`. */
const POLICIES: Readonly<Record<string, RefillPolicy>> = {
  'exactly what is missing': (cost, left) => cost - left,
  'one unit at a time (the block asks again until paid)': () => 1n,
  'a lot at once': () => 1_000_000n,
};

function randomPolicy(seed: number): RefillPolicy {
  const prng = new Prng(seed);
  return () => BigInt(1 + prng.below(prng.oneIn(3) ? 5000 : 40));
}

/** Fuel consumed by a guest that started with `initial` fuel. */
function consumed(guest: Guest, initial: bigint): bigint {
  return initial + guest.refilled - guest.fuelLeft;
}

describe('fuel: the unit', () => {
  /** Runs `name(args)` with plenty of fuel; returns what it consumed. */
  async function cost(source: string, name: string, ...args: unknown[]): Promise<bigint> {
    const guest = new Guest(await wat(source), { rewrite: { fuel: true }, fuel: 1_000_000n });
    const outcome = guest.call(name, ...args);
    if (outcome.type !== 'returned') throw new Error(`${name}: ${JSON.stringify(outcome)}`);
    return consumed(guest, 1_000_000n);
  }

  test('1 per instruction; block, loop, else, end and nop cost nothing', async () => {
    expect(await cost('(module (func (export "run") (result i32) i32.const 1 i32.const 2 i32.add))', 'run')).toBe(3n);
    expect(await cost('(module (func (export "run") nop block nop end loop end))', 'run')).toBe(0n);
    // if: the condition (2) and the if itself (1); the taken arm's instructions; else/end free.
    const branchy = '(module (func (export "run") (param i32) (result i32) local.get 0 if (result i32) i32.const 1 i32.const 2 i32.add else i32.const 9 end))';
    expect(await cost(branchy, 'run', 1)).toBe(2n + 3n);
    expect(await cost(branchy, 'run', 0)).toBe(2n + 1n);
    // A call: the call instruction and the callee's code.
    expect(await cost('(module (func $g (result i32) i32.const 5) (func (export "run") (result i32) call $g i32.const 1 i32.add))', 'run')).toBe(3n + 1n);
  });

  test('a loop pays its body at every iteration, and the code after a br_if with it (its fall-through is not a block of its own)', async () => {
    // Each iteration: the test (local.get, local.get, i32.ge_u, br_if: 4), the store (7), the
    // increment (4) and the br (1), all one block: the last iteration pays it all although its
    // br_if leaves after 4. `block` and `loop` are free; after the loop, local.get $i: 1.
    const body = 16n;
    expect(await cost(WORKLOAD, 'count', 0)).toBe(body + 1n);
    expect(await cost(WORKLOAD, 'count', 1)).toBe(2n * body + 1n);
    expect(await cost(WORKLOAD, 'count', 100)).toBe(101n * body + 1n);
  });

  test('bulk memory pays 1 per 64 bytes besides the instruction', async () => {
    // local.get, i32.const, local.get, memory.fill; local.get, i32.const, i32.add, local.get, local.get, memory.copy.
    const base = 10n;
    for (const [n, extra] of [[0, 0n], [1, 2n], [64, 2n], [65, 4n], [6400, 200n]] as const) {
      expect(await cost(WORKLOAD, 'bulk', 0, n)).toBe(base + extra);
    }
  });

  test('a block of more than 8191 units is split (its cost fits the LEB128 reserved for it)', async () => {
    const body = 'i32.const 1 drop '.repeat(6000);
    const source = `(module (func (export "run") ${body}))`;
    expect(await cost(source, 'run')).toBe(12000n);
    const rewritten = rewriteCode(await wat(source), { fuel: true, offsetMap: true });
    // Two charges: 8191 units, then the rest.
    expect(rewritten.offsetMap!.guest.length).toBe(2);
    expect(MAX_BLOCK_COST).toBe(8191);
  });
});

describe('fuel: the same consumption however the guest runs out and is refilled', () => {
  for (const [name, policy] of [...Object.entries(POLICIES), ['random amounts', randomPolicy(5)] as const]) {
    test(`${name}, starting from every amount of fuel from 0 to 60, and around the total`, async () => {
      const bytes = await wat(WORKLOAD);
      const plain = new Guest(bytes);
      const expected = plain.call('work');
      expect(expected.type).toBe('returned');
      const reference = new Guest(bytes, { rewrite: { fuel: true }, fuel: 10n ** 12n });
      expect(reference.call('work')).toEqual(expected);
      const total = consumed(reference, 10n ** 12n);
      expect(total).toBeGreaterThan(10_000n);
      const amounts = [...Array.from({ length: 61 }, (_, i) => BigInt(i)), 299n, total - 1n, total, total + 1n];
      for (const initial of amounts) {
        const guest = new Guest(bytes, { rewrite: { fuel: true }, fuel: initial, refill: policy });
        expect(guest.call('work')).toEqual(expected);
        expect({ initial, consumed: consumed(guest, initial) }).toEqual({ initial, consumed: total });
        expect(Buffer.compare(guest.guestBytes(), plain.guestBytes())).toBe(0);
        if (initial < total) expect(guest.outOfFuel).toBeGreaterThan(0);
      }
    });
  }

  test('the guest stops before the block it cannot pay: with n units, exactly the blocks that fit have run', async () => {
    const bytes = await wat(WORKLOAD);
    // Iteration i of `count` stores i + 1; the guest is stopped (the host refuses) when the fuel
    // runs out, and its memory shows how many iterations ran: each is a block of 16.
    const body = 16;
    for (let fuel = 0; fuel < 400; fuel += 7) {
      const guest = new Guest(bytes, { rewrite: { fuel: true }, fuel: BigInt(fuel) });
      const outcome = guest.call('count', 1000);
      expect(outcome.type).toBe('error');
      const words = new Int32Array(guest.guestBytes().buffer, 64, 100);
      const ran = words.filter((w) => w !== 0).length;
      words.subarray(0, ran).forEach((w, i) => expect(w).toBe(i + 1));
      expect({ fuel, ran }).toEqual({ fuel, ran: Math.floor(fuel / body) });
      // What was not spent is still there, less than the block that could not be paid.
      expect(guest.fuelLeft).toBe(BigInt(fuel % body));
    }
  });

  test('an endless loop stops when the host stops refilling, after exactly the fuel it was given', async () => {
    const bytes = await wat('(module (func (export "spin") (loop br 0)))');
    for (const fuel of [0n, 1n, 1000n, 123_457n]) {
      const guest = new Guest(bytes, { rewrite: { fuel: true }, fuel });
      const outcome = guest.call('spin');
      expect(outcome).toEqual({ type: 'error', message: 'Error: out of fuel (a block of cost 1)' });
      expect(guest.fuelLeft).toBe(0n);
    }
    // And with refills, until the host has given a million units.
    const limited = new Guest(bytes, { rewrite: { fuel: true }, fuel: 0n, refill: (_cost, _left) => (limitedGiven < 1_000_000n ? ((limitedGiven += 1000n), 1000n) : 0n) });
    let limitedGiven = 0n;
    expect(limited.call('spin').type).toBe('error');
    expect(limited.refilled).toBe(1_000_000n);
    expect(limited.outOfFuel).toBe(1001);
  });

  test('the counter never goes below zero between blocks, and the guest never runs on credit', async () => {
    const bytes = await wat(WORKLOAD);
    let lowest = 0n;
    const guest = new Guest(bytes, {
      rewrite: { fuel: true },
      fuel: 0n,
      refill: (cost, left) => {
        // At the pause the block is not paid: what is left is less than its cost, never negative.
        if (left < 0n || left >= cost) throw new Error(`paused with ${left} left for a block of ${cost}`);
        if (left < lowest) lowest = left;
        return 3n;
      },
    });
    expect(guest.call('work')).toEqual(new Guest(bytes).call('work'));
    expect(lowest).toBe(0n);
  });

  test('the module imports fuel and exports its counter under the ABI names; a guest using those names is refused', async () => {
    const bytes = await wat(WORKLOAD);
    const rewritten = rewriteCode(bytes, { fuel: true });
    const module = new WebAssembly.Module(rewritten.bytes as Uint8Array<ArrayBuffer>);
    expect(WebAssembly.Module.imports(module)).toEqual([{ module: 'i', name: 'fuel', kind: 'function' }]);
    expect(WebAssembly.Module.exports(module).map((e) => e.name)).toContain('f');
    expect(rewritten.fuel).toMatchObject({ import: { module: 'i', name: 'fuel' }, importIndex: 0, counterExport: 'f' });
    await expect(wat('(module (import "i" "fuel" (func)))').then((b) => rewriteCode(b, { fuel: true }))).rejects.toThrow(RewriteError);
    await expect(wat('(module (global (export "f") i32 (i32.const 0)))').then((b) => rewriteCode(b, { fuel: true }))).rejects.toThrow(RewriteError);
  });
});
