/**
 * Import resolution: the host's answer to each function import, through the config's
 * `inlineImports` (answered in place) and `symbols` (pausing) callbacks. Used for a new module
 * (from its facts) and for an artifact (from the imports it records), so both refuse the same
 * imports with the same {@link NewError}.
 *
 * Every import is offered to the callbacks, also after one was refused, so that the error lists
 * every unresolved import. An import whose signature cannot cross the boundary is refused
 * without asking the callbacks ({@link signatureRefusals}, which the loader runs with the
 * module rules, before any callback).
 *
 * @module
 */

import type { ResolvedImport } from '../base/components.js';
import type { InlineImport, ResolvedConfig } from '../base/config.js';
import { NewError, type Refusal } from '../base/errors.js';
import {
  type RawSignature,
  type Signature,
  describeThrown,
  describeValue,
  formatSignature,
  toSignature,
} from '../base/values.js';

/** A function import as the resolution sees it. */
export interface FunctionImport {
  readonly module: string;
  readonly name: string;
  readonly signature: RawSignature;
}

/** The refusal of the import `imp` for `reason`. */
function unresolved(imp: FunctionImport, reason: string, allowedBy: string | null = null): Refusal {
  return {
    kind: 'UnresolvedFunctionImport',
    message: `the function import "${imp.module}"."${imp.name}" is unresolved: ${reason}`,
    where: `the import "${imp.module}"."${imp.name}"`,
    allowedBy,
    moduleName: imp.module,
    functionName: imp.name,
  };
}

/** The signature of `imp` as the host sees it, or the refusal of an import whose signature cannot cross. */
function crossingSignature(imp: FunctionImport, floats: boolean): Signature | Refusal {
  const signature = toSignature(imp.signature, floats);
  if (typeof signature !== 'string') return signature;
  const floatsWouldDo = toSignature(imp.signature, true);
  return unresolved(imp, `its signature cannot cross the boundary: ${signature}`, typeof floatsWouldDo === 'string' ? null : 'floats: true');
}

/** The imports whose signatures cannot cross the boundary (f32/f64 without `floats`, references, several results). */
export function signatureRefusals(functionImports: readonly FunctionImport[], floats: boolean): Refusal[] {
  return functionImports.flatMap((imp) => {
    const signature = crossingSignature(imp, floats);
    return 'kind' in signature ? [signature] : [];
  });
}

/**
 * Resolves function imports through `inlineImports` and `symbols`, in order. Throws
 * {@link NewError} listing every import that could not be resolved.
 */
export function resolveImports(functionImports: readonly FunctionImport[], config: ResolvedConfig): ResolvedImport[] {
  const resolved: ResolvedImport[] = [];
  const refusals: Refusal[] = [];
  let firstCause: unknown;
  for (const imp of functionImports) {
    const refuse = (reason: string, cause?: unknown): void => {
      refusals.push(unresolved(imp, reason));
      if (refusals.length === 1) firstCause = cause;
    };
    const signature = crossingSignature(imp, config.floats);
    if ('kind' in signature) {
      refusals.push(signature);
      continue;
    }
    const base = { module: imp.module, name: imp.name, signature };

    if (config.inlineImports !== null) {
      let inline: unknown;
      try {
        inline = config.inlineImports!(imp.module, imp.name, signature);
      } catch (e) {
        refuse(`inlineImports() threw: ${describeThrown(e)}`, e);
        continue;
      }
      if (typeof inline === 'function') {
        resolved.push({ ...base, id: -1, inline: inline as InlineImport });
        continue;
      }
      if (inline !== null && inline !== undefined) {
        refuse(`inlineImports() returned ${describeValue(inline)}, which is neither a function nor null`);
        continue;
      }
    }

    let id: unknown;
    try {
      id = config.symbols(imp.module, imp.name, signature);
    } catch (e) {
      refuse(`symbols() threw: ${describeThrown(e)}`, e);
      continue;
    }
    if (id === null || id === undefined) {
      refuse(`symbols() refused it (${formatSignature(signature)})`);
      continue;
    }
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
      refuse(`symbols() returned ${describeValue(id)}, which is not a non-negative integer`);
      continue;
    }
    resolved.push({ ...base, id, inline: null });
  }
  if (refusals.length > 0) throw NewError.of(refusals, firstCause);
  return resolved;
}
