/**
 * Which {@link NewErrorKind}s count as refusing a module for the reason an `assert_invalid`,
 * `assert_malformed`, `assert_unlinkable` or `assert_uninstantiable` gives.
 *
 * The VM refuses in a documented order (`lib/load-module.ts`): the engine's validation, then its
 * own scan for post-MVP features, then smoldot's module rules. So a module the MVP calls invalid
 * must be refused as `InvalidWasm`, with one exception the VM documents: V8 validates with
 * multi-memory, under which two memories are valid, and the feature scan leaves the number of
 * memories to the module rules. A module with two memories is therefore refused by a rule:
 * `TwoMemories`, or `MemoryNotNamedMemory` first if one of them is imported under another name
 * than `env`.`memory` (both true statements about the module).
 *
 * @module
 */

import type { NewErrorKind } from '../../lib/index.js';
import type { RefusalType } from './script.js';

/** The kinds that mean "an import could not be provided". */
export const IMPORT_REFUSALS: readonly NewErrorKind[] = [
  'UnresolvedFunctionImport',
  'ImportTypeNotSupported',
  'MemoryNotNamedMemory',
];

/** The kinds that refuse a module for the reason `text` of a command of type `type`. */
export function expectedRefusalKinds(type: RefusalType, text: string): readonly NewErrorKind[] {
  switch (type) {
    case 'assert_malformed':
      return ['InvalidWasm'];
    case 'assert_invalid':
      return text === 'multiple memories' ? ['InvalidWasm', 'TwoMemories', 'MemoryNotNamedMemory'] : ['InvalidWasm'];
    case 'assert_unlinkable':
      // "unknown import", "incompatible import type"; the MVP also calls segments that do not
      // fit "unlinkable" (later versions of the spec made them uninstantiable).
      return text.includes('segment does not fit') ? ['Instantiation'] : IMPORT_REFUSALS;
    case 'assert_uninstantiable':
      // A trap while instantiating. In the MVP only a start function can trap, and modules
      // with one are a skip class, so this kind is only reached if that classification fails.
      return ['Instantiation'];
  }
}
