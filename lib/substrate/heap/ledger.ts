/**
 * The host's own record of every block the allocator has carved out of the heap.
 *
 * The freeing-bump allocator keeps its bookkeeping (one 8-byte header per block, and the free
 * lists threaded through those headers) inside the guest's memory, where the guest can overwrite
 * it. Substrate's allocator trusts what it reads back. This ledger is what lets ours check it:
 *
 * - In this allocator a block never moves, splits or merges. The bump pointer carves it once,
 *   with a size class (its *order*), and from then on it only alternates between live and free.
 *   So the complete truth about the heap is, for each block start: its order and whether it is
 *   live.
 * - Block starts are 8-aligned offsets from the heap base, so the ledger is one byte per 8 bytes
 *   of heap, in chunks of {@link CHUNK_ENTRIES} bytes added as the bump pointer advances. A byte
 *   of 0 means "no block starts here"; otherwise it holds the state and order. Chunks rather
 *   than one array grown by doubling: growing copies nothing, and small arrays come from memory
 *   the process already has, where a large new one is memory the operating system must map page
 *   by page (which costs more than the allocator's own work on some machines).
 *
 * With it, `free` tells a pointer that was never handed out from a double free without trusting
 * the guest, and every header or free-list link read back from the guest's memory is compared
 * with the truth before it is used. Guest scribbles therefore surface as a clear error instead of
 * two overlapping blocks.
 *
 * @module
 */

/** The state of the block whose header starts at a given address (`none`: no block starts there). */
export type BlockState = 'none' | 'live' | 'free';

/** Bits of a ledger byte: the top two are the state, the low six the order. */
const LIVE_BIT = 0x80;
const FREE_BIT = 0x40;
const ORDER_MASK = 0x3f;

/** Granularity of the ledger: every block header starts at a multiple of 8 from the heap base. */
const GRANULE = 8;

/** Entries per chunk of the ledger (a chunk covers 32 KiB of heap); a power of two. */
const CHUNK_ENTRIES = 4096;
const CHUNK_SHIFT = 12;

/** The most chunks {@link BlockLedger.clear} keeps: 2 MiB, the ledger of a 16 MiB heap. */
const KEPT_CHUNKS = 512;

/** The state and order of every block carved out of one heap. */
export class BlockLedger {
  /** Address of the first header: the (8-aligned) heap base. */
  readonly #base: number;
  /**
   * The entries, {@link CHUNK_ENTRIES} per chunk, covering the heap from the base up to (at
   * least) the bump pointer. Entries past the bump pointer are 0; entries below it are 0 for
   * addresses inside a block.
   */
  readonly #chunks: Uint8Array[] = [];

  constructor(base: number) {
    this.#base = base;
  }

  /**
   * The state of the block whose header is at `header`: `none` if no block starts there
   * (including any address below the base, past the bump pointer, or misaligned).
   */
  state(header: number): BlockState {
    const entry = this.#entry(header);
    if (entry & LIVE_BIT) return 'live';
    if (entry & FREE_BIT) return 'free';
    return 'none';
  }

  /** The order of the block whose header is at `header`; meaningful only if its state is not `none`. */
  order(header: number): number {
    return this.#entry(header) & ORDER_MASK;
  }

  /** True if a free block of order `order` has its header at `header`. */
  isFree(header: number, order: number): boolean {
    return this.#entry(header) === (FREE_BIT | order);
  }

  /**
   * Makes room for the headers of blocks carved below `end` (the bump pointer after a carve), a
   * chunk at a time: the ledger stays within one chunk of 1/8 of the heap carved so far.
   */
  reserve(end: number): void {
    const needed = Math.ceil((end - this.#base) / GRANULE);
    const chunks = this.#chunks;
    while (chunks.length * CHUNK_ENTRIES < needed) chunks.push(new Uint8Array(CHUNK_ENTRIES));
  }

  /**
   * Forgets every block, for a new heap at the same base: the chunks are zeroed and kept (up to
   * {@link KEPT_CHUNKS}), so that the next heap's ledger costs no allocation.
   */
  clear(): void {
    const chunks = this.#chunks;
    if (chunks.length > KEPT_CHUNKS) chunks.length = KEPT_CHUNKS;
    for (const chunk of chunks) chunk.fill(0);
  }

  /**
   * Records that the block at `header` (new, or taken off a free list) is live with `order`.
   * `header` must be 8-aligned from the base and covered by {@link BlockLedger.reserve}.
   */
  markLive(header: number, order: number): void {
    this.#set(header, LIVE_BIT | order);
  }

  /** Records that the live block at `header` is now on its order's free list. */
  markFree(header: number, order: number): void {
    this.#set(header, FREE_BIT | order);
  }

  /**
   * The entries of the blocks below `end` (the bump pointer), one byte per 8 bytes of heap: what
   * {@link importEntries} takes back, for a suspended call (`runtime/suspended-call.ts`).
   */
  exportEntries(end: number): Uint8Array {
    const count = Math.max(0, Math.ceil((end - this.#base) / GRANULE));
    const out = new Uint8Array(count);
    for (let i = 0; i * CHUNK_ENTRIES < count; i++) {
      const chunk = this.#chunks[i];
      if (chunk !== undefined) out.set(chunk.subarray(0, Math.min(CHUNK_ENTRIES, count - i * CHUNK_ENTRIES)), i * CHUNK_ENTRIES);
    }
    return out;
  }

  /** Replaces every entry with `entries` (from {@link exportEntries}): the ledger of a heap carved up to `end`. */
  importEntries(entries: Uint8Array, end: number): void {
    this.clear();
    this.reserve(end);
    for (let i = 0; i * CHUNK_ENTRIES < entries.length; i++) {
      this.#chunks[i]!.set(entries.subarray(i * CHUNK_ENTRIES, (i + 1) * CHUNK_ENTRIES));
    }
  }

  #set(header: number, entry: number): void {
    const index = (header - this.#base) / GRANULE;
    this.#chunks[index >>> CHUNK_SHIFT]![index & (CHUNK_ENTRIES - 1)] = entry;
  }

  /** The ledger byte for `header`, 0 when it cannot be a block start. */
  #entry(header: number): number {
    const offset = header - this.#base;
    // A misaligned offset is never a block start, nor is one below the base or past the last
    // chunk (past the bump pointer: no block).
    if (offset < 0 || (offset & (GRANULE - 1)) !== 0) return 0;
    const index = offset / GRANULE;
    const chunk = this.#chunks[index >>> CHUNK_SHIFT];
    return chunk === undefined ? 0 : chunk[index & (CHUNK_ENTRIES - 1)]!;
  }
}
