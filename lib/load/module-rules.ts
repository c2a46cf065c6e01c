/**
 * smoldot's module rules: what a module must look like for the VM to host it, beyond being
 * valid WebAssembly within the feature set. Checked on the module's facts, before any import is
 * resolved; each broken rule is a {@link Refusal} of its own kind, naming the import or export,
 * and every broken rule is reported (the loader refuses with all of them at once).
 *
 * @module
 */

import type { Refusal } from '../base/errors.js';
import type { ModuleFacts } from './module-facts.js';

/** What the rules depend on in the config. */
export interface RuleOptions {
  readonly requireMemory: boolean;
  readonly startFunction: boolean;
  readonly anyMemoryImport: boolean;
}

/**
 * The rules the module breaks, in this order: no start function (unless `startFunction`); only function imports and
 * one memory import, named `env`.`memory` (unless `anyMemoryImport`); an export named `memory` must be a memory; at most
 * one memory, imported or exported as `memory`, not both; and, with `requireMemory`, a memory
 * the host can reach. Empty if it breaks none.
 */
export function moduleRuleRefusals(facts: ModuleFacts, options: RuleOptions): Refusal[] {
  const refusals: Refusal[] = [];
  const refuse = (kind: Refusal['kind'], message: string, where: string | null, allowedBy: string | null = null): void => {
    refusals.push({ kind, message, where, allowedBy });
  };
  if (facts.hasStart && !options.startFunction) {
    refuse(
      'StartFunctionNotSupported',
      'the module has a start function, which would run guest code during instantiation ' +
        '(allow it with startFunction: true: it then runs as the first call of each instance, pausing like any call)',
      facts.startFunction === null ? 'the start section' : `the start section (function ${facts.startFunction})`,
      'startFunction: true',
    );
  }
  for (const imp of facts.imports) {
    const what = `"${imp.module}"."${imp.name}"`;
    if (imp.kind === 'table' || imp.kind === 'global') {
      refuse(
        'ImportTypeNotSupported',
        `the module imports a ${imp.kind} (${what}); only functions and a memory can be imported`,
        `the import ${what}`,
      );
    }
    if (imp.kind === 'memory' && (imp.module !== 'env' || imp.name !== 'memory') && !options.anyMemoryImport) {
      refuse(
        'MemoryNotNamedMemory',
        `the module imports its memory as ${what}; it must be "env"."memory" (allow any name with anyMemoryImport: true)`,
        `the import ${what}`,
        'anyMemoryImport: true',
      );
    }
  }
  const memoryExport = facts.exports.find((e) => e.name === 'memory');
  if (memoryExport !== undefined && memoryExport.kind !== 'memory') {
    refuse('MemoryIsntMemory', `the module exports a ${memoryExport.kind} named "memory"; it must be a memory`, 'the export "memory"');
  }
  const importsMemory = facts.memories.some((m) => m.imported);
  if (facts.memories.length > 1) {
    refuse(
      'TwoMemories',
      `the module has ${facts.memories.length} memories (${importsMemory ? 'one imported and more defined' : 'all defined'}); at most one is allowed`,
      'the memories',
    );
  } else if (importsMemory && memoryExport !== undefined) {
    // smoldot refuses this too: the memory must be either imported or exported, not both.
    refuse('TwoMemories', 'the module both imports a memory and exports one as "memory"', 'the export "memory"');
  }
  if (options.requireMemory && !importsMemory && memoryExport === undefined) {
    refuse(
      'NoMemory',
      facts.memories.length === 0
        ? 'the module has no memory; it must import "env"."memory" or export a memory named "memory" (or the VM be created with requireMemory: false)'
        : 'the module defines a memory but does not export it as "memory" (allow it with requireMemory: false)',
      null,
      'requireMemory: false',
    );
  }
  return refusals;
}
