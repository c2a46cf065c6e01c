/**
 * Test helper: an {@link AllocatorMemory} on a bare `WebAssembly.Memory`, which records every
 * access so that tests can check the allocator never reaches outside the memory, and counts the
 * accesses so that they can check each operation does a bounded amount of work.
 */
import { OutOfBoundsError } from '../../lib/base/errors.js';
import { CURRENT_VIEW, type CurrentViewAccess } from '../../lib/base/guest-memory-access.js';
import { type AllocatorMemory, WASM_PAGE_SIZE } from '../../lib/substrate/heap/allocator.js';

/** A guest memory for allocator tests. */
export class FakeMemory implements AllocatorMemory {
  readonly memory: WebAssembly.Memory;
  /** Accesses that fell outside the memory (the allocator must never make one). */
  readonly outOfBounds: string[] = [];
  /** Number of calls of each method so far. */
  readonly calls = { memorySize: 0, readMemory: 0, writeMemory: 0, growMemory: 0 };

  constructor(
    initialPages: number,
    /** The memory's declared maximum, in pages, or undefined for none (65536). */
    readonly maximumPages?: number,
  ) {
    this.memory = new WebAssembly.Memory(
      maximumPages === undefined ? { initial: initialPages } : { initial: initialPages, maximum: maximumPages },
    );
  }

  /** A view of the whole memory (refetched: growing detaches the previous buffer). */
  get bytes(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }

  memorySize(): number {
    this.calls.memorySize++;
    return this.memory.buffer.byteLength / WASM_PAGE_SIZE;
  }

  readMemory(offset: number, size: number): Uint8Array {
    this.calls.readMemory++;
    this.#check('read', offset, size);
    return this.bytes.slice(offset, offset + size);
  }

  writeMemory(offset: number, data: Uint8Array): void {
    this.calls.writeMemory++;
    this.#check('write', offset, data.length);
    this.bytes.set(data, offset);
  }

  growMemory(pages: number): void {
    this.calls.growMemory++;
    const limit = this.maximumPages ?? 65536;
    const current = this.memory.buffer.byteLength / WASM_PAGE_SIZE;
    if (!Number.isSafeInteger(pages) || pages < 0 || current + pages > limit) {
      throw new OutOfBoundsError(`cannot grow by ${pages} pages: ${current} of ${limit}`);
    }
    this.memory.grow(pages);
  }

  /** Total number of calls of all four methods. */
  totalCalls(): number {
    const c = this.calls;
    return c.memorySize + c.readMemory + c.writeMemory + c.growMemory;
  }

  #check(what: string, offset: number, size: number): void {
    const length = this.memory.buffer.byteLength;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(size) || offset < 0 || size < 0 || offset + size > length) {
      this.outOfBounds.push(`${what} ${size} bytes at ${offset} (memory: ${length} bytes)`);
      throw new OutOfBoundsError(`${what} out of bounds`);
    }
  }
}


/**
 * A {@link FakeMemory} that also offers the library's in-place fast path (`CURRENT_VIEW`, as
 * `Prepare`, `VirtualMachine` and the memory of inline host functions and of a `runToCompletion`
 * host do), so that the allocator reads and writes headers through the buffer instead of the
 * counted, checked accessors.
 */
export class InPlaceFakeMemory extends FakeMemory implements CurrentViewAccess {
  /** Times the allocator fetched the view. */
  bufferFetches = 0;
  #view: DataView<ArrayBuffer> | null = null;

  [CURRENT_VIEW](): DataView<ArrayBuffer> {
    this.bufferFetches++;
    const buffer = this.memory.buffer as ArrayBuffer;
    if (this.#view?.buffer !== buffer) this.#view = new DataView(buffer);
    return this.#view;
  }
}
