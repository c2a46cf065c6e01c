/**
 * Test helper: runs an entry point of a real Substrate runtime directly with
 * `WebAssembly.Instance` (no VM), plain or rewritten by the code rewriter, with the smallest host
 * that computes metadata (as `substrate-harness.ts`'s plain runner: Substrate's allocator,
 * logging that does nothing, storage reads from an optional map), reaching the guest's memory as
 * the guest sees it (past the reserved pages of a memory shift).
 */
import { compact } from 'scale-ts';
import type { GuestMemoryAccess } from '../../lib/index.js';
import { OutOfBoundsError } from '../../lib/index.js';
import { type CodeRewriteOptions, rewriteCode } from '../../lib/transform/code-rewrite.js';
import { FreeingBumpAllocator } from '../../lib/substrate/heap/allocator.js';
import { StackLimitExceeded } from './rewrite-harness.js';

/** What a run produced. */
export interface RuntimeRun {
  readonly output: Uint8Array;
  /** Host calls made. */
  readonly hostCalls: number;
  /** Fuel consumed and the times the guest ran out (with `fuel`). */
  readonly fuelConsumed: bigint;
  readonly outOfFuel: number;
  /** The highest logical stack height seen at a host call (with `maxStackHeight`). */
  readonly highestHeight: number;
}

/** How to run. */
export interface RuntimeRunOptions {
  readonly rewrite?: CodeRewriteOptions;
  readonly fuel?: bigint;
  /** What to add when the guest runs out of fuel (default: refuse). */
  readonly refill?: (cost: bigint, left: bigint) => bigint;
  readonly storage?: ReadonlyMap<string, Uint8Array>;
}

/** A compiled runtime, plain or rewritten, ready to run entry points on fresh instances. */
export class RuntimeRunner {
  readonly module: WebAssembly.Module;
  readonly base: number;
  readonly rewriteMilliseconds: number;
  readonly #memoryLimits: { initial: number; maximum: number | null } | null;
  readonly #options: RuntimeRunOptions;
  readonly #fuelExport: string | null;
  readonly #heightExport: string | null;

  constructor(wasm: Uint8Array, options: RuntimeRunOptions = {}) {
    this.#options = options;
    const started = performance.now();
    const rewritten = options.rewrite === undefined ? null : rewriteCode(wasm, options.rewrite);
    this.rewriteMilliseconds = performance.now() - started;
    this.module = new WebAssembly.Module((rewritten?.bytes ?? wasm) as Uint8Array<ArrayBuffer>);
    this.base = rewritten?.memory?.bytes ?? 0;
    this.#fuelExport = rewritten?.fuel?.counterExport ?? null;
    this.#heightExport = rewritten?.stack?.heightExport ?? null;
    const imported = WebAssembly.Module.imports(this.module).find((i) => i.kind === 'memory');
    this.#memoryLimits = imported === undefined ? null : (rewritten?.memory?.limits ?? importedMemoryLimits(wasm));
  }

