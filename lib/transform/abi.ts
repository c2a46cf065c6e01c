/**
 * The instrumented module's ABI: every name the VM and the transform agree on.
 *
 * The module the VM instantiates is not the guest's module as written. Its imports and exports
 * carry short synthetic names (`rename.ts` explains why), and on the Asyncify backend the
 * transform adds a memory and control functions of its own (`instrument.ts`). The live instance
 * binds imports and looks up exports by these names, the Asyncify driver calls the control
 * functions, and an artifact's shape check expects exactly them: they are written once, here.
 *
 * ```text
 * imports  i.<n>      the n-th function import (n in the function index space)
 *          i.fuel     the code rewrite's out-of-fuel call (`(i64) -> ()`: the cost of the block
 *                     that cannot be paid); it pauses the guest until the host adds fuel
 *          i.stack    the code rewrite's stack-limit call (`() -> ()`): never returns (throws)
 *          t.<n> g.<n> tables and globals (refused by the module rules; only renamed to read facts)
 *          m.m        the guest's memory, when the guest imports it
 * exports  e<n>       the export at position n of the original export section
 *          m          the guest's memory, when the guest defines it (added if not exported)
 *          g<n>       the n-th global, when it is mutable (added: a reset restores it)
 *          s          the start function, when the guest has one (its start section is removed)
 *          f          the fuel counter, a mutable i64 global (code rewrite `fuel`)
 *          h          the logical stack height, a mutable i32 global (code rewrite `maxStackHeight`)
 *          u          Asyncify only: the secondary memory holding the unwind buffer
 *          asyncify_* Asyncify only: the pass's control functions ({@link ASYNCIFY_EXPORTS})
 * ```
 *
 * Leaf of the transform layer: imports nothing.
 *
 * @module
 */

/** Module name of every renamed function import; the field name is the import's function index. */
export const FUNCTION_IMPORT_MODULE = 'i';
/** Module name of renamed table imports (refused by the module rules). */
export const TABLE_IMPORT_MODULE = 't';
/** Module name of renamed global imports (refused by the module rules). */
export const GLOBAL_IMPORT_MODULE = 'g';
/** Module name of the renamed memory import. */
export const MEMORY_IMPORT_MODULE = 'm';
/** Field name of the renamed memory import. */
export const MEMORY_IMPORT_NAME = 'm';
/** Export name under which the guest's own memory is reachable in the instrumented module. */
export const MEMORY_EXPORT = 'm';
/** Export name of the guest's start function, taken out of the start section (`VmConfig.startFunction`). */
export const START_EXPORT = 's';
/** Export name of the secondary memory that holds the unwind buffer (Asyncify). */
export const UNWIND_MEMORY_EXPORT = 'u';
/**
 * The function the code rewrite (`fuel`) imports to pause when a block's fuel cannot be paid:
 * `(i64 cost) -> ()`. The field name is not a number, so it never collides with a renamed
 * import ({@link functionImportName}).
 */
export const FUEL_IMPORT = { module: FUNCTION_IMPORT_MODULE, name: 'fuel' } as const;
/**
 * The function the code rewrite (`maxStackHeight`) imports and calls when a call would pass the
 * logical stack limit: `() -> ()`, must throw (the VM reports its own trap kind).
 */
export const STACK_LIMIT_IMPORT = { module: FUNCTION_IMPORT_MODULE, name: 'stack' } as const;
/**
 * Export name of the fuel counter the code rewrite adds (a mutable i64 global: fuel left). Like
 * {@link STACK_HEIGHT_EXPORT}, it cannot collide with a renamed export (`e<n>`); a module that
 * keeps its own names (JSPI) and exports `f` or `h` must be renamed first (the rewrite refuses it).
 */
export const FUEL_EXPORT = 'f';
/** Export name of the logical stack height the code rewrite adds (a mutable i32 global). */
export const STACK_HEIGHT_EXPORT = 'h';
/** Binaryen's internal name of the secondary memory the Asyncify pass creates. */
export const ASYNCIFY_MEMORY = 'asyncify_memory';

/** The synthetic name of the export at position `index` of the export section. */
export function exportName(index: number): string {
  return `e${index}`;
}

/** The synthetic name under which the global at `index` (of the global index space) is exported. */
export function globalExportName(index: number): string {
  return `g${index}`;
}

/**
 * Field name of the `index`-th function import (in the function index space). Tables and globals
 * are numbered the same way within their kind.
 */
export function functionImportName(index: number): string {
  return String(index);
}

/** The functions the Asyncify pass exports to control a pause (see `backends/asyncify/driver.ts`). */
export interface AsyncifyExports {
  asyncify_start_unwind: (data: number) => void;
  asyncify_stop_unwind: () => void;
  asyncify_start_rewind: (data: number) => void;
  asyncify_stop_rewind: () => void;
  asyncify_get_state: () => number;
}

/** The names of {@link AsyncifyExports}, every one of which an instrumented module exports. */
export const ASYNCIFY_EXPORTS: readonly (keyof AsyncifyExports)[] = [
  'asyncify_start_unwind',
  'asyncify_stop_unwind',
  'asyncify_start_rewind',
  'asyncify_stop_rewind',
  'asyncify_get_state',
];
