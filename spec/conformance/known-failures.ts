/**
 * Failures that are bugs of the VM, diagnosed and reproduced (see each entry), so that the Jest
 * test can demand "nothing else fails" while these wait for a fix, and can tell when one is
 * fixed (the entry must then be removed). The CLI marks them in its list of failures but still
 * counts them as failures: they are.
 *
 * @module
 */

import type { Failure } from './results.js';

/** A VM bug and the failures it causes. */
export interface KnownFailure {
  /** A short name for the bug. */
  readonly id: string;
  readonly script: string;
  /** The `.wast` lines that fail because of it; `null`: every failure on `module`. */
  readonly lines: readonly number[] | null;
  /** With `lines: null`: the module file whose load and commands fail. */
  readonly module?: string;
  /** The diagnosis, and where the bug is. */
  readonly diagnosis: string;
}

/** The VM bugs the suite currently shows. */
export const KNOWN_FAILURES: readonly KnownFailure[] = [];

/** The known bug behind `failure`, or `null` if it is not a known one. */
export function knownFailure(failure: Failure): KnownFailure | null {
  for (const known of KNOWN_FAILURES) {
    if (known.script !== failure.script) continue;
    if (known.lines === null ? failure.module === known.module : known.lines.includes(failure.line)) return known;
  }
  return null;
}
