/**
 * The heap allocator Substrate/Polkadot runtimes expect from their host: a freeing-bump
 * allocator with the semantics of Substrate's `FreeingBumpHeapAllocator` (crate `sc-allocator`).
 *
 * ## Why the host allocates
 *
 * A Substrate runtime does not manage its own heap. Everything above the runtime's
 * `__heap_base` global belongs to the host, and the runtime asks for memory with the imports
 * `ext_allocator_malloc_version_1(size: i32) -> i32` and `ext_allocator_free_version_1(ptr: i32)`.
 * The host also uses the same heap to hand buffers to the runtime (a call's input, the results of
 * host functions that return variable-length data). Every byte the allocator hands out is
 * therefore visible to the runtime, and so is where it is: a runtime's behaviour may depend on
 * the exact pointers it receives, so a host must reproduce Substrate's choices exactly, not just
 * "some valid allocation".
 *
 * ## How it works
 *
 * ```text
 *  heap base (8-aligned)                          bump pointer            end of memory
 *  |                                              |                       |
 *  v                                              v                       v
 *  +--------+----------+--------+------+--------+-------------------------+
 *  | header | 16 bytes | header | 8 B  | header | ...   never used yet    |
 *  +--------+----------+--------+------+--------+-------------------------+
 *            ^ pointer returned by malloc
 * ```
 *
 * - **Orders.** A request of `size` bytes is rounded up to a power of two, at least 8: its
 *   *order* is `log2(rounded) - 3`, so order 0 is 8 bytes, order 1 is 16, ..., order 22 is
 *   32 MiB, the largest allowed request ({@link MAX_POSSIBLE_ALLOCATION}). Rounding wastes up to
 *   half of a block but makes every block reusable by any later request of the same order.
 * - **Headers.** Every block is preceded by an 8-byte little-endian header in the guest's memory.
 *   A live block's header holds its order in the low 32 bits and `1` in the high 32 bits; a free
 *   block's header holds `0` in the high 32 bits and, in the low 32 bits, the address of the next
 *   free block's header of the same order (`0xFFFFFFFF` ends the list). Headers and blocks are
 *   multiples of 8 bytes and the heap base is rounded up to a multiple of 8, so every pointer
 *   handed out is 8-aligned (enough for an `i64`).
 * - **malloc.** If the free list of the order is not empty, its first block is taken off the
 *   list and reused as it is. Otherwise a new block (header + rounded size) is carved at the bump
 *   pointer, which then moves past it. The bump pointer never moves back: freed memory is only
 *   ever reused by requests of the same order, and blocks are never split or merged.
 * - **free.** The order is known from the block's header; the block is pushed at the front of
 *   its order's free list, so the most recently freed block is the first reused.
 * - **Growth.** When a new block would end past the end of memory, the memory grows: to twice
 *   its current number of pages, or to just enough pages if that is more, but never past its
 *   maximum (the memory's own, or {@link AllocatorOptions.maxMemoryPages}); if even the pages
 *   the block needs would pass the maximum, the request fails with `OutOfMemory`.
 * - **Poisoning.** After the first failed request every later one fails too (`Poisoned`), as in
 *   Substrate: a runtime call whose allocation failed is over.
 *
 * ## What a hostile guest cannot do
 *
 * The headers live in the guest's memory, so the guest can overwrite them. Substrate's
 * allocator trusts what it reads back; this one keeps its own record of every block (the
 * {@link BlockLedger}, one byte per 8 bytes of heap used) and checks everything it reads against
 * it. Whatever the guest writes:
 *
 * - the allocator only reads and writes headers of blocks it carved, which lie below the bump
 *   pointer and so inside the memory (the memory is checked not to have shrunk);
 * - it never hands out a block that is live, that it did not carve, or of the wrong order, so
 *   live blocks never overlap;
 * - every operation does a fixed amount of work (no list is ever walked), so nothing can make it
 *   loop; the host memory it uses is the ledger plus one word per order;
 * - a header that does not hold what the allocator wrote, or a free-list link that does not lead
 *   to a free block of the same order, is reported as `HeaderCorrupted`; freeing a pointer that
 *   is not the start of a block is `InvalidPointer`; freeing a free block is `DoubleFree`.
 *
 * For a guest that never writes outside its blocks this changes nothing: pointers, headers,
 * memory growth and failures are exactly Substrate's. A guest that does may be refused where
 * Substrate would carry on with a corrupted heap.
 *
 * ## Use
 *
 * The allocator borrows the memory for each call, so one allocator serves a whole runtime call
 * across the {@link Prepare} that writes the input and the {@link VirtualMachine} paused at each
 * allocator import:
 *
 * ```ts
 * const allocator = new FreeingBumpAllocator(prototype.globalValue('__heap_base'));
 * const prepare = prototype.prepare();
 * const input = allocator.malloc(prepare, data.length);
 * prepare.writeMemory(input, data);
 * const vm = prepare.start('Core_version', [WasmValue.i32(input), WasmValue.i32(data.length)]);
 * let outcome = vm.run(null);
 * // at ext_allocator_malloc_version_1:
 * outcome = vm.run(WasmValue.i32(allocator.malloc(vm, outcome.params[0]!.value as number)));
 * ```
 *
 * An allocator error ends the runtime call, as in Substrate: do not resume the guest with a
 * made-up pointer. Create a new allocator for each call: the heap starts empty every time.
 *
 * ## Cost
 *
 * `malloc` and `free` each read the memory's size, read back the block's header (except for a
 * block carved fresh) to check it, and write the header; growing the memory adds a `growMemory`.
 * On the library's own memory objects ({@link Prepare}, {@link VirtualMachine}, the memory
 * handed to inline host functions and to a `runToCompletion` host) the header is read and written in place, through the
 * memory's view (the internal `CURRENT_VIEW` fast path); on any other {@link AllocatorMemory}
 * through `readMemory`/`writeMemory`, which check and copy and cost several times more. The
 * ledger grows a 4 KiB chunk at a time, and {@link FreeingBumpAllocator.reset} keeps it for the
 * next call, so that a call's bookkeeping allocates nothing once the allocator has served one.
 * Measured in `Metadata_metadata` of westend (18,774 `malloc`/`free`): see `docs/performance.md`.
 *
 * @module
 */

