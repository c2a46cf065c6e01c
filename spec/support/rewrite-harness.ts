/**
 * Test helper for the code rewriter (`lib/transform/code-rewrite.ts`): a guest instantiated
 * directly with `WebAssembly.Instance` (no VM), either as written ("plain") or rewritten, and
 * seen the way the guest sees itself: its memory from its own byte 0 (past the reserved pages of
 * a memory shift), its `memory.size`, its exports' results and traps. The rewrite's imports are
 * answered here: `i.fuel` by a refill policy, `i.stack` by throwing {@link StackLimitExceeded}.
 */
import { FUEL_IMPORT, STACK_LIMIT_IMPORT } from '../../lib/transform/abi.js';
import { type CodeRewriteOptions, type RewrittenCode, rewriteCode } from '../../lib/transform/code-rewrite.js';

/** What an export call did: its results as bit patterns (decimal strings), or the trap. */
export type Outcome =
  | { readonly type: 'returned'; readonly value: string }
  | { readonly type: 'trapped'; readonly message: string }
  | { readonly type: 'stack-limit' }
  | { readonly type: 'error'; readonly message: string };

/** Thrown by the `i.stack` import, as the VM's would. */
export class StackLimitExceeded extends Error {
  override readonly name = 'StackLimitExceeded';
}

/** What the host does when the guest runs out of fuel: how much to add, given the block's cost (0n: throw). */
export type RefillPolicy = (cost: bigint, left: bigint) => bigint;

const scratch = new DataView(new ArrayBuffer(8));

/** A value returned by an export, as the bits of its type (f32/f64 by their bit patterns). */
export function formatResult(value: unknown): string {
  if (value === undefined) return 'void';
  if (typeof value === 'bigint') return `i64:${BigInt.asUintN(64, value)}`;
  if (typeof value === 'number') {
    if (Number.isInteger(value) && !Object.is(value, -0)) return `n:${value}`;
    scratch.setFloat64(0, value);
    return `f64:${scratch.getBigUint64(0)}`;
  }
  return `other:${String(value)}`;
}

