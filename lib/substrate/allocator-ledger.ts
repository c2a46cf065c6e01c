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
 *   of heap, grown by doubling as the bump pointer advances but never past 1/8 of the memory
 *   above the heap base. A byte of 0 means "no block starts here"; otherwise it holds the state
 *   and order.
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

/** The smallest ledger allocated, so that the first few blocks do not cause a copy each. */
const INITIAL_ENTRIES = 4096;

/** The state and order of every block carved out of one heap. */
export class BlockLedger {
  /** Address of the first header: the (8-aligned) heap base. */
  readonly #base: number;
  /** Entries past the bump pointer are 0; entries below it are 0 for addresses inside a block. */
  #entries = new Uint8Array(0);

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
   * Makes room for the headers of blocks carved below `end` (the bump pointer after a carve).
   * The ledger grows by doubling, so that this is amortised, but never past what the memory,
   * `memoryBytes` long, could hold: at most one byte per 8 bytes of the memory above the base.
   */
  reserve(end: number, memoryBytes: number): void {
    const needed = Math.ceil((end - this.#base) / GRANULE);
    if (needed <= this.#entries.length) return;
    const cap = Math.max(needed, Math.ceil((memoryBytes - this.#base) / GRANULE));
    const entries = new Uint8Array(Math.min(Math.max(needed, this.#entries.length * 2, INITIAL_ENTRIES), cap));
    entries.set(this.#entries);
    this.#entries = entries;
  }

  /**
   * Records that the block at `header` (new, or taken off a free list) is live with `order`.
   * `header` must be 8-aligned from the base and covered by {@link BlockLedger.reserve}.
   */
  markLive(header: number, order: number): void {
    this.#entries[(header - this.#base) / GRANULE] = LIVE_BIT | order;
  }

  /** Records that the live block at `header` is now on its order's free list. */
  markFree(header: number, order: number): void {
    this.#entries[(header - this.#base) / GRANULE] = FREE_BIT | order;
  }

  /** The ledger byte for `header`, 0 when it cannot be a block start. */
  #entry(header: number): number {
    const offset = header - this.#base;
    // A misaligned offset is never a block start. Indexes past the end of a typed array read
    // `undefined`, which is what an address past the bump pointer is: no block.
    if (offset < 0 || offset % GRANULE !== 0) return 0;
    return this.#entries[offset / GRANULE] ?? 0;
  }
}