import { OutOfBoundsError, UsageError } from '../../base/errors.js';
import { currentViewOf } from '../../base/guest-memory-access.js';
import type { Prepare, VirtualMachine } from '../../index.js';
import { AllocatorError } from './allocator-error.js';
import { BlockLedger } from './ledger.js';
import { type AllocatorMemory, MAX_WASM_PAGES, WASM_PAGE_SIZE } from './heap-memory.js';

export { AllocatorError, type AllocatorErrorKind } from './allocator-error.js';
export { type AllocatorMemory, MAX_WASM_PAGES, WASM_PAGE_SIZE } from './heap-memory.js';

/** The largest request `malloc` accepts by default: 32 MiB, Substrate's `MAX_POSSIBLE_ALLOCATION`. */
export const MAX_POSSIBLE_ALLOCATION = 33_554_432;

/** The size of the header in front of every block, in bytes. */
export const HEADER_SIZE = 8;

/** The smallest block: requests of 0 to 8 bytes all get 8 bytes. Also the alignment of every pointer. */
export const MIN_ALLOCATION = 8;

/** The end-of-list marker in a free block's header. */
const NIL = 0xffff_ffff;

/** The high 32 bits of a live block's header (a free block's are 0). */
const LIVE_MARK = 1;

/** The largest `maxAllocation`: blocks must stay addressable by 32-bit pointers. */
const MAX_MAX_ALLOCATION = 2 ** 31;

/** Options of a {@link FreeingBumpAllocator}. */
export interface AllocatorOptions {
  /**
   * The largest request accepted, a power of two from 8 to 2^31. Default
   * {@link MAX_POSSIBLE_ALLOCATION} (32 MiB, Substrate's limit for on-chain calls; recent
   * Substrate versions allow 2^31 bytes in off-chain calls).
   */
  readonly maxAllocation?: number;
  /**
   * The allocator never grows the memory past this many pages. Default 65536 (4 GiB), so the
   * memory's own maximum decides. Substrate's default heap strategy gives the memory a maximum
   * of its initial size plus 2048 pages; pass that here to fail at the same point on a module
   * that declares no maximum.
   */
  readonly maxMemoryPages?: number;
}

