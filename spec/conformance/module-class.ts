/**
 * Which skip class a module falls into because of what it imports or declares, decided from
 * its header before the VM sees it, together with the refusal the VM must then produce.
 *
 * Checking the refusal keeps the skip honest: a skipped module is one the VM *correctly*
 * refuses for a documented reason, not one the harness gave up on.
 *
 * @module
 */

import type { NewErrorKind } from '../../lib/index.js';
import type { ModuleHeader } from './module-header.js';
import { IMPORT_REFUSALS } from './refusal-kinds.js';
import type { SkipReason } from './skip-reasons.js';
import { SPECTEST } from './spectest-host.js';

/** The skip class of a module, and what the VM must say when it refuses it. */
export interface ModuleClass {
  /** The class its commands are counted under. */
  readonly reason: SkipReason;
  /** Every refusal kind a VM following its documented rules may report for this module. */
  readonly refusals: readonly NewErrorKind[];
  /** The module names (other than `spectest`) it imports from: registered modules it links to. */
  readonly linkedTo: readonly string[];
}

/**
 * The skip class of the module with header `header`, or `null` if the VM can run it (or the
 * header is unreadable, i.e. the module is malformed and no class applies). A module in several
 * classes is counted under the most fundamental one: linking, then spectest imports, then a
 * start function. With `linkFunctions`, a module importing only functions from other modules
 * than `spectest` is not in the linking class. Its `refusals` are those of every class it is in, since which rule the VM
 * applies first is the VM's business (today the start function is checked first).
 */
export function classifyModule(header: ModuleHeader | null, linkFunctions = false, startFunctions = false): ModuleClass | null {
  if (header === null) return null;
  const linked = header.imports.filter((i) => i.module !== SPECTEST);
  // Function imports from registered modules can be linked (see `InstanceOptions.linkFunctions`).
  const linksOnlyFunctions = linkFunctions && linked.every((i) => i.kind === 'function');
  const linkedTo = linksOnlyFunctions ? [] : [...new Set(linked.map((i) => i.module))];
  const spectestNonFunction = header.imports.some((i) => i.module === SPECTEST && i.kind !== 'function');
  let reason: SkipReason | null = null;
  const refusals = new Set<NewErrorKind>();
  if (header.hasStart && !startFunctions) {
    reason = 'start-function';
    refusals.add('StartFunctionNotSupported');
  }
  if (spectestNonFunction) {
    reason = 'spectest-import';
    // A table or global import is not supported at all; a memory import must be "env"."memory".
    refusals.add('ImportTypeNotSupported').add('MemoryNotNamedMemory');
  }
  if (linkedTo.length > 0) {
    reason = 'linking';
    for (const kind of IMPORT_REFUSALS) refusals.add(kind);
  }
  return reason === null ? null : { reason, refusals: [...refusals], linkedTo };
}
