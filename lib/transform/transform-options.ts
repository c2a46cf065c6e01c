/**
 * What shapes the Asyncify transform's output besides the module: its options, the passes run
 * after it and the name of the transform as artifacts record it. Kept apart from
 * `instrument.ts` so that the calling thread can name them without reaching Binaryen (which
 * only the transform's thread loads).
 *
 * @module
 */

import type { OffsetMap } from '../base/components.js';
import type { FeatureSet } from '../base/feature-set.js';

/** Binaryen passes run after Asyncify; see `docs/performance-history.md` (*The transform*) for how they were chosen. */
export const POST_PASSES: readonly string[] = ['simplify-locals-notee-nostructure', 'vacuum', 'reorder-locals'];

/**
 * Names everything about the transform that shapes its output besides the module and the
 * options: artifacts made by a different transform are refused.
 */
export function transformId(postPasses: readonly string[]): string {
  return `binaryen-132/asyncify-O0-secondary-memory/post:${postPasses.join(',')}`;
}

/** Options of the transform (`instrument()` in `instrument.ts`). */
export interface InstrumentOptions {
  /** Features the guest may use; Binaryen is told the same set so it never adds others. */
  readonly features: FeatureSet;
  /** Size of the unwind buffer's memory, in pages. */
  readonly unwindBufferPages: number;
  /**
   * `module.field` patterns (`*` as a suffix wildcard) of the imports that may pause. Functions
   * that cannot reach one of them are left uninstrumented. `null`: every import may pause.
   */
  readonly pausingImports: readonly string[] | null;
  /** Binaryen passes run after `asyncify` to win back run speed. */
  readonly postPasses: readonly string[];
  /**
   * Make an offset map (`offset-map.ts`): `null` not to, else the difference between the
   * guest's own module's code section start and that of the bytes given (renaming moves it).
   */
  readonly guestOffsetDelta: number | null;
}

/** What the transform produces (plain data: it crosses from the transform's thread). */
export interface Instrumented {
  readonly binary: Uint8Array;
  /**
   * Whether the instrumented module numbers the guest's functions as the guest does (the
   * transform's own functions come after them): checked, not assumed, since backtraces rely on
   * it (`BaseComponents.backtrace`).
   */
  readonly functionOrderPreserved: boolean;
  /** The offset map, if asked for and any instruction could be tracked; else `null`. */
  readonly offsetMap: OffsetMap | null;
}
