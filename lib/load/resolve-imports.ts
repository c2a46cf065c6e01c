/**
 * Import resolution: the host's answer to each function import, through the config's
 * `inlineImports` (answered in place) and `symbols` (pausing) callbacks. Used for a new module
 * (from its facts) and for an artifact (from the imports it records), so both refuse the same
 * imports with the same {@link NewError}.
 *
 * @module
 */

import type { ResolvedImport } from '../base/components.js';
import type { InlineImport, ResolvedConfig } from '../base/config.js';
import { NewError } from '../base/errors.js';
import { type RawSignature, describeThrown, describeValue, formatSignature, toSignature } from '../base/values.js';

/**
 * Resolves function imports through `inlineImports` and `symbols`, in order. Used for a new
 * module (from its facts) and for an artifact (from the imports it records).
 */
export function resolveImports(
  functionImports: readonly { readonly module: string; readonly name: string; readonly signature: RawSignature }[],
  config: ResolvedConfig,
): ResolvedImport[] {
  const resolved: ResolvedImport[] = [];
  for (const imp of functionImports) {
    const unresolved = (reason: string, cause?: unknown): NewError =>
      new NewError('UnresolvedFunctionImport', `the function import "${imp.module}"."${imp.name}" is unresolved: ${reason}`, {
        moduleName: imp.module,
        functionName: imp.name,
        cause,
      });
    const signature = toSignature(imp.signature, config.floats);
    if (typeof signature === 'string') throw unresolved(`its signature cannot cross the boundary: ${signature}`);
    const base = { module: imp.module, name: imp.name, signature };

    if (config.inlineImports !== null) {
      let inline: unknown;
      try {
        inline = config.inlineImports!(imp.module, imp.name, signature);
      } catch (e) {
        throw unresolved(`inlineImports() threw: ${describeThrown(e)}`, e);
      }
      if (typeof inline === 'function') {
        resolved.push({ ...base, id: -1, inline: inline as InlineImport });
        continue;
      }
      if (inline !== null && inline !== undefined) {
        throw unresolved(`inlineImports() returned ${describeValue(inline)}, which is neither a function nor null`);
      }
    }

    let id: unknown;
    try {
      id = config.symbols(imp.module, imp.name, signature);
    } catch (e) {
      throw unresolved(`symbols() threw: ${describeThrown(e)}`, e);
    }
    if (id === null || id === undefined) throw unresolved(`symbols() refused it (${formatSignature(signature)})`);
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
      throw unresolved(`symbols() returned ${describeValue(id)}, which is not a non-negative integer`);
    }
    resolved.push({ ...base, id, inline: null });
  }
  return resolved;
}