/** What the allocator has done so far; a snapshot returned by {@link FreeingBumpAllocator.stats}. */
export interface AllocationStats {
  /** Bytes in live blocks now, headers included (a 5-byte request counts 16). */
  readonly bytesAllocated: number;
  /** The largest `bytesAllocated` has ever been. */
  readonly bytesAllocatedPeak: number;
  /** Bytes of every block ever handed out, headers included (reuses count again). */
  readonly bytesAllocatedSum: number;
  /** The bump pointer minus the heap base: how much of the heap has ever been carved into blocks. */
  readonly addressSpaceUsed: number;
  /** Successful `malloc` calls. */
  readonly allocations: number;
  /** Successful `free` calls. */
  readonly frees: number;
}

/** A {@link FreeingBumpAllocator}'s state as data (see `exportState`; not exported by the package). */
export interface AllocatorState {
  readonly bumper: number;
  readonly heads: readonly number[];
  readonly ledger: Uint8Array;
  /** bytesAllocated, its peak, its sum, allocations, frees. */
  readonly counters: readonly number[];
}

/**
 * A freeing-bump heap allocator over a guest's memory; see the module documentation.
 *
 * Create one per runtime call, with the runtime's `__heap_base`, and pass the memory (a
 * {@link Prepare}, a paused {@link VirtualMachine}, or any {@link AllocatorMemory}) to each
 * `malloc` and `free`. The memory must be the same one for the allocator's whole life.
 */
export class FreeingBumpAllocator {
  /** Where the first header goes: the heap base given to the constructor, rounded up to a multiple of 8. */
  readonly heapBase: number;
  /** The largest request accepted; see {@link AllocatorOptions.maxAllocation}. */
  readonly maxAllocation: number;
  /** The page count the allocator never grows the memory past; see {@link AllocatorOptions.maxMemoryPages}. */
  readonly maxMemoryPages: number;

  /** Where the next new block's header goes. Only ever increases. */
  #bumper: number;
  /** For each order, the header address of the first free block, or {@link NIL}. */
  readonly #heads: Uint32Array;
  /** The truth about every block, to check what is read back from the guest's memory. */
  readonly #ledger: BlockLedger;
  /** The size of the memory, in bytes, at the last call: it must never be smaller. */
  #lastMemoryBytes = 0;
  /** The first error reported, after which every request is refused. */
  #poison: AllocatorError | null = null;
  /** One header's bytes, reused for every write so that writing a header allocates nothing. */
  readonly #headerBytes = new Uint8Array(HEADER_SIZE);
  /**
   * The guest memory's view at the last observation, when the memory is one of the library's own
   * (see `CURRENT_VIEW`): headers are then read and written in place. `null` for any other
   * {@link AllocatorMemory}, whose accessors are used instead.
   */
  #words: DataView | null = null;
  /** The two words of the header read last (see {@link #readHeader}). */
  #low = 0;
  #high = 0;

  #bytesAllocated = 0;
  #bytesAllocatedPeak = 0;
  #bytesAllocatedSum = 0;
  #allocations = 0;
  #frees = 0;

