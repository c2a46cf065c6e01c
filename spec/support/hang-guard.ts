/**
 * Test helper for tests that are bounded by their work, not by the clock. Such a test has no
 * time budget to miss on a slow or shared machine: it does a fixed amount of work (a few tiny
 * modules, a fixed number of processes) and asserts on what that work produced. Jest still
 * needs a timeout; this one only stops a test that hangs, far beyond any load a machine can be
 * under.
 */
import { jest } from '@jest/globals';

/** Long enough that only a hang reaches it. */
export const HANG_GUARD_MS = 30 * 60_000;

/** Replaces the file's timeout (the Jest config's budget) with {@link HANG_GUARD_MS}. Call at the top of the file. */
export function guardAgainstHangsOnly(): void {
  jest.setTimeout(HANG_GUARD_MS);
}
