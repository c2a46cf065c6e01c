/**
 * The `spectest` module the suite's scripts import from, as far as this VM can provide it.
 *
 * The reference interpreter offers `spectest` functions (`print`, `print_i32`, ...), globals
 * (`global_i32`, ...), a table and a memory. The VM can only import functions (and a memory
 * named `env`.`memory`), so only the functions are offered here; every function import becomes
 * an interrupt that {@link answerInterrupt} answers. Modules importing the other `spectest`
 * items are a skip class (see `skip-reasons.ts`).
 *
 * @module
 */

import type { Signature, ValueType, VmConfig, WasmValue } from '../../lib/index.js';

/** The module name of the spec host. */
export const SPECTEST = 'spectest';

/** The `spectest` functions: name and parameter types; none returns anything. */
const PRINT_FUNCTIONS: readonly (readonly [string, readonly ValueType[]])[] = [
  ['print', []],
  ['print_i32', ['i32']],
  ['print_i64', ['i64']],
  ['print_f32', ['f32']],
  ['print_f64', ['f64']],
  ['print_i32_f32', ['i32', 'f32']],
  ['print_f64_f64', ['f64', 'f64']],
];

/**
 * The `symbols` callback for {@link VmConfig}: the id of a `spectest` print function imported
 * with its exact signature (its index in the list above), `null` for anything else. Refusing a
 * mismatched signature is what makes `assert_unlinkable` "incompatible import type" pass.
 */
export const spectestSymbols: VmConfig['symbols'] = (moduleName: string, name: string, signature: Signature) => {
  if (moduleName !== SPECTEST || signature.result !== null) return null;
  const id = PRINT_FUNCTIONS.findIndex(([n]) => n === name);
  if (id < 0) return null;
  const params = PRINT_FUNCTIONS[id]![1];
  const same = params.length === signature.params.length && params.every((t, i) => t === signature.params[i]);
  return same ? id : null;
};

/**
 * Checks an interrupt against the print function its id stands for and returns what to resume
 * the guest with (`null`: the prints return nothing), or throws if the interrupt makes no sense
 * (an id that was never handed out, or parameters of the wrong types: a VM bug).
 */
export function answerInterrupt(id: number, params: readonly WasmValue[]): null {
  const entry = PRINT_FUNCTIONS[id];
  if (entry === undefined) throw new Error(`interrupted with id ${id}, which the host never handed out`);
  const [name, types] = entry;
  if (params.length !== types.length || params.some((p, i) => p.type !== types[i])) {
    throw new Error(
      `interrupt for spectest.${name} (${types.join(', ')}) came with parameters (${params.map((p) => p.type).join(', ')})`,
    );
  }
  return null;
}