  /**
   * An empty heap starting at `heapBase` (rounded up to a multiple of 8), usually the runtime's
   * exported `__heap_base` global. Throws {@link UsageError} (`InvalidArgument`) for a heap base
   * that is not an integer in 0 .. 2^32-1, or for options out of range.
   */
  constructor(heapBase: number, options: AllocatorOptions = {}) {
    if (!Number.isSafeInteger(heapBase) || heapBase < 0 || heapBase > 0xffff_ffff) {
      throw new UsageError('InvalidArgument', `the heap base must be an integer from 0 to 2^32-1, got ${String(heapBase)}`);
    }
    const maxAllocation = options.maxAllocation ?? MAX_POSSIBLE_ALLOCATION;
    if (
      !Number.isSafeInteger(maxAllocation) ||
      maxAllocation < MIN_ALLOCATION ||
      maxAllocation > MAX_MAX_ALLOCATION ||
      2 ** Math.round(Math.log2(maxAllocation)) !== maxAllocation
    ) {
      throw new UsageError(
        'InvalidArgument',
        `maxAllocation must be a power of two from 8 to 2^31, got ${String(maxAllocation)}`,
      );
    }
    const maxMemoryPages = options.maxMemoryPages ?? MAX_WASM_PAGES;
    if (!Number.isSafeInteger(maxMemoryPages) || maxMemoryPages < 0 || maxMemoryPages > MAX_WASM_PAGES) {
      throw new UsageError(
        'InvalidArgument',
        `maxMemoryPages must be an integer from 0 to 65536, got ${String(maxMemoryPages)}`,
      );
    }
    this.heapBase = Math.ceil(heapBase / MIN_ALLOCATION) * MIN_ALLOCATION;
    this.maxAllocation = maxAllocation;
    this.maxMemoryPages = maxMemoryPages;
    this.#bumper = this.heapBase;
    this.#heads = new Uint32Array(orderOf(maxAllocation) + 1).fill(NIL);
    this.#ledger = new BlockLedger(this.heapBase);
  }

  /**
   * Empties the heap for a new call: the allocator is then as a new one with the same heap base
   * and options (no block, counters at zero, not poisoned), but keeps the memory of its
   * bookkeeping, so that reusing it costs less than creating one. The heap's contents are not
   * touched: use it with a fresh instance, as a new allocator would be.
   */
  reset(): void {
    this.#bumper = this.heapBase;
    this.#heads.fill(NIL);
    this.#ledger.clear();
    this.#lastMemoryBytes = 0;
    this.#poison = null;
    this.#words = null;
    this.#bytesAllocated = 0;
    this.#bytesAllocatedPeak = 0;
    this.#bytesAllocatedSum = 0;
    this.#allocations = 0;
    this.#frees = 0;
  }