  /** Runs `entry(input)` on a fresh instance. */
  run(entry: string, input: Uint8Array): RuntimeRun {
    const base = this.base;
    let memory: WebAssembly.Memory | null = null;
    const access: GuestMemoryAccess = {
      memorySize: () => (memory!.buffer.byteLength - base) / 65536,
      readMemory: (offset, size) => new Uint8Array(memory!.buffer, base + offset, size).slice(),
      writeMemory: (offset, data) => new Uint8Array(memory!.buffer).set(data, base + offset),
      growMemory: (pages) => {
        try {
          memory!.grow(pages);
        } catch (e) {
          throw new OutOfBoundsError(`cannot grow by ${pages} pages: ${String(e)}`);
        }
      },
    };
    let allocator: FreeingBumpAllocator | null = null;
    let hostCalls = 0;
    let fuelCounter: WebAssembly.Global | null = null;
    let height: WebAssembly.Global | null = null;
    let highestHeight = 0;
    let refilled = 0n;
    let outOfFuel = 0;
    const note = (): void => {
      hostCalls++;
      if (height !== null) highestHeight = Math.max(highestHeight, height.value as number);
    };
    const storage = this.#options.storage ?? new Map<string, Uint8Array>();
    const env: Record<string, WebAssembly.ImportValue> = {};
    for (const imported of WebAssembly.Module.imports(this.module)) {
      if (imported.module !== 'env' || imported.kind !== 'function') continue;
      env[imported.name] = () => {
        throw new Error(`unexpected host call ${imported.name}`);
      };
    }
    env['ext_allocator_malloc_version_1'] = (size: number) => (note(), allocator!.malloc(access, size));
    env['ext_allocator_free_version_1'] = (pointer: number) => {
      note();
      allocator!.free(access, pointer);
    };
    env['ext_logging_log_version_1'] = () => note();
    env['ext_logging_max_level_version_1'] = () => (note(), 0);
    env['ext_storage_get_version_1'] = (key: bigint) => {
      note();
      const k = BigInt.asUintN(64, key);
      const bytes = access.readMemory(Number(k & 0xffff_ffffn), Number(k >> 32n));
      const value = storage.get(`0x${Buffer.from(bytes).toString('hex')}`);
      const encoded = value === undefined ? Uint8Array.of(0) : Uint8Array.from([1, ...compact.enc(value.length), ...value]);
      const pointer = allocator!.malloc(access, encoded.length);
      access.writeMemory(pointer, encoded);
      return (BigInt(encoded.length) << 32n) | BigInt(pointer);
    };
    const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {
      env,
      i: {
        fuel: (cost: bigint) => {
          outOfFuel++;
          const add = (this.#options.refill ?? (() => 0n))(cost, fuelCounter!.value as bigint);
          if (add <= 0n) throw new Error('out of fuel');
          refilled += add;
          fuelCounter!.value = (fuelCounter!.value as bigint) + add;
        },
        stack: () => {
          throw new StackLimitExceeded('the logical stack limit was reached');
        },
      },
    };
    if (this.#memoryLimits !== null) {
      const { initial, maximum } = this.#memoryLimits;
      memory = new WebAssembly.Memory(maximum === null ? { initial } : { initial, maximum });
      env['memory'] = memory;
    }
    const instance = new WebAssembly.Instance(this.module, imports);
    memory ??= instance.exports['memory'] as WebAssembly.Memory;
    allocator = new FreeingBumpAllocator((instance.exports['__heap_base'] as WebAssembly.Global).value as number);
    const initialFuel = this.#options.fuel ?? 0n;
    if (this.#fuelExport !== null) {
      fuelCounter = instance.exports[this.#fuelExport] as WebAssembly.Global;
      fuelCounter.value = initialFuel;
    }
    if (this.#heightExport !== null) height = instance.exports[this.#heightExport] as WebAssembly.Global;
    const pointer = allocator.malloc(access, Math.max(1, input.length));
    access.writeMemory(pointer, input);
    const packed = BigInt.asUintN(64, (instance.exports[entry] as (p: number, l: number) => bigint)(pointer, input.length));
    const output = access.readMemory(Number(packed & 0xffff_ffffn), Number(packed >> 32n));
    return {
      output,
      hostCalls,
      fuelConsumed: fuelCounter === null ? 0n : initialFuel + refilled - (fuelCounter.value as bigint),
      outOfFuel,
      highestHeight,
    };
  }
}

/** The limits of the memory `wasm` imports (a small reader: the runtimes import `env.memory`). */
function importedMemoryLimits(wasm: Uint8Array): { initial: number; maximum: number | null } {
  let pos = 8;
  const u32 = (): number => {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = wasm[pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
  };
  while (pos < wasm.length) {
    const id = wasm[pos++]!;
    const size = u32();
    const end = pos + size;
    if (id === 2) {
      for (let i = 0, n = u32(); i < n; i++) {
        for (let k = 0; k < 2; k++) {
          const length = u32();
          pos += length;
        }
        const kind = wasm[pos++]!;
        if (kind === 2) {
          const flags = wasm[pos++]!;
          const initial = u32();
          return { initial, maximum: (flags & 1) !== 0 ? u32() : null };
        }
        if (kind === 0) u32();
        else throw new Error(`import kind ${kind}`);
      }
    }
    pos = end;
  }
  throw new Error('no memory import');
}
