/**
 * How the code rewrite (`code-rewrite.ts`) moves the function index space, and the two maps
 * between the guest's indices and the rewritten module's. Apart from the rewriter itself, so
 * that what maps a backtrace's frames back (`vm/backtrace.ts`) does not pull the rewriter in.
 *
 * @module
 */

/** How the function index space moved. */
export interface FunctionIndexShift {
  /** The guest's function imports, which keep their indices. */
  readonly guestImports: number;
  /** Imports the rewrite added right after them (every guest-defined function moves up by this). */
  readonly addedImports: number;
  /** The guest's functions, imports included (indices below this are the guest's, before the move). */
  readonly guestFunctions: number;
  /** Every function of the new module. */
  readonly functions: number;
}

/** The guest's function index of `index` in the rewritten module, or `null` for a function the rewrite added. */
export function guestFunctionIndex(shift: FunctionIndexShift, index: number): number | null {
  if (index < shift.guestImports) return index;
  if (index < shift.guestImports + shift.addedImports) return null;
  const guest = index - shift.addedImports;
  return guest < shift.guestFunctions ? guest : null;
}

/** The index in the rewritten module of the guest's function `guest`. */
export function rewrittenFunctionIndex(shift: FunctionIndexShift, guest: number): number {
  return guest < shift.guestImports ? guest : guest + shift.addedImports;
}