  /**
   * @internal The allocator's whole state as plain data (for a suspended call, see
   * `runtime/suspended-call.ts`); `null` once poisoned.
   */
  exportState(): AllocatorState | null {
    if (this.#poison !== null) return null;
    return {
      bumper: this.#bumper,
      heads: [...this.#heads],
      ledger: this.#ledger.exportEntries(this.#bumper),
      counters: [this.#bytesAllocated, this.#bytesAllocatedPeak, this.#bytesAllocatedSum, this.#allocations, this.#frees],
    };
  }

  /**
   * @internal Puts back a state from {@link exportState} (of an allocator with the same heap
   * base and options), after checking that it is consistent; throws a `RangeError` if not.
   */
  importState(state: AllocatorState): void {
    const { bumper, heads, ledger, counters } = state;
    const isAddress = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0 && (n as number) <= 0xffff_ffff;
    if (!isAddress(bumper) || bumper < this.heapBase || (bumper - this.heapBase) % MIN_ALLOCATION !== 0) throw new RangeError('bad bump pointer');
    if (!Array.isArray(heads) || heads.length !== this.#heads.length || !heads.every(isAddress)) throw new RangeError('bad free lists');
    if (!(ledger instanceof Uint8Array) || ledger.length !== (bumper - this.heapBase) / MIN_ALLOCATION) throw new RangeError('bad ledger');
    if (!Array.isArray(counters) || counters.length !== 5 || !counters.every((n) => Number.isSafeInteger(n) && n >= 0)) throw new RangeError('bad counters');
    this.reset();
    this.#bumper = bumper;
    this.#heads.set(heads);
    this.#ledger.importEntries(ledger, bumper);
    [this.#bytesAllocated, this.#bytesAllocatedPeak, this.#bytesAllocatedSum, this.#allocations, this.#frees] = counters as [number, number, number, number, number];
  }

  /** True once a request has failed; every later request then throws `Poisoned`. */
  get poisoned(): boolean {
    return this.#poison !== null;
  }

  /** A snapshot of the allocator's counters. */
  stats(): AllocationStats {
    return {
      bytesAllocated: this.#bytesAllocated,
      bytesAllocatedPeak: this.#bytesAllocatedPeak,
      bytesAllocatedSum: this.#bytesAllocatedSum,
      addressSpaceUsed: this.#bumper - this.heapBase,
      allocations: this.#allocations,
      frees: this.#frees,
    };
  }

  /**
   * Allocates a block of at least `size` bytes (rounded up to a power of two, at least 8) in
   * `memory`, growing the memory if needed, and returns the block's address as an unsigned
   * 32-bit number (8-aligned; pass it to `WasmValue.i32`, which accepts the unsigned range).
   * The block's contents are not cleared: a reused block holds what was there before.
   *
   * `size` is the guest's `i32` argument, signed or unsigned (`-1` means 2^32-1). Throws
   * {@link AllocatorError} (`AllocationTooLarge`, `OutOfMemory`, `HeaderCorrupted`,
   * `MemoryShrank`, `Poisoned`), after which the allocator is poisoned; or {@link UsageError}
   * if `size` is not an integer in -2^31 .. 2^32-1, which changes nothing.
   */
  malloc(memory: AllocatorMemory, size: number): number {
    const request = toUnsigned('malloc: the size', size);
    this.#refuseIfPoisoned();
    try {
      return this.#allocate(memory, request);
    } catch (error) {
      if (error instanceof AllocatorError) this.#poison = error;
      throw error;
    }
  }

  /**
   * Frees the block at `pointer`, an address `malloc` returned and that has not been freed since.
   * The block's memory is left as it is, except its header.
   *
   * `pointer` is the guest's `i32` argument, signed or unsigned. Throws {@link AllocatorError}
   * (`InvalidPointer`, `DoubleFree`, `HeaderCorrupted`, `MemoryShrank`, `Poisoned`), after which
   * the allocator is poisoned; or {@link UsageError} if `pointer` is not an integer in
   * -2^31 .. 2^32-1, which changes nothing. Freeing 0 is an `InvalidPointer`, as in Substrate.
   */
  free(memory: AllocatorMemory, pointer: number): void {
    const address = toUnsigned('free: the pointer', pointer);
    this.#refuseIfPoisoned();
    try {
      this.#release(memory, address);
    } catch (error) {
      if (error instanceof AllocatorError) this.#poison = error;
      throw error;
    }
  }

  #allocate(memory: AllocatorMemory, size: number): number {
    const memoryBytes = this.#observeMemory(memory);
    if (size > this.maxAllocation) {
      throw new AllocatorError(
        'AllocationTooLarge',
        `cannot allocate ${size} bytes: the largest allocation is ${this.maxAllocation} bytes`,
        { size },
      );
    }
    const order = orderOf(size);
    const blockSize = MIN_ALLOCATION * 2 ** order;
    const head = this.#heads[order]!;
    // Every memory access happens before any state changes, so that an exception from the memory
    // object (a consumed state object, say) leaves the allocator as it was.
    const header =
      head === NIL ? this.#carve(memory, order, blockSize, memoryBytes, size) : this.#unlink(memory, order, head);
    this.#bytesAllocated += blockSize + HEADER_SIZE;
    this.#bytesAllocatedSum += blockSize + HEADER_SIZE;
    if (this.#bytesAllocated > this.#bytesAllocatedPeak) this.#bytesAllocatedPeak = this.#bytesAllocated;
    this.#allocations += 1;
    return header + HEADER_SIZE;
  }

  /** Takes the free block at `header` off the front of the free list of `order`; returns `header`. */
  #unlink(memory: AllocatorMemory, order: number, header: number): number {
    // Only addresses checked against the ledger ever become list heads, so this holds unless the
    // allocator itself is wrong; it is cheap enough to check anyway.
    if (!this.#ledger.isFree(header, order)) {
      throw this.#corrupted(
        header,
        `the free list of ${MIN_ALLOCATION * 2 ** order}-byte blocks starts at ${hex(header)}, not a free block of that size`,
      );
    }
    this.#readHeader(memory, header);
    const next = this.#low;
    if (this.#high !== 0) {
      throw this.#corrupted(header, `the header of the free block at ${hex(header)} no longer says it is free`);
    }
    // The guest may have rewritten the link. Following it is what Substrate does, and harmless as
    // long as it leads to another free block of the same order: the rewrite then only loses
    // blocks. Anything else (a live block, this block itself, a random address) is refused,
    // which also rules out cycles.
    if (next !== NIL && (next === header || !this.#ledger.isFree(next, order))) {
      throw this.#corrupted(
        header,
        `the header of the free block at ${hex(header)} links to ${hex(next)}, which is not a free block of the same size`,
      );
    }
    this.#writeHeader(memory, header, order, LIVE_MARK);
    this.#heads[order] = next;
    this.#ledger.markLive(header, order);
    return header;
  }

  /** Carves a new block of `order` at the bump pointer, growing the memory if needed; returns its header's address. */
  #carve(memory: AllocatorMemory, order: number, blockSize: number, memoryBytes: number, size: number): number {
    const header = this.#bumper;
    const end = header + HEADER_SIZE + blockSize;
    if (end > memoryBytes) {
      this.#grow(memory, end, memoryBytes, size);
      // Growing detached the buffer the headers are written through: observe the new one.
      this.#observeMemory(memory);
    }
    this.#writeHeader(memory, header, order, LIVE_MARK);
    this.#ledger.reserve(end);
    this.#bumper = end;
    this.#ledger.markLive(header, order);
    return header;
  }

  /**
   * Grows `memory` (now `memoryBytes` long) so that it is at least `end` bytes long, the way
   * Substrate does: double the page count, or take exactly the pages needed if that is more,
   * capped at the maximum. Returns the new size in bytes.
   */
  #grow(memory: AllocatorMemory, end: number, memoryBytes: number, size: number): number {
    const current = memoryBytes / WASM_PAGE_SIZE;
    const required = Math.ceil(end / WASM_PAGE_SIZE);
    const outOfMemory = (why: string) =>
      new AllocatorError(
        'OutOfMemory',
        `cannot allocate ${size} bytes: the heap needs memory up to byte ${end} (${required} pages) but ${why}`,
        { size },
      );
    if (required > this.maxMemoryPages) {
      throw outOfMemory(`the allocator may not grow the memory past ${this.maxMemoryPages} pages`);
    }
    const target = Math.max(Math.min(current * 2, this.maxMemoryPages), required);
    if (tryGrow(memory, target - current)) return target * WASM_PAGE_SIZE;
    // The memory's own maximum is below `target`. Substrate reads that maximum and grows to it
    // (when it is at least `required`); an AllocatorMemory can only tell by refusing, without
    // side effects, so find the same number of pages by bisection: at most 16 refused attempts,
    // and only on the call that reaches the maximum.
    if (target === required || !tryGrow(memory, required - current)) {
      throw outOfMemory(`the memory cannot grow from ${current} to ${required} pages`);
    }
    let reached = required;
    let refused = target;
    while (refused - reached > 1) {
      const middle = Math.floor((reached + refused) / 2);
      if (tryGrow(memory, middle - reached)) reached = middle;
      else refused = middle;
    }
    return reached * WASM_PAGE_SIZE;
  }

  #release(memory: AllocatorMemory, pointer: number): void {
    this.#observeMemory(memory);
    const header = pointer - HEADER_SIZE;
    const state = this.#ledger.state(header);
    if (state === 'none') {
      throw new AllocatorError('InvalidPointer', `cannot free ${hex(pointer)}: ${this.#whyNotABlock(pointer)}`, { pointer });
    }
    if (state === 'free') {
      throw new AllocatorError('DoubleFree', `cannot free ${hex(pointer)}: the block was already freed`, { pointer });
    }
    const order = this.#ledger.order(header);
    this.#readHeader(memory, header);
    if (this.#high !== LIVE_MARK || this.#low !== order) {
      throw this.#corrupted(header, `the header of the live block ${hex(pointer)} was overwritten`);
    }
    const next = this.#heads[order]!;
    this.#writeHeader(memory, header, next, 0);
    this.#heads[order] = header;
    this.#ledger.markFree(header, order);
    this.#bytesAllocated -= MIN_ALLOCATION * 2 ** order + HEADER_SIZE;
    this.#frees += 1;
  }

