/**
 * Test helper: the freeing-bump allocator's expected behaviour, written as plainly as possible
 * (a JavaScript array per free list, no guest memory, no checks), so that the randomized test can
 * predict the exact pointer and memory size of every step and compare.
 */

const PAGE = 65536;

/** What the model predicts for one `malloc`. */
export type ModelResult = { pointer: number } | { error: 'OutOfMemory' | 'AllocationTooLarge' };

/** The expected state of a heap: free lists, bump pointer and memory size. */
export class AllocatorModel {
  /** For each order, the header addresses of its free blocks; the last one is reused first. */
  readonly freeLists: number[][] = [];
  bumper: number;
  /** Order of each block ever carved, by header address. */
  readonly orders = new Map<number, number>();

  constructor(
    heapBase: number,
    /** The memory's size in pages; updated when the model grows it. */
    public pages: number,
    readonly maxPages: number,
    readonly maxAllocation = 32 * 1024 * 1024,
  ) {
    this.bumper = Math.ceil(heapBase / 8) * 8;
  }

  /** The order of a request: sizes up to 8 are order 0, up to 16 order 1, and so on. */
  static orderOf(size: number): number {
    let order = 0;
    while (8 * 2 ** order < size) order++;
    return order;
  }

  malloc(size: number): ModelResult {
    if (size > this.maxAllocation) return { error: 'AllocationTooLarge' };
    const order = AllocatorModel.orderOf(size);
    const list = (this.freeLists[order] ??= []);
    if (list.length > 0) return { pointer: list.pop()! + 8 };
    const end = this.bumper + 8 + 8 * 2 ** order;
    if (end > this.pages * PAGE) {
      const required = Math.ceil(end / PAGE);
      if (required > this.maxPages) return { error: 'OutOfMemory' };
      this.pages = Math.max(Math.min(this.pages * 2, this.maxPages), required);
    }
    const header = this.bumper;
    this.bumper = end;
    this.orders.set(header, order);
    return { pointer: header + 8 };
  }

  free(pointer: number): void {
    const order = this.orders.get(pointer - 8)!;
    (this.freeLists[order] ??= []).push(pointer - 8);
  }
}
