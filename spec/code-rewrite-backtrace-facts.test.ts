/**
 * What backtraces need of a rewritten module (`RewrittenCode.functions`, `.offsetMap`,
 * `.bodyStarts`): a trap in the rewritten module, read from the engine's stack trace, must name
 * the same guest functions at the same guest offsets as the same trap in the plain module, frame
 * for frame (the rewrite's own function, `$out_of_fuel`, left out). Checked for traps of every
 * kind the rewrites touch: an out-of-bounds access under the memory shift, a division,
 * `unreachable`, a `call_indirect` to nothing, and the traps the rewrites add (the stack limit's,
 * at the first instruction of the function that could not be entered; running out of fuel, at
 * the guest's first instruction of the block), with every rewrite on, so that function indices
 * move.
 */
import { functionBodyStarts } from '../lib/load/debug-info.js';
import { type RewrittenCode, guestFunctionIndex, rewriteCode } from '../lib/transform/code-rewrite.js';
import { wat } from './support/wat.js';

/** One wasm frame of a stack trace: the module's function index and the byte offset. */
interface Frame {
  readonly index: number;
  readonly offset: number;
}

/** The wasm frames of `error`, innermost first, from V8's structured stack trace. */
function wasmFrames(error: unknown, bodyStarts: Uint32Array, imported: number): Frame[] {
  const frames = (error as { frames?: NodeJS.CallSite[] }).frames ?? [];
  return frames
    .filter((site) => site.getFileName()?.startsWith('wasm://') === true)
    .map((site) => {
      const offset = site.getColumnNumber()! - 1;
      let found = -1;
      for (let i = 0; i < bodyStarts.length; i++) if (bodyStarts[i]! <= offset) found = i;
      return { index: imported + found, offset };
    });
}

/** Calls `fn`, which must throw; returns the error with its V8 call sites in `frames`. */
function thrown(fn: () => unknown): unknown {
  const previous = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = Infinity;
  Error.prepareStackTrace = (error, sites) => {
    (error as { frames?: NodeJS.CallSite[] }).frames = sites;
    return String(error);
  };
  try {
    fn();
  } catch (e) {
    void (e as Error).stack; // formats the trace now, while our prepareStackTrace is in place
    return e;
  } finally {
    Error.prepareStackTrace = previous;
    Error.stackTraceLimit = limit;
  }
  throw new Error('did not throw');
}

/** Frames mapped back to the guest: function index and offset (null where the map has none). */
function guestFrames(frames: readonly Frame[], rewritten: RewrittenCode): { index: number; offset: number | null }[] {
  const map = rewritten.offsetMap!;
  const result: { index: number; offset: number | null }[] = [];
  for (const frame of frames) {
    const index = guestFunctionIndex(rewritten.functions, frame.index);
    if (index === null) continue;
    let offset: number | null = null;
    let lo = 0;
    let hi = map.engine.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (map.engine[mid] === frame.offset) {
        offset = map.guest[mid]!;
        break;
      }
      if (map.engine[mid]! < frame.offset) lo = mid + 1;
      else hi = mid - 1;
    }
    result.push({ index, offset });
  }
  return result;
}

const SOURCE = `(module
  (import "env" "log" (func $log (param i32)))
  (import "env" "mark" (func $mark))
  (memory 1)
  (table 2 funcref)
  (elem (i32.const 0) $divide)
  (type $t (func (param i32) (result i32)))
  (func $load (param i32) (result i32) local.get 0 i32.load offset=8)
  (func $divide (param i32) (result i32) i32.const 100 local.get 0 i32.div_u)
  (func $fail (param i32) (result i32) local.get 0 i32.eqz if unreachable end local.get 0)
  (func $nested (export "nested") (param i32 i32) (result i32)
    call $mark
    local.get 0 i32.const 0 i32.eq if (result i32) local.get 1 call $load
    else local.get 0 i32.const 1 i32.eq if (result i32) local.get 1 call $divide
    else local.get 0 i32.const 2 i32.eq if (result i32) local.get 1 call $fail
    else local.get 1 local.get 0 call_indirect (type $t) end end end
    local.get 0 call $log)
  (func $deep (export "deep") (param i32) (result i32)
    local.get 0 i32.eqz if (result i32) i32.const 0
    else local.get 0 i32.const 1 i32.sub call $deep i32.const 1 i32.add end))`;