  /** Why `pointer` is not the start of a block, for an `InvalidPointer` message. */
  #whyNotABlock(pointer: number): string {
    if (pointer < this.heapBase + HEADER_SIZE) {
      return `the first block of the heap starts at ${hex(this.heapBase + HEADER_SIZE)}`;
    }
    if (pointer >= this.#bumper) {
      return `no block has been allocated at or past ${hex(this.#bumper)}`;
    }
    return 'it points inside a block or a header, not to the start of a block malloc returned';
  }

  /** The current size of `memory` in bytes, after checking that it has not shrunk. */
  #observeMemory(memory: AllocatorMemory): number {
    const words = currentViewOf(memory);
    this.#words = words;
    const bytes = words === null ? memory.memorySize() * WASM_PAGE_SIZE : words.byteLength;
    if (bytes < this.#lastMemoryBytes) {
      throw new AllocatorError(
        'MemoryShrank',
        `the memory is ${bytes} bytes long but was ${this.#lastMemoryBytes} at the previous call: is it the same memory?`,
      );
    }
    this.#lastMemoryBytes = bytes;
    return bytes;
  }

  /**
   * Reads the header at `header` (below the bump pointer, so inside the memory observed at the
   * start of this operation) into {@link #low} and {@link #high}: in place through the buffer
   * where the memory offers it, else with one `readMemory`.
   */
  #readHeader(memory: AllocatorMemory, header: number): void {
    const words = this.#words;
    if (words !== null) {
      this.#low = words.getUint32(header, true);
      this.#high = words.getUint32(header + 4, true);
      return;
    }
    const bytes = memory.readMemory(header, HEADER_SIZE);
    this.#low = lowWord(bytes);
    this.#high = highWord(bytes);
  }

  #writeHeader(memory: AllocatorMemory, header: number, low: number, high: number): void {
    const words = this.#words;
    if (words !== null) {
      words.setUint32(header, low, true);
      words.setUint32(header + 4, high, true);
      return;
    }
    const bytes = this.#headerBytes;
    bytes[0] = low;
    bytes[1] = low >>> 8;
    bytes[2] = low >>> 16;
    bytes[3] = low >>> 24;
    bytes[4] = high;
    bytes[5] = 0;
    bytes[6] = 0;
    bytes[7] = 0;
    memory.writeMemory(header, bytes);
  }

  #corrupted(header: number, what: string): AllocatorError {
    return new AllocatorError('HeaderCorrupted', `the heap's bookkeeping was overwritten: ${what}`, { pointer: header });
  }

  #refuseIfPoisoned(): void {
    if (this.#poison !== null) {
      throw new AllocatorError(
        'Poisoned',
        `the allocator refuses every request since an earlier one failed: ${this.#poison.message}`,
        { cause: this.#poison },
      );
    }
  }
}