/** The outcome of `call`. */
export function outcomeOf(call: () => unknown): Outcome {
  try {
    return { type: 'returned', value: formatResult(call()) };
  } catch (e) {
    if (e instanceof StackLimitExceeded) return { type: 'stack-limit' };
    if (e instanceof WebAssembly.RuntimeError) return { type: 'trapped', message: e.message };
    if (e instanceof RangeError && /call stack/i.test(e.message)) return { type: 'trapped', message: 'stack overflow' };
    return { type: 'error', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

/** Options of a {@link Guest}. */
export interface GuestOptions {
  /** Imports of the guest (besides its memory). */
  readonly imports?: Record<string, Record<string, WebAssembly.ImportValue>>;
  /** The rewrite to apply; absent: the plain guest. */
  readonly rewrite?: CodeRewriteOptions;
  /** Fuel at the start (rewritten with `fuel`). */
  readonly fuel?: bigint;
  /** How to refill (rewritten with `fuel`); default: refuse (throws). */
  readonly refill?: RefillPolicy;
}

/** A guest instance, plain or rewritten; see the module documentation. */
export class Guest {
  readonly instance: WebAssembly.Instance;
  readonly memory: WebAssembly.Memory | null;
  readonly rewritten: RewrittenCode | null;
  /** The reserved bytes below the guest's memory (0 for a plain guest). */
  readonly base: number;
  /** Fuel added by the refill policy so far, and how many times the guest ran out. */
  refilled = 0n;
  outOfFuel = 0;

  /** Instantiates `bytes`; throws what the engine throws (a failed instantiation). */
  constructor(bytes: Uint8Array, options: GuestOptions = {}) {
    this.rewritten = options.rewrite === undefined ? null : rewriteCode(bytes, options.rewrite);
    const engineBytes = this.rewritten?.bytes ?? bytes;
    const module = new WebAssembly.Module(engineBytes as Uint8Array<ArrayBuffer>);
    const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
    for (const [name, values] of Object.entries(options.imports ?? {})) imports[name] = { ...values };
    let memory: WebAssembly.Memory | null = null;
    for (const entry of WebAssembly.Module.imports(module)) {
      if (entry.kind !== 'memory') continue;
      const limits = this.rewritten?.memory?.limits ?? declaredMemoryLimits(bytes);
      memory = new WebAssembly.Memory({ initial: limits.initial, maximum: limits.maximum ?? undefined });
      (imports[entry.module] ??= {})[entry.name] = memory;
    }
    const own = (imports[FUEL_IMPORT.module] ??= {});
    own[FUEL_IMPORT.name] = (cost: bigint) => {
      this.outOfFuel++;
      const add = (options.refill ?? (() => 0n))(cost, this.fuelLeft);
      if (add === 0n) throw new Error(`out of fuel (a block of cost ${cost})`);
      this.refilled += add;
      this.fuelLeft += add;
    };
    own[STACK_LIMIT_IMPORT.name] = () => {
      throw new StackLimitExceeded('the logical stack limit was reached');
    };
    this.instance = new WebAssembly.Instance(module, imports);
    if (memory === null) {
      const exported = Object.values(this.instance.exports).find((e) => e instanceof WebAssembly.Memory);
      memory = (exported as WebAssembly.Memory | undefined) ?? null;
    }
    this.memory = memory;
    this.base = this.rewritten?.memory?.bytes ?? 0;
    if (options.fuel !== undefined) this.fuelLeft = options.fuel;
  }

  /** The guest's function exports. */
  get exports(): Record<string, (...args: unknown[]) => unknown> {
    return this.instance.exports as Record<string, (...args: unknown[]) => unknown>;
  }

  /** Calls an export. */
  call(name: string, ...args: unknown[]): Outcome {
    return outcomeOf(() => this.exports[name]!(...args));
  }

  /** The guest's memory size in pages, as the guest sees it. */
  pages(): number {
    return this.memory === null ? 0 : (this.memory.buffer.byteLength - this.base) / 65536;
  }

  /** A copy of the guest's memory, as the guest sees it. */
  guestBytes(): Uint8Array {
    return this.memory === null ? new Uint8Array(0) : new Uint8Array(this.memory.buffer).slice(this.base);
  }

  /** A view of the reserved bytes below the guest's memory. */
  reservedBytes(): Uint8Array {
    return this.memory === null ? new Uint8Array(0) : new Uint8Array(this.memory.buffer, 0, this.base);
  }

  /** The fuel counter (rewritten with `fuel`). */
  get fuelLeft(): bigint {
    return this.#fuelGlobal().value as bigint;
  }

  set fuelLeft(value: bigint) {
    this.#fuelGlobal().value = value;
  }

  /** The logical stack height (rewritten with `maxStackHeight`). */
  get height(): number {
    return (this.instance.exports[this.rewritten!.stack!.heightExport] as WebAssembly.Global).value as number;
  }

  #fuelGlobal(): WebAssembly.Global {
    return this.instance.exports[this.rewritten!.fuel!.counterExport] as WebAssembly.Global;
  }
}

/** The limits the guest declares for its memory (defined or imported), read from its bytes. */
function declaredMemoryLimits(bytes: Uint8Array): { initial: number; maximum: number | null } {
  // A small reader of its own: only tests use this, on modules they wrote.
  let pos = 8;
  const u32 = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
      shift += 7;
    }
  };
  while (pos < bytes.length) {
    const id = bytes[pos++]!;
    const size = u32();
    const end = pos + size;
    if (id === 2) {
      for (let i = 0, n = u32(); i < n; i++) {
        for (let name = 0; name < 2; name++) {
          const length = u32();
          pos += length;
        }
        const kind = bytes[pos++]!;
        if (kind === 2) {
          const flags = bytes[pos++]!;
          const initial = u32();
          return { initial, maximum: (flags & 1) !== 0 ? u32() : null };
        }
        if (kind === 0) u32();
        else if (kind === 1) {
          pos++;
          const flags = bytes[pos++]!;
          u32();
          if ((flags & 1) !== 0) u32();
        } else if (kind === 3) pos += 2;
      }
    }
    pos = end;
  }
  throw new Error('the module imports no memory');
}
