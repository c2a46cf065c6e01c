/**
 * Test helper: runs a random module (`wasm-opt -ttf`, see `fuzz/differential/`) plain or
 * rewritten by the code rewriter, directly with `WebAssembly.Instance`, against the fuzz
 * harness's deterministic host, and records what the guest does: each export call's result (by
 * bits; any NaN is `nan`) or trap kind, every import call with its arguments and the guest's
 * memory size and digest at that moment, and the memory size and digest after each call. The
 * host acts on the memory as the guest sees it (writes and growth while an import runs), so a
 * shifted memory is read and written past its reserved pages.
 *
 * Two records of the same module, plain and rewritten, must be equal (for fuel: whatever the
 * refill policy; for the stack limit: a limit trap stands for the engine's own stack overflow).
 */
import { createHash } from 'node:crypto';
import { Host, type MemoryPort, type ModuleShape, type PlannedCall, HOST_IMPORTS } from '../../fuzz/differential/index.js';
import { formatValue, outcomeOfPlainError } from '../../fuzz/differential/observation.js';
import { callableSignature } from '../../fuzz/differential/module-shape.js';
import { FUEL_IMPORT, STACK_LIMIT_IMPORT } from '../../lib/transform/abi.js';
import { type CodeRewriteOptions, rewriteCode } from '../../lib/transform/code-rewrite.js';
import { StackLimitExceeded } from './rewrite-harness.js';

/** What a run recorded, one line per event: comparable with `toEqual`. */
export interface RewriteRecord {
  readonly lines: readonly string[];
  /** Fuel consumed (rewritten with `fuel`), else 0. */
  readonly fuelConsumed: bigint;
  /** How many times the guest ran out of fuel. */
  readonly outOfFuel: number;
}

/** How a rewritten run is made. */
export interface RewriteRun {
  readonly rewrite?: CodeRewriteOptions;
  /** Fuel at the start, and what to add each time it runs out (default: a million at the start, refills of a million). */
  readonly fuel?: bigint;
  readonly refill?: (cost: bigint, left: bigint) => bigint;
}

function digest(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex').slice(0, 12);
}

/** Runs `plan` on `bytes` (plain, or rewritten as `run` says); see the module documentation. */
export function recordRun(bytes: Uint8Array, shape: ModuleShape, plan: readonly PlannedCall[], seed: number, run: RewriteRun = {}): RewriteRecord {
  const lines: string[] = [];
  const rewritten = run.rewrite === undefined ? null : rewriteCode(bytes, run.rewrite);
  const base = rewritten?.memory?.bytes ?? 0;
  const host = new Host({ seed, actions: true, exportCount: shape.exports.length });
  let memory: WebAssembly.Memory | null = null;
  const port: MemoryPort = {
    pages: () => (memory === null ? 0 : (memory.buffer.byteLength - base) / 65536),
    readAll: () => (memory === null ? new Uint8Array(0) : new Uint8Array(memory.buffer).slice(base)),
    write: (offset, data) => new Uint8Array(memory!.buffer).set(data, base + offset),
    grow: (pages) => {
      if (memory === null) return pages === 0;
      try {
        memory.grow(pages);
        return true;
      } catch {
        return false;
      }
    },
  };
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  let importedMemory: { module: string; name: string; initial: number; maximum: number | null } | null = null;
  for (const entry of shape.imports) {
    if (entry.kind === 'memory') {
      const limits = rewritten?.memory?.limits ?? entry.limits;
      importedMemory = { module: entry.module, name: entry.name, initial: limits.initial, maximum: limits.maximum };
      continue;
    }
    if (entry.kind !== 'function') throw new Error(`cannot provide ${entry.kind} imports`);
    const type = callableSignature(entry.type)!;
    const index = HOST_IMPORTS.findIndex(
      (h) => h.module === entry.module && h.name === entry.name && h.signature.params.length === type.params.length && h.signature.result === (type.results[0] ?? null),
    );
    if (index < 0) throw new Error(`no host import ${entry.module}.${entry.name}`);
    (imports[entry.module] ??= {})[entry.name] = (...args: unknown[]) => {
      const { answer, event } = host.handle(index, args, port);
      lines.push(`  import ${event.name}(${event.args.join(', ')}) pages=${event.pages} digest=${event.digest ?? '-'} action=${event.action} -> ${event.answer ?? 'void'}`);
      return answer;
    };
  }
  let fuelCounter: WebAssembly.Global | null = null;
  let refilled = 0n;
  let outOfFuel = 0;
  const own = (imports[FUEL_IMPORT.module] ??= {});
  own[FUEL_IMPORT.name] = (cost: bigint) => {
    outOfFuel++;
    const add = (run.refill ?? (() => 1_000_000n))(cost, fuelCounter!.value as bigint);
    if (add <= 0n) throw new Error('out of fuel');
    refilled += add;
    fuelCounter!.value = (fuelCounter!.value as bigint) + add;
  };
  own[STACK_LIMIT_IMPORT.name] = () => {
    throw new StackLimitExceeded('the logical stack limit was reached');
  };
  const module = new WebAssembly.Module((rewritten?.bytes ?? bytes) as Uint8Array<ArrayBuffer>);
  if (importedMemory !== null) {
    const { initial, maximum } = importedMemory;
    memory = new WebAssembly.Memory(maximum === null ? { initial } : { initial, maximum });
    (imports[importedMemory.module] ??= {})[importedMemory.name] = memory;
  }
  const instance = new WebAssembly.Instance(module, imports);
  memory ??= (Object.values(instance.exports).find((e) => e instanceof WebAssembly.Memory) as WebAssembly.Memory | undefined) ?? null;
  if (memory === null && shape.memory !== null) {
    // A defined memory the guest does not export: the harness cannot see it (as the fuzz harness, which adds an export).
    throw new Error('the module defines a memory it does not export');
  }
  const initialFuel = run.fuel ?? 1_000_000n;
  if (rewritten?.fuel != null) {
    fuelCounter = instance.exports[rewritten.fuel.counterExport] as WebAssembly.Global;
    fuelCounter.value = initialFuel;
  }
  lines.push(`start pages=${port.pages()} digest=${digest(port.readAll())}`);
  for (const call of plan) {
    host.beginCall(port);
    lines.push(`call ${call.exportName}(${call.args.map((a) => formatValue(a.type, a.value)).join(', ')})`);
    let outcome: string;
    try {
      const value = (instance.exports[call.exportName] as (...a: unknown[]) => unknown)(...call.args.map((a) => a.value));
      outcome = call.results.length === 0 ? 'returned' : `returned ${formatValue(call.results[0]!, value)}`;
    } catch (e) {
      const error = e instanceof StackLimitExceeded ? new RangeError('Maximum call stack size exceeded') : e;
      const o = outcomeOfPlainError(error);
      outcome = o.type === 'trapped' ? `trapped ${o.kind}` : `error ${o.type === 'error' ? o.message : ''}`;
      if (rewritten?.stack != null) (instance.exports[rewritten.stack.heightExport] as WebAssembly.Global).value = 0;
    }
    lines.push(`  ${outcome}; pages=${port.pages()} digest=${digest(port.readAll())}`);
  }
  const fuelConsumed = fuelCounter === null ? 0n : initialFuel + refilled - (fuelCounter.value as bigint);
  return { lines, fuelConsumed, outOfFuel };
}
