/**
 * What shapes the Asyncify transform's output besides the module: its options, the passes run
 * after it and the name of the transform as artifacts record it. Kept apart from
 * `instrument.ts` so that the calling thread can name them without reaching Binaryen (which
 * only the transform's thread loads).
 *
 * @module
 */

import type { OffsetMap } from '../base/components.js';
import type { AsyncifyStack } from '../base/engine.js';
import type { FeatureSet } from '../base/feature-set.js';
import type { CodeRewriteOptions, RewrittenCode } from './code-rewrite.js';

/** Binaryen passes run after Asyncify; see `docs/performance-history.md` (*The transform*) for how they were chosen. */
export const POST_PASSES: readonly string[] = ['simplify-locals-notee-nostructure', 'vacuum', 'reorder-locals'];

/**
 * Names everything about the transform that shapes its output besides the module and the
 * options: artifacts made by a different transform are refused. `asyncifyStack` names the
 * pipeline: Asyncify with its stack in a secondary memory, or the memory shift, Asyncify in the
 * reserved pages, and the unwind guard (see `instrument.ts`).
 */
export function transformId(asyncifyStack: AsyncifyStack, postPasses: readonly string[]): string {
  const pipeline = asyncifyStack === 'second-memory' ? 'asyncify-O0-secondary-memory' : 'memory-shift/asyncify-O0/unwind-guard';
  return `binaryen-132/${pipeline}/post:${postPasses.join(',')}`;
}

/** Options of the transform (`instrument()` in `instrument.ts`). */
export interface InstrumentOptions {
  /** Features the guest may use; Binaryen is told the same set so it never adds others. */
  readonly features: FeatureSet;
  /**
   * Size of the unwind buffer, in pages: the secondary memory's size, or the pages reserved
   * below the guest's memory (`asyncifyStack: 'single-memory'`).
   */
  readonly unwindBufferPages: number;
  /** Where the paused stack is kept; see `instrument.ts`. */
  readonly asyncifyStack: AsyncifyStack;
  /**
   * The code rewrites applied to the guest's (renamed) code before Asyncify
   * (`code-rewrite.ts`): the memory shift with `'single-memory'`, and whatever else the
   * backend's pipeline asks for. Its `offsetMap` is set by the transform itself. `null`: none.
   */
  readonly guestRewrite: Omit<CodeRewriteOptions, 'offsetMap' | 'guardStoresBelow'> | null;
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
  /** What the code rewrite before Asyncify did (`InstrumentOptions.guestRewrite`); `null` if none ran. */
  readonly guestRewrite: Pick<RewrittenCode, 'functions' | 'memory' | 'fuel' | 'stack'> | null;
}

/**
 * Pages reserved below the guest's memory for the paused stack (`BaseComponents.reservedPages`):
 * the buffer's pages with `'single-memory'`, none with `'second-memory'`.
 */
export function reservedPagesOf(asyncifyStack: AsyncifyStack, unwindBufferPages: number): number {
  return asyncifyStack === 'single-memory' ? unwindBufferPages : 0;
}
