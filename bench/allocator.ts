/**
 * Measures what the allocator costs on the hot path of a runtime call: one `malloc` + `free`
 * pair (the shape of most host calls that return data), on a real {@link VirtualMachine} paused
 * at an import, and on a bare `WebAssembly.Memory` for comparison; plus the memory accessors'
 * own cost, which is most of it.
 *
 * Not part of `npm run bench` (it measures the allocator alone); run it with
 * `npm run build:scripts && node_modules/.bin/node build/bench/allocator.js`.
 * Prints the median of 7 rounds of each measurement, in nanoseconds of CPU time (user + system,
 * from `process.cpuUsage`), which is steadier than wall time on a shared machine.
 */
import { VirtualMachinePrototype } from '../lib/index.js';
import type { VirtualMachine } from '../lib/index.js';
import { type AllocatorMemory, FreeingBumpAllocator, WASM_PAGE_SIZE } from '../lib/substrate/heap/allocator.js';
import { wat } from '../spec/support/wat.js';

const ROUNDS = 7;
const N = 500_000;

/** CPU time used by this process so far, in ns. */
function cpuTime(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
}

/** The median over {@link ROUNDS} rounds of the CPU time per iteration of `body`, in ns. */
function measure(body: (iterations: number) => void): number {
  body(N); // warm up
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = cpuTime();
    body(N);
    times.push((cpuTime() - start) / N);
  }
  return times.sort((a, b) => a - b)[ROUNDS >> 1]!;
}

/** The thinnest possible AllocatorMemory: what the allocator costs by itself. */
class BareMemory implements AllocatorMemory {
  constructor(readonly memory: WebAssembly.Memory) {}
  memorySize(): number {
    return this.memory.buffer.byteLength / WASM_PAGE_SIZE;
  }
  readMemory(offset: number, size: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, offset, size).slice();
  }
  writeMemory(offset: number, data: Uint8Array): void {
    new Uint8Array(this.memory.buffer).set(data, offset);
  }
  growMemory(pages: number): void {
    this.memory.grow(pages);
  }
}

/** A paused VM: the state the allocator is used in during a runtime call. */
async function pausedVm(): Promise<VirtualMachine> {
  const moduleBytes = await wat(`(module
    (import "env" "get" (func $get (result i32)))
    (memory (export "memory") 16)
    (func (export "main") (result i32) (call $get)))`);
  const proto = await VirtualMachinePrototype.create({ moduleBytes, symbols: () => 0 });
  const vm = proto.prepare().start('main', []);
  if (vm.run(null).type !== 'interrupted') throw new Error('expected a pause');
  return vm;
}

function pairs(memory: AllocatorMemory, label: string): number {
  // The steady state of a runtime call: the block comes from the free list and goes back.
  const reuse = new FreeingBumpAllocator(1024);
  const sizes = [13, 32, 100, 700];
  const single = measure((n) => {
    for (let i = 0; i < n; i++) reuse.free(memory, reuse.malloc(memory, sizes[i & 3]!));
  });
  // A stack of 16 live blocks of mixed sizes, freed in reverse: more list traffic per pair.
  const nested = new FreeingBumpAllocator(1024);
  const live: number[] = [];
  const stacked = measure((n) => {
    for (let i = 0; i < n; i++) {
      if ((i & 31) < 16) live.push(nested.malloc(memory, sizes[i & 3]! + i));
      else nested.free(memory, live.pop()!);
    }
  });
  console.log(`${label}: malloc+free pair ${single.toFixed(0)} ns (reuse), ${(stacked * 2).toFixed(0)} ns (16-deep stack)`);
  return single;
}

const vm = await pausedVm();
pairs(new BareMemory(new WebAssembly.Memory({ initial: 16 })), 'bare WebAssembly.Memory');
const onVm = pairs(vm, 'paused VirtualMachine  ');

const scratch = new Uint8Array(8);
let sink = 0;
const size = measure((n) => {
  for (let i = 0; i < n; i++) sink += vm.memorySize();
});
const read = measure((n) => {
  for (let i = 0; i < n; i++) sink += vm.readMemory(900_000 + ((i & 255) << 3), 8)[0]!;
});
const write = measure((n) => {
  for (let i = 0; i < n; i++) vm.writeMemory(900_000 + ((i & 255) << 3), scratch);
});
// `sink` keeps the reads from being optimised away.
if (sink < 0) throw new Error('unreachable');
console.log(
  `paused VirtualMachine accessors: memorySize ${size.toFixed(0)} ns, ` +
    `readMemory(8) ${read.toFixed(0)} ns, writeMemory(8) ${write.toFixed(0)} ns`,
);
const accessors = 2 * (size + read + write);
console.log(
  `a pair = 2 memorySize + 2 readMemory + 2 writeMemory (${accessors.toFixed(0)} ns) ` +
    `+ the allocator itself (~${(onVm - accessors).toFixed(0)} ns)`,
);
