/**
 * Recursive guests of several frame shapes, for the logical stack limit (`VmConfig.maxStackHeight`):
 * how many logical units an engine's native stack holds before it runs out, for the smallest
 * frames a guest can make (the fewest units for the most native bytes) and for large ones, and
 * whether the default limit (`DEFAULT_MAX_STACK_HEIGHT`) traps first. Used by
 * `spec/stack-limit.test.ts` (Node.js), the browser suite (`spec/browser/suite.ts`) and
 * `bench/stack-margin.ts`; plain data in and out, so that a page can run it.
 *
 * Each guest exports `run(n)`, which recurses `n` frames deep into `$r` and calls the pausing
 * import `env.leaf` at the bottom (so that Asyncify instruments the recursion), and returns a
 * value that depends on every frame. The logical height at the bottom is
 * `cost(run) + n * cost($r)`, the costs being the rewriter's (`transform/stack-limit.ts`).
 */
import { type Backend, VirtualMachinePrototype, type VmConfig, WasmValue, runToCompletion } from '../../lib/index.js';

/** A frame shape: its guest in the text format and a few words about it. */
export interface StackShape {
  readonly name: string;
  readonly about: string;
  readonly source: string;
}

const LEAF = '(import "env" "leaf" (func $leaf (result i32)))';

/** The shapes; `minimal` is the fewest units a recursing frame can cost (4), the worst case for the margin. */
export const STACK_SHAPES: readonly StackShape[] = [
  {
    name: 'minimal',
    about: 'no parameter, no local, 2 operands (cost 4): the most native bytes per unit',
    source: `(module ${LEAF}
      (global $d (mut i32) (i32.const 0))
      (func $r (result i32)
        global.get $d
        if (result i32)
          global.get $d i32.const 1 i32.sub global.set $d
          call $r
        else call $leaf end)
      (func (export "run") (param $n i32) (result i32) local.get $n global.set $d call $r))`,
  },
  {
    name: 'parameter',
    about: 'one parameter kept across the call (cost 5)',
    source: `(module ${LEAF}
      (func $r (param $n i32) (result i32)
        local.get $n
        if (result i32) local.get $n i32.const 1 i32.sub call $r local.get $n i32.add
        else call $leaf end)
      (func (export "run") (param $n i32) (result i32) local.get $n call $r))`,
  },
  {
    name: 'locals',
    about: '16 i64 locals live across the call',
    source: `(module ${LEAF}
      (func $r (param $n i32) (result i32) ${Array.from({ length: 16 }, (_, i) => `(local $l${i} i64)`).join(' ')}
        ${Array.from({ length: 16 }, (_, i) => `local.get $n i64.extend_i32_u i64.const ${i + 1} i64.mul local.set $l${i}`).join('\n        ')}
        local.get $n
        if (result i32) local.get $n i32.const 1 i32.sub call $r
        else call $leaf end
        ${Array.from({ length: 16 }, (_, i) => `local.get $l${i} i32.wrap_i64 i32.add`).join(' ')})
      (func (export "run") (param $n i32) (result i32) local.get $n call $r))`,
  },
  {
    name: 'operands',
    about: '24 values on the operand stack across the call',
    source: `(module ${LEAF}
      (func $r (param $n i32) (result i32)
        ${Array.from({ length: 24 }, (_, i) => `local.get $n i32.const ${i} i32.add`).join(' ')}
        local.get $n
        if (result i32) local.get $n i32.const 1 i32.sub call $r
        else call $leaf end
        ${'i32.add '.repeat(24)})
      (func (export "run") (param $n i32) (result i32) local.get $n call $r))`,
  },
  {
    name: 'large',
    about: '6 parameters and 96 f64 locals live across the call',
    source: `(module ${LEAF}
      (func $r (param $n i32) (param f64 f64 f64 f64 f64) (result i32) ${Array.from({ length: 96 }, (_, i) => `(local $l${i} f64)`).join(' ')}
        ${Array.from({ length: 96 }, (_, i) => `local.get $n f64.convert_i32_u f64.const ${i + 1} f64.add local.set $l${i}`).join('\n        ')}
        local.get $n
        if (result i32)
          local.get $n i32.const 1 i32.sub local.get 1 local.get 2 local.get 3 local.get 4 local.get 5 call $r
        else call $leaf end
        ${Array.from({ length: 96 }, (_, i) => `local.get $l${i} i32.trunc_f64_u i32.add`).join(' ')})
      (func (export "run") (param $n i32) (result i32) local.get $n f64.const 1 f64.const 2 f64.const 3 f64.const 4 f64.const 5 call $r))`,
  },
];

/** What a recursion `n` deep ended as. */
export type RecursionEnd = 'finished' | 'StackLimitExceeded' | 'StackExhausted' | `other: ${string}`;

/** A shape's guest on `backend` with the bounds options of `config`. */
export interface ShapeRunner {
  /** Runs `run(n)` to its end (the leaf answered 1). */
  recurse(n: number): Promise<RecursionEnd>;
}

/** A runner for `bytes` (a shape's guest, compiled) on `backend` with `options`. */
export async function shapeRunner(
  bytes: Uint8Array,
  backend: Backend,
  options: Pick<VmConfig, 'fuel' | 'maxStackHeight' | 'canonicalizeNaNs'>,
): Promise<ShapeRunner> {
  let prototype: VirtualMachinePrototype = await VirtualMachinePrototype.create({
    moduleBytes: bytes,
    backend,
    symbols: () => 0,
    requireMemory: false,
    ...options,
  });
  return {
    async recurse(n: number): Promise<RecursionEnd> {
      const vm = prototype.prepare().start('run', [WasmValue.i32(n)], options.fuel === true ? { fuel: 1n << 60n } : undefined);
      const outcome = await runToCompletion(vm, () => WasmValue.i32(1));
      prototype = vm.intoPrototype();
      if (outcome.type === 'finished') return 'finished';
      const kind = outcome.trap.kind;
      return kind === 'StackLimitExceeded' || kind === 'StackExhausted' ? kind : `other: ${kind}: ${outcome.trap.message}`;
    },
  };
}

/** The deepest `n` in `[0, limit]` for which `recurse(n)` finishes (assumed monotonic), by bisection. */
export async function deepestFinishing(runner: ShapeRunner, limit: number): Promise<number> {
  if ((await runner.recurse(0)) !== 'finished') return -1;
  let lo = 0;
  let hi = limit;
  while (lo < hi) {
    const mid = Math.floor((lo + hi + 1) / 2);
    if ((await runner.recurse(mid)) === 'finished') lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
