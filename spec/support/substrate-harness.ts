/**
 * Test and benchmark harness: runs a Substrate runtime entry point in plain `WebAssembly` with
 * synchronous imports (the reference) and through the VM (every import an interrupt, or the
 * host answered inline), with the same minimal host on every side: a bump allocator that never
 * reuses memory, and logging that only counts. Entry points take `(ptr, len)` of SCALE input and
 * return an `i64` packing `len << 32 | ptr`.
 *
 * This is deliberately not the library's Substrate host layer: it is the smallest host that
 * lets a runtime compute metadata, so that a difference between the runs can only come from the
 * VM.
 */
import { decompress } from 'fzstd';
import { type Backend, type GuestMemoryAccess, type InlineImport, VirtualMachinePrototype, type VmConfig, WasmValue } from '../../lib/index.js';
import { readModuleFacts } from '../../lib/load/module-facts.js';

const PAGE = 65536;
const ZSTD_PREFIX = [0x52, 0xbc, 0x53, 0x76, 0x46, 0xdb, 0x8e, 0x05];

/** Raw wasm from runtime code that may carry Substrate's zstd prefix. */
export function runtimeWasm(code: Uint8Array): Uint8Array {
  const prefixed = ZSTD_PREFIX.every((b, i) => code[i] === b);
  return prefixed ? decompress(code.subarray(8)) : code;
}

/** The Rococo Asset Hub genesis runtime from `@substrate/connect-known-chains` (raw wasm). */
export async function assetHubRuntime(): Promise<Uint8Array> {
  const { chainSpec } = (await import('@substrate/connect-known-chains/rococo_v2_2_asset_hub')) as { chainSpec: string };
  const spec = JSON.parse(chainSpec) as { genesis: { raw: { top: Record<string, string> } } };
  const hex = spec.genesis.raw.top['0x3a636f6465']!;
  return runtimeWasm(Uint8Array.from(Buffer.from(hex.slice(2), 'hex')));
}

/** What one run of an entry point produced. */
export interface EntryPointRun {
  output: Uint8Array;
  /** Host calls by import name. */
  calls: Map<string, number>;
  /** Total host calls. */
  totalCalls: number;
}

/** The imports the minimal host answers; anything else makes the run fail. */
const HANDLED = new Set([
  'ext_allocator_malloc_version_1',
  'ext_allocator_free_version_1',
  'ext_logging_log_version_1',
  'ext_logging_max_level_version_1',
]);

/** A bump allocator that never reuses memory, growing the memory as needed. */
class BumpAllocator {
  #next: number;
  constructor(heapBase: number) {
    this.#next = Math.ceil(heapBase / 8) * 8;
  }
  malloc(memory: GuestMemoryAccess, size: number): number {
    const ptr = this.#next;
    this.#next = Math.ceil((ptr + size) / 8) * 8;
    const needed = Math.ceil(this.#next / PAGE) - memory.memorySize();
    if (needed > 0) memory.growMemory(needed);
    return ptr;
  }
}

/** The state of one run of the minimal host. */
class MinimalHost {
  readonly calls = new Map<string, number>();
  constructor(readonly allocator: BumpAllocator) {}

  /** The host's answer to one import call: a value, or `undefined` for none. */
  answer(name: string, memory: GuestMemoryAccess, args: readonly (number | bigint)[]): number | undefined {
    if (!HANDLED.has(name)) throw new Error(`unexpected host call ${name}`);
    this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
    switch (name) {
      case 'ext_allocator_malloc_version_1':
        return this.allocator.malloc(memory, args[0] as number);
      case 'ext_logging_max_level_version_1':
        return 0; // LogLevelFilter::Off: the runtime then logs nothing.
      default:
        return undefined; // free and log: nothing to do for this host.
    }
  }

  result(memory: GuestMemoryAccess, packed: bigint): EntryPointRun {
    const u = BigInt.asUintN(64, packed);
    const output = memory.readMemory(Number(u & 0xffff_ffffn), Number(u >> 32n));
    let totalCalls = 0;
    for (const n of this.calls.values()) totalCalls += n;
    return { output, calls: this.calls, totalCalls };
  }
}

/** `GuestMemoryAccess` over a plain `WebAssembly.Memory`. */
function plainMemory(memory: () => WebAssembly.Memory): GuestMemoryAccess {
  return {
    memorySize: () => memory().buffer.byteLength / PAGE,
    growMemory: (pages) => void memory().grow(pages),
    writeMemory: (offset, data) => new Uint8Array(memory().buffer).set(data, offset),
    readMemory: (offset, size) => new Uint8Array(memory().buffer, offset, size).slice(),
  };
}

/** Runs entry points of `wasm` in plain WebAssembly: compiled once, a fresh instance per run. */
export async function plainRunner(wasm: Uint8Array): Promise<(entry: string, input: Uint8Array) => EntryPointRun> {
  const module = await WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>);
  const declared = readModuleFacts(wasm).memories[0];
  return (entry, input) => {
    let memory: WebAssembly.Memory | null = null;
    const access = plainMemory(() => memory!);
    let host: MinimalHost | null = null;
    const env: Record<string, unknown> = {};
    for (const imp of WebAssembly.Module.imports(module)) {
      if (imp.kind === 'function') env[imp.name] = (...args: (number | bigint)[]) => host!.answer(imp.name, access, args);
    }
    if (declared?.imported === true) {
      // The same memory the VM gives an imported memory: the module's declared limits.
      const { initial, maximum } = declared.limits;
      memory = new WebAssembly.Memory(maximum === null ? { initial } : { initial, maximum });
      env['memory'] = memory;
    }
    const instance = new WebAssembly.Instance(module, { env } as WebAssembly.Imports);
    memory ??= instance.exports['memory'] as WebAssembly.Memory;
    host = new MinimalHost(new BumpAllocator((instance.exports['__heap_base'] as WebAssembly.Global).value as number));
    const inputPtr = host.allocator.malloc(access, input.length);
    access.writeMemory(inputPtr, input);
    const packed = (instance.exports[entry] as (p: number, l: number) => bigint)(inputPtr, input.length);
    return host.result(access, packed);
  };
}