describe('backtrace facts of a rewritten module', () => {
  test('the name section follows the functions: the engine names the guest\'s frames as in the plain module', async () => {
    const bytes = await wat(SOURCE, { names: true });
    const rewritten = rewriteCode(bytes, { fuel: true, maxStackHeight: 10_000, initialFuel: 10n ** 9n });
    const names = (module: Uint8Array, imports: WebAssembly.Imports): string[] => {
      const instance = new WebAssembly.Instance(new WebAssembly.Module(module as Uint8Array<ArrayBuffer>), imports);
      const error = thrown(() => (instance.exports['nested'] as (a: number, b: number) => number)(2, 0));
      return ((error as { frames: NodeJS.CallSite[] }).frames)
        .filter((site) => site.getFileName()?.startsWith('wasm://') === true)
        .map((site) => site.getFunctionName() ?? '?');
    };
    const env = { log: () => {}, mark: () => {} };
    expect(names(bytes, { env })).toEqual(['fail', 'nested']);
    expect(names(rewritten.bytes, { env, i: { fuel: () => {}, stack: () => {} } })).toEqual(['fail', 'nested']);
  });

  test('every trap: the same guest functions and offsets as the plain module, frame for frame', async () => {
    const bytes = await wat(SOURCE);
    const plainStarts = functionBodyStarts(bytes);
    const plain = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), { env: { log: () => {}, mark: () => {} } });
    const rewritten = rewriteCode(bytes, { memoryBase: 2, canonicalizeNaNs: true, fuel: true, maxStackHeight: 10_000, initialFuel: 10n ** 9n, offsetMap: true });
    expect(rewritten.functions).toEqual({ guestImports: 2, addedImports: 2, guestFunctions: 7, functions: 7 + 2 + 1 });
    expect(Array.from(rewritten.bodyStarts)).toEqual(Array.from(functionBodyStarts(rewritten.bytes).bodyStarts));
    // The map is made on request only, and the same options give the same bytes with or without it.
    const again = rewriteCode(bytes, { memoryBase: 2, canonicalizeNaNs: true, fuel: true, maxStackHeight: 10_000, initialFuel: 10n ** 9n });
    expect(again.offsetMap).toBeNull();
    expect(Buffer.compare(again.bytes, rewritten.bytes)).toBe(0);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(rewritten.bytes as Uint8Array<ArrayBuffer>), {
      env: { log: () => {}, mark: () => {} },
      i: { fuel: () => {}, stack: () => {} },
    });
    const cases: readonly [number, number][] = [
      [0, 65530], // out of bounds
      [1, 0], // division by zero
      [2, 0], // unreachable
      [3, 7], // call_indirect to an empty slot
    ];
    for (const [which, argument] of cases) {
      const expected = wasmFrames(
        thrown(() => (plain.exports['nested'] as (a: number, b: number) => number)(which, argument)),
        plainStarts.bodyStarts,
        plainStarts.imported,
      );
      expect(expected.length).toBeGreaterThanOrEqual(1);
      const actual = wasmFrames(
        thrown(() => (instance.exports['nested'] as (a: number, b: number) => number)(which, argument)),
        rewritten.bodyStarts,
        rewritten.functions.guestImports + rewritten.functions.addedImports,
      );
      expect({ which, frames: guestFrames(actual, rewritten) }).toEqual({ which, frames: expected });
    }
  });

  test('the rewrites\' own traps point at the guest instruction they stand for', async () => {
    const bytes = await wat(SOURCE);
    const plainStarts = functionBodyStarts(bytes);
    const limit = rewriteCode(bytes, { maxStackHeight: 1000, offsetMap: true });
    const deepCost = limit.stack!.costs[6]!;
    // The stack limit: its trap is the call of `i.stack` in front of the guest's `call $deep`.
    const limited = new WebAssembly.Instance(new WebAssembly.Module(limit.bytes as Uint8Array<ArrayBuffer>), {
      env: { log: () => {}, mark: () => {} },
      i: {
        stack: () => {
          throw new Error('stack limit');
        },
      },
    });
    const depth = Math.floor(1000 / deepCost);
    const frames = guestFrames(
      wasmFrames(thrown(() => (limited.exports['deep'] as (n: number) => number)(depth)), limit.bodyStarts, 2 + 1),
      limit,
    );
    // The innermost frame is the $deep that could not be entered, at its first instruction; every
    // other is $deep at its recursive call.
    const callOffset = bytes.findIndex((_, i) => i > plainStarts.bodyStarts[6 - 2]! && bytes[i] === 0x10 && bytes[i + 1] === 6);
    const deepEntry = plainStarts.bodyStarts[6 - 2]! + 2; // the body's size and its (empty) locals
    expect(frames.length).toBe(depth + 1);
    expect(frames[0]).toEqual({ index: 6, offset: deepEntry });
    expect(frames.slice(1).every((f) => f.index === 6 && f.offset === callOffset)).toBe(true);

    // Out of fuel: the call of `$out_of_fuel` stands for the first instruction of the block it pays for.
    const metered = rewriteCode(bytes, { fuel: true, offsetMap: true });
    const fuelled = new WebAssembly.Instance(new WebAssembly.Module(metered.bytes as Uint8Array<ArrayBuffer>), {
      env: { log: () => {}, mark: () => {} },
      i: {
        fuel: () => {
          throw new Error('out of fuel');
        },
      },
    });
    const stopped = guestFrames(
      wasmFrames(thrown(() => (fuelled.exports['nested'] as (a: number, b: number) => number)(0, 0)), metered.bodyStarts, 2 + 1),
      metered,
    );
    // $nested's first instruction, `call $mark`, starts its first block.
    const nestedBody = plainStarts.bodyStarts[5 - 2]!;
    const firstInstruction = bytes.indexOf(0x10, nestedBody + 2);
    expect(stopped).toEqual([{ index: 5, offset: firstInstruction }]);
  });
});
