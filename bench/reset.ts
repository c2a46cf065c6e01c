/**
 * A small call on a runtime seen before. A light client makes many small runtime calls, and each
 * must start from a fresh instance; `intoPrototype()` now puts the used instance back in its
 * fresh state instead of instantiating (see `LiveInstance.reset`). Measured side by side, in one
 * process, on the JSPI backend (the default where it exists):
 *
 * - a fresh instantiation of the same module with the memory a runtime is given (heap base +
 *   2,048 heap pages), by the engine alone: what a call cost before;
 * - `runtimeCall(runtime, 'Core_version')` through the Substrate layer, everything included;
 * - the reset alone: `prepare().intoPrototype()` on a used instance.
 */
import { VirtualMachinePrototype } from '../lib/index.js';
import { SubstrateRuntime, decodeRuntimeCode, runtimeCall } from '../lib/substrate/index.js';
import { type Row, timeMedian } from './support/stats.js';

/** One measurement, in milliseconds. */
export interface ResetResult {
  readonly runtime: string;
  readonly what: string;
  readonly ms: number;
}

/** Runs the measurements for one runtime's `code` (raw or compressed). */
export async function benchReset(runtimeName: string, code: Uint8Array, options: { runs: number }): Promise<{ results: ResetResult[]; rows: Row[] }> {
  const wasm = decodeRuntimeCode(code).wasm as Uint8Array<ArrayBuffer>;
  const runtime = await SubstrateRuntime.create({ code: wasm, backend: 'jspi' });
  const results: ResetResult[] = [];
  const add = (what: string, ms: number): void => void results.push({ runtime: runtimeName, what, ms });

  // The engine alone: instantiate with stub imports and a memory of heap base + 2,048 pages.
  const module = await WebAssembly.compile(wasm);
  const instantiate = (): void => {
    const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
    for (const i of WebAssembly.Module.imports(module)) {
      (imports[i.module] ??= {})[i.name] =
        i.kind === 'memory' ? new WebAssembly.Memory({ initial: runtime.memoryTotalPages, maximum: runtime.memoryTotalPages }) : () => 0;
    }
    // A module that defines its memory gets it from its own section, as a fresh instance would.
    new WebAssembly.Instance(module, imports);
  };
  const fresh = await timeMedian(instantiate, options.runs, Math.min(20, options.runs));
  add('fresh instantiation (engine alone, heap base + 2,048 pages)', fresh);

  add('runtimeCall(Core_version), everything included', await timeMedian(() => runtimeCall(runtime, 'Core_version'), options.runs, 20));

  let proto = await VirtualMachinePrototype.create({ moduleBytes: wasm, backend: 'jspi', symbols: () => 0 });
  add(
    'the reset alone: prepare().intoPrototype()',
    await timeMedian(
      () => {
        proto = proto.prepare().intoPrototype();
      },
      options.runs,
      20,
    ),
  );
  const rows: Row[] = results.map((r) => [`${runtimeName}: ${r.what}`, r.ms, r.ms / fresh]);
  return { results, rows };
}
