/**
 * Test and benchmark helper: a small recursive guest that calls an import at the bottom of its
 * recursion, and searches for the deepest recursion that plain V8 and the VM can handle.
 *
 * `rec(n)` recurses `n` levels and calls `leaf()` at the bottom; it returns
 * `n(n+1)/2 + leaf()`, so a correct result after a resume proves every frame's locals were
 * restored.
 */
import { VirtualMachinePrototype, WasmValue } from '../../lib/index.js';
import { type Variant, variantConfig } from './backends.js';
import { wat } from './wat.js';

/** The recursive guest's source. */
export const RECURSIVE_GUEST = recursiveGuest(0);

/**
 * The recursive guest, with an unused global holding `nonce`: engines share compiled (and
 * already optimised) code between modules with identical bytes, so a measurement that must
 * start from cold code needs bytes no other test compiled.
 */
export function recursiveGuest(nonce: number): string {
  return `(module
  (import "env" "leaf" (func $leaf (result i32)))
  (global i32 (i32.const ${nonce}))
  (func $rec (export "rec") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (call $leaf))
      (else (i32.add (local.get $n) (call $rec (i32.sub (local.get $n) (i32.const 1))))))))`;
}

/** The value `rec(n)` returns when `leaf()` returns `leaf`. */
export function expectedRec(n: number, leaf: number): number {
  return (n * (n + 1)) / 2 + leaf;
}

/** The largest `n` in `[1, limit]` for which `ok(n)` holds, assuming `ok` is monotonic. */
export function deepest(ok: (n: number) => boolean, limit = 1 << 20): number {
  if (!ok(1)) return 0;
  let lo = 1;
  let hi = limit;
  while (lo < hi) {
    const mid = Math.floor((lo + hi + 1) / 2);
    if (ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * {@link deepest}, repeated until two searches in a row agree. The engine compiles a function
 * first with its baseline compiler and later, in the background, with its optimising compiler,
 * whose frames are smaller (and which inlines small recursive functions a few levels deep), so
 * the depth grows as the code warms up; measuring the settled value compares like with like.
 */
export async function settledDepth(ok: (n: number) => boolean, limit?: number): Promise<number> {
  let previous = deepest(ok, limit);
  for (let round = 0; round < 8; round++) {
    // Give background compilation a chance to finish.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const current = deepest(ok, limit);
    if (current === previous) return current;
    previous = current;
  }
  return previous;
}

/** Calls `rec(n)` in plain WebAssembly; `false` if it overflowed the stack. */
export async function plainRecursion(nonce = 0): Promise<(n: number) => boolean> {
  const instance = new WebAssembly.Instance(new WebAssembly.Module((await wat(recursiveGuest(nonce))) as Uint8Array<ArrayBuffer>), {
    env: { leaf: () => 7 },
  });
  const rec = instance.exports['rec'] as (n: number) => number;
  return (n) => {
    try {
      return rec(n) === (expectedRec(n, 7) | 0);
    } catch (e) {
      if (e instanceof RangeError) return false;
      throw e;
    }
  };
}

/** The VM side: `rec(n)` paused at the bottom and resumed; `false` if it trapped. */
export interface VmRecursion {
  /** Runs `rec(n)`, pausing at `leaf`, and checks the result after resuming. */
  pauseAndResume(n: number): boolean;
  /** The prototype, for further calls (the search leaves it fresh). */
  prototype(): VirtualMachinePrototype;
}

/**
 * Builds the VM side with the given unwind buffer size (and `nonce`, see {@link recursiveGuest}).
 * `postPasses` replaces the transform's post passes (for experiments).
 */
export async function vmRecursion(unwindBufferPages?: number, nonce = 0, postPasses?: readonly string[]): Promise<VmRecursion> {
  const config = {
    moduleBytes: await wat(recursiveGuest(nonce)),
    symbols: () => 0,
    requireMemory: false,
    ...(unwindBufferPages === undefined ? {} : { unwindBufferPages }),
  };
  let proto =
    postPasses === undefined
      ? await VirtualMachinePrototype.create(config)
      : await VirtualMachinePrototype._createTuned(config, { postPasses });
  return {
    pauseAndResume(n) {
      const vm = proto.prepare().start('rec', [WasmValue.i32(n)]);
      let outcome = vm.run(null);
      let good = false;
      if (outcome.type === 'interrupted') {
        outcome = vm.run(WasmValue.i32(7));
        good = outcome.type === 'finished' && outcome.value?.value === (expectedRec(n, 7) | 0);
      }
      proto = vm.intoPrototype();
      return good;
    },
    prototype: () => proto,
  };
}

/** {@link deepest} for an asynchronous `ok`. */
export async function deepestAsync(ok: (n: number) => Promise<boolean>, limit = 1 << 20): Promise<number> {
  if (!(await ok(1))) return 0;
  let lo = 1;
  let hi = limit;
  while (lo < hi) {
    const mid = Math.floor((lo + hi + 1) / 2);
    if (await ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** {@link settledDepth} for an asynchronous `ok`. */
export async function settledDepthAsync(ok: (n: number) => Promise<boolean>, limit?: number): Promise<number> {
  let previous = await deepestAsync(ok, limit);
  for (let round = 0; round < 8; round++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const current = await deepestAsync(ok, limit);
    if (current === previous) return current;
    previous = current;
  }
  return previous;
}

/** {@link VmRecursion} driven through `runAsync`, on either backend. */
export interface VmRecursionAsync {
  /** Runs `rec(n)`, pausing at `leaf`, and checks the result after resuming. */
  pauseAndResume(n: number): Promise<boolean>;
  /** The prototype, for further calls (the search leaves it fresh). */
  prototype(): VirtualMachinePrototype;
}

/**
 * {@link vmRecursion} on `backend`, driven through `runAsync` (the unwind buffer size only
 * matters on Asyncify).
 */
export async function vmRecursionOn(backend: Variant, unwindBufferPages?: number, nonce = 0): Promise<VmRecursionAsync> {
  let proto = await VirtualMachinePrototype.create({
    moduleBytes: await wat(recursiveGuest(nonce)),
    symbols: () => 0,
    requireMemory: false,
    ...variantConfig(backend),
    ...(unwindBufferPages === undefined ? {} : { unwindBufferPages }),
  });
  return {
    async pauseAndResume(n) {
      const vm = proto.prepare().start('rec', [WasmValue.i32(n)]);
      let outcome = await vm.runAsync(null);
      let good = false;
      if (outcome.type === 'interrupted') {
        outcome = await vm.runAsync(WasmValue.i32(7));
        good = outcome.type === 'finished' && outcome.value?.value === (expectedRec(n, 7) | 0);
      }
      proto = vm.intoPrototype();
      return good;
    },
    prototype: () => proto,
  };
}
