/**
 * smoldot's module rules: what a module must look like for the VM to host it, beyond being
 * valid WebAssembly within the feature set. Checked on the module's facts, before any import is
 * resolved; each broken rule is a {@link NewError} of its own kind, naming the import or export.
 *
 * @module
 */

import { NewError } from '../base/errors.js';
import type { ModuleFacts } from './module-facts.js';

/**
 * Applies the rules: no start function; only function imports and one memory import, named
 * `env`.`memory`; at most one memory, imported or exported as `memory`, not both; an export
 * named `memory` must be a memory; and, with `requireMemory`, a memory the host can reach.
 */
export function applyModuleRules(facts: ModuleFacts, requireMemory: boolean): void {
  if (facts.hasStart) {
    throw new NewError(
      'StartFunctionNotSupported',
      'the module has a start function, which would run guest code during instantiation',
    );
  }
  for (const imp of facts.imports) {
    const what = `"${imp.module}"."${imp.name}"`;
    if (imp.kind === 'table' || imp.kind === 'global') {
      throw new NewError(
        'ImportTypeNotSupported',
        `the module imports a ${imp.kind} (${what}); only functions and a memory can be imported`,
      );
    }
    if (imp.kind === 'memory' && (imp.module !== 'env' || imp.name !== 'memory')) {
      throw new NewError('MemoryNotNamedMemory', `the module imports its memory as ${what}; it must be "env"."memory"`);
    }
  }
  const memoryExport = facts.exports.find((e) => e.name === 'memory');
  if (memoryExport !== undefined && memoryExport.kind !== 'memory') {
    throw new NewError('MemoryIsntMemory', `the module exports a ${memoryExport.kind} named "memory"; it must be a memory`);
  }
  const importsMemory = facts.memories.some((m) => m.imported);
  if (facts.memories.length > 1) {
    throw new NewError(
      'TwoMemories',
      `the module has ${facts.memories.length} memories (${importsMemory ? 'one imported and more defined' : 'all defined'}); at most one is allowed`,
    );
  }
  if (importsMemory && memoryExport !== undefined) {
    // smoldot refuses this too: the memory must be either imported or exported, not both.
    throw new NewError('TwoMemories', 'the module both imports a memory and exports one as "memory"');
  }
  if (requireMemory && !importsMemory && memoryExport === undefined) {
    throw new NewError(
      'NoMemory',
      facts.memories.length === 0
        ? 'the module has no memory; it must import "env"."memory" or export a memory named "memory"'
        : 'the module defines a memory but does not export it as "memory"',
    );
  }
}