/** The order of a request of `size` bytes (at most 2^31): log2 of its rounded size, minus 3. */
function orderOf(size: number): number {
  if (size <= MIN_ALLOCATION) return 0;
  // 32 - clz32(size - 1) is the exponent of the smallest power of two >= size.
  return 32 - Math.clz32(size - 1) - 3;
}

/** A guest `i32` (signed or unsigned) as an unsigned 32-bit number. */
function toUnsigned(what: string, value: number): number {
  if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0xffff_ffff) {
    throw new UsageError('InvalidArgument', `${what} must be an i32 (an integer from -2^31 to 2^32-1), got ${String(value)}`);
  }
  return value >>> 0;
}

/** Grows `memory` by `pages`; false if it refuses (an {@link OutOfBoundsError}), which grows nothing. */
function tryGrow(memory: AllocatorMemory, pages: number): boolean {
  try {
    memory.growMemory(pages);
    return true;
  } catch (error) {
    if (error instanceof OutOfBoundsError) return false;
    throw error;
  }
}

function lowWord(bytes: Uint8Array): number {
  return (bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24)) >>> 0;
}

function highWord(bytes: Uint8Array): number {
  return (bytes[4]! | (bytes[5]! << 8) | (bytes[6]! << 16) | (bytes[7]! << 24)) >>> 0;
}

function hex(address: number): string {
  return `0x${address.toString(16)}`;
}