/** Runs `entry(input)` in plain WebAssembly with synchronous imports. */
export async function runPlain(wasm: Uint8Array, entry: string, input: Uint8Array): Promise<EntryPointRun> {
  return (await plainRunner(wasm))(entry, input);
}

/** A prototype of a runtime for {@link runVm}, and the import names its ids index. */
export interface RuntimePrototype {
  proto: VirtualMachinePrototype;
  names: string[];
  /** With `inline`: the host the inline functions answer from, replaced for each run. */
  inlineHost: { current: MinimalHost | null } | null;
}

/**
 * Creates a prototype whose import ids are indexes into `names`. With `inline`, the minimal
 * host answers every import inline (nothing pauses). `backend` defaults to the library's default.
 */
export async function createRuntimePrototype(
  wasm: Uint8Array,
  options: { inline?: boolean; postPasses?: readonly string[]; backend?: Backend } = {},
): Promise<RuntimePrototype> {
  const names: string[] = [];
  const inlineHost = options.inline === true ? { current: null as MinimalHost | null } : null;
  const create = (config: VmConfig): Promise<VirtualMachinePrototype> =>
    options.postPasses === undefined
      ? VirtualMachinePrototype.create(config)
      : VirtualMachinePrototype._createTuned(config, { postPasses: options.postPasses });
  const proto = await create({
    moduleBytes: wasm,
    symbols: (_module, name) => names.push(name) - 1,
    ...(options.backend === undefined ? {} : { backend: options.backend }),
    ...(inlineHost === null
      ? {}
      : {
          inlineImports: (_module: string, name: string): InlineImport | undefined =>
            HANDLED.has(name) ? (memory, params) => inlineHost.current!.answer(name, memory, params) : undefined,
        }),
  });
  return { proto, names, inlineHost };
}

/**
 * Runs `entry(input)` through the VM, every import answered by the minimal host (through
 * interrupts, or inline if the prototype was created so). Returns the run and a fresh prototype
 * for the next run.
 */
export function runVm(runtime: RuntimePrototype, entry: string, input: Uint8Array): { run: EntryPointRun; runtime: RuntimePrototype } {
  const host = new MinimalHost(new BumpAllocator(runtime.proto.globalValue('__heap_base')));
  if (runtime.inlineHost !== null) runtime.inlineHost.current = host;
  const prepare = runtime.proto.prepare();
  const inputPtr = host.allocator.malloc(prepare, input.length);
  prepare.writeMemory(inputPtr, input);
  const vm = prepare.start(entry, [WasmValue.i32(inputPtr), WasmValue.i32(input.length)]);
  let outcome = vm.run(null);
  while (outcome.type === 'interrupted') {
    const result = host.answer(
      runtime.names[outcome.id]!,
      vm,
      outcome.params.map((p) => p.value),
    );
    outcome = vm.run(result === undefined ? null : WasmValue.i32(result));
  }
  if (outcome.type === 'trapped') throw outcome.trap;
  const run = host.result(vm, outcome.value!.value as bigint);
  return { run, runtime: { ...runtime, proto: vm.intoPrototype() } };
}

/** {@link runVm} driven through `runAsync`, on either backend. */
export async function runVmAsync(
  runtime: RuntimePrototype,
  entry: string,
  input: Uint8Array,
): Promise<{ run: EntryPointRun; runtime: RuntimePrototype }> {
  const host = new MinimalHost(new BumpAllocator(runtime.proto.globalValue('__heap_base')));
  if (runtime.inlineHost !== null) runtime.inlineHost.current = host;
  const prepare = runtime.proto.prepare();
  const inputPtr = host.allocator.malloc(prepare, input.length);
  prepare.writeMemory(inputPtr, input);
  const vm = prepare.start(entry, [WasmValue.i32(inputPtr), WasmValue.i32(input.length)]);
  let outcome = await vm.runAsync(null);
  while (outcome.type === 'interrupted') {
    const result = host.answer(
      runtime.names[outcome.id]!,
      vm,
      outcome.params.map((p) => p.value),
    );
    outcome = await vm.runAsync(result === undefined ? null : WasmValue.i32(result));
  }
  if (outcome.type === 'trapped') throw outcome.trap;
  const run = host.result(vm, outcome.value!.value as bigint);
  return { run, runtime: { ...runtime, proto: vm.intoPrototype() } };
}
