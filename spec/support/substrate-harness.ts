/**
 * Test and benchmark harness: runs a Substrate runtime entry point twice, once in plain
 * `WebAssembly` with synchronous imports (the reference) and once through the VM with every
 * import an interrupt, with the same minimal host on both sides: a bump allocator that never
 * reuses memory, and logging that only counts. Entry points take `(ptr, len)` of SCALE input
 * and return an `i64` packing `len << 32 | ptr`.
 *
 * This is deliberately not the library's Substrate host layer: it is the smallest host that
 * lets a runtime compute metadata, so that a difference between the two runs can only come from
 * the VM.
 */
import { decompress } from 'fzstd';
import { VirtualMachinePrototype, WasmValue, type Signature } from '../../lib/index.js';
import { readModuleFacts } from '../../lib/module-facts.js';

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

/** Minimal memory operations the host needs, implemented by both sides. */
interface HostMemory {
  size(): number;
  grow(pages: number): void;
  write(offset: number, data: Uint8Array): void;
  read(offset: number, size: number): Uint8Array;
}

/** A bump allocator that never reuses memory, growing the memory as needed. */
class BumpAllocator {
  #next: number;
  constructor(
    heapBase: number,
    private readonly memory: HostMemory,
  ) {
    this.#next = Math.ceil(heapBase / 8) * 8;
  }
  malloc(size: number): number {
    const ptr = this.#next;
    this.#next = Math.ceil((ptr + size) / 8) * 8;
    const needed = Math.ceil(this.#next / PAGE) - this.memory.size();
    if (needed > 0) this.memory.grow(needed);
    return ptr;
  }
}

/** The host's answer to one import call: a value, or `undefined` for none. */
function answer(name: string, args: readonly (number | bigint)[], allocator: BumpAllocator): number | undefined {
  switch (name) {
    case 'ext_allocator_malloc_version_1':
      return allocator.malloc(args[0] as number);
    case 'ext_logging_max_level_version_1':
      return 0; // LogLevelFilter::Off: the runtime then logs nothing.
    default:
      return undefined; // free and log: nothing to do for this host.
  }
}

function unpack(packed: bigint): { ptr: number; len: number } {
  const u = BigInt.asUintN(64, packed);
  return { ptr: Number(u & 0xffff_ffffn), len: Number(u >> 32n) };
}

/** Runs `entry(input)` in plain WebAssembly with synchronous imports. */
export async function runPlain(wasm: Uint8Array, entry: string, input: Uint8Array): Promise<EntryPointRun> {
  const module = await WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>);
  const calls = new Map<string, number>();
  let memory: WebAssembly.Memory | null = null;
  const hostMemory: HostMemory = {
    size: () => memory!.buffer.byteLength / PAGE,
    grow: (pages) => void memory!.grow(pages),
    write: (offset, data) => new Uint8Array(memory!.buffer).set(data, offset),
    read: (offset, size) => new Uint8Array(memory!.buffer, offset, size).slice(),
  };
  let allocator: BumpAllocator | null = null;
  const env: Record<string, unknown> = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== 'function') continue;
    env[imp.name] = (...args: (number | bigint)[]) => {
      if (!HANDLED.has(imp.name)) throw new Error(`unexpected host call ${imp.name}`);
      calls.set(imp.name, (calls.get(imp.name) ?? 0) + 1);
      return answer(imp.name, args, allocator!);
    };
  }
  const declared = readModuleFacts(wasm).memories[0];
  if (declared?.imported === true) {
    // The same memory the VM gives an imported memory: the module's declared limits.
    const { initial, maximum } = declared.limits;
    memory = new WebAssembly.Memory(maximum === null ? { initial } : { initial, maximum });
    env['memory'] = memory;
  }
  const instance = await WebAssembly.instantiate(module, { env } as WebAssembly.Imports);
  memory ??= instance.exports['memory'] as WebAssembly.Memory;
  const heapBase = (instance.exports['__heap_base'] as WebAssembly.Global).value as number;
  allocator = new BumpAllocator(heapBase, hostMemory);
  const inputPtr = allocator.malloc(input.length);
  hostMemory.write(inputPtr, input);
  const packed = (instance.exports[entry] as (p: number, l: number) => bigint)(inputPtr, input.length);
  const { ptr, len } = unpack(packed);
  return { output: hostMemory.read(ptr, len), calls, totalCalls: sum(calls) };
}

/** Creates a prototype whose import ids are indexes into `names`. */
export async function createRuntimePrototype(wasm: Uint8Array): Promise<{ proto: VirtualMachinePrototype; names: string[] }> {
  const names: string[] = [];
  const proto = await VirtualMachinePrototype.create({
    moduleBytes: wasm,
    symbols: (_module: string, name: string, _signature: Signature) => names.push(name) - 1,
  });
  return { proto, names };
}

/** Runs `entry(input)` through the VM, every import an interrupt answered by the minimal host. */
export function runVm(
  proto: VirtualMachinePrototype,
  names: readonly string[],
  entry: string,
  input: Uint8Array,
): { run: EntryPointRun; proto: VirtualMachinePrototype } {
  const calls = new Map<string, number>();
  const heapBase = proto.globalValue('__heap_base');
  const prepare = proto.prepare();
  const prepareMemory: HostMemory = {
    size: () => prepare.memorySize(),
    grow: (pages) => prepare.growMemory(pages),
    write: (offset, data) => prepare.writeMemory(offset, data),
    read: (offset, size) => prepare.readMemory(offset, size),
  };
  // The allocator outlives the Prepare: it must follow the memory into the VirtualMachine.
  let memory = prepareMemory;
  const allocator = new BumpAllocator(heapBase, {
    size: () => memory.size(),
    grow: (pages) => memory.grow(pages),
    write: (offset, data) => memory.write(offset, data),
    read: (offset, size) => memory.read(offset, size),
  });
  const inputPtr = allocator.malloc(input.length);
  prepare.writeMemory(inputPtr, input);
  const vm = prepare.start(entry, [WasmValue.i32(inputPtr), WasmValue.i32(input.length)]);
  memory = {
    size: () => vm.memorySize(),
    grow: (pages) => vm.growMemory(pages),
    write: (offset, data) => vm.writeMemory(offset, data),
    read: (offset, size) => vm.readMemory(offset, size),
  };
  let outcome = vm.run(null);
  while (outcome.type === 'interrupted') {
    const name = names[outcome.id]!;
    if (!HANDLED.has(name)) throw new Error(`unexpected host call ${name}`);
    calls.set(name, (calls.get(name) ?? 0) + 1);
    const result = answer(name, outcome.params.map((p) => p.value), allocator);
    outcome = vm.run(result === undefined ? null : WasmValue.i32(result));
  }
  if (outcome.type === 'trapped') throw outcome.trap;
  const { ptr, len } = unpack(outcome.value!.value as bigint);
  const output = vm.readMemory(ptr, len);
  return { run: { output, calls, totalCalls: sum(calls) }, proto: vm.intoPrototype() };
}

function sum(calls: Map<string, number>): number {
  let total = 0;
  for (const n of calls.values()) total += n;
  return total;
}
