/**
 * Which exports of an accepted module the harness runs, in which order, and how the host
 * answers its imports: the same plan drives the VM (`exercise.ts`) and, when a run exceeds its
 * time bound, plain V8 (`triage.ts`), so that the two can be compared.
 *
 * Every call gets zero-valued parameters and every interrupt a zero-valued answer: the point is
 * not what the guest computes but that whatever it does ends as a documented outcome.
 *
 * @module
 */

import type { ConfigPlan } from './config-plan.js';
import type { Prng } from './prng.js';

/** One of the four number types, or another type name the module facts may report. */
export type TypeName = string;

/** One export to start. */
export interface PlannedCall {
  readonly name: string;
  readonly params: readonly TypeName[];
  readonly result: TypeName | null;
  /**
   * `SignatureNotSupported` when the signature uses floats and the config does not allow them,
   * or several results or references (which never cross).
   */
  readonly expect: 'start' | 'SignatureNotSupported';
}

/** How the host answers one function import (in declaration order). */
export interface PlannedImport {
  readonly result: TypeName | null;
  /** Paused and answered by `run()`, or answered inline with zero, or inline by throwing. */
  readonly mode: 'pause' | 'inline-zero' | 'inline-throw';
}

/** The whole plan for one accepted module. */
export interface CallPlan {
  readonly calls: readonly PlannedCall[];
  readonly imports: readonly PlannedImport[];
  /** The guest's imported memory (`env.memory`), which plain V8 must be given. */
  readonly importedMemory: { readonly initial: number; readonly maximum: number | null } | null;
  /** Interrupts after which a call is abandoned (`intoPrototype()`, a fresh instance). */
  readonly interruptBudget: number;
}

/** What the plan is made from: the module facts the library reads (see `lib/module-facts.ts`). */
export interface PlanFacts {
  readonly imports: readonly {
    readonly kind: string;
    readonly signature?: { readonly results: readonly string[] };
    readonly limits?: { readonly initial: number; readonly maximum: number | null };
  }[];
  readonly exports: readonly { readonly name: string; readonly kind: string; readonly index: number }[];
  readonly functions: readonly { readonly params: readonly string[]; readonly results: readonly string[] }[];
}

/** Makes the plan: up to `maxCalls` function exports in a seeded order. */
export function makeCallPlan(prng: Prng, facts: PlanFacts, plan: ConfigPlan, maxCalls: number, interruptBudget: number): CallPlan {
  const functions = facts.exports.filter((e) => e.kind === 'function');
  // Fisher–Yates, seeded.
  for (let i = functions.length - 1; i > 0; i--) {
    const j = prng.below(i + 1);
    [functions[i], functions[j]] = [functions[j]!, functions[i]!];
  }
  const calls = functions.slice(0, maxCalls).map((e): PlannedCall => {
    const signature = facts.functions[e.index]!;
    const types = [...signature.params, ...signature.results];
    const usesFloats = types.some((t) => t === 'f32' || t === 'f64');
    // Several results (multi-value) or references (reference types) never cross the API.
    const crosses = signature.results.length <= 1 && types.every((t) => ['i32', 'i64', 'f32', 'f64'].includes(t));
    return {
      name: e.name,
      params: signature.params,
      result: signature.results[0] ?? null,
      expect: !crosses || (usesFloats && plan.floats !== true) ? 'SignatureNotSupported' : 'start',
    };
  });
  let inlineCalls = 0;
  const imports = facts.imports
    .filter((i) => i.kind === 'function')
    .map((i): PlannedImport => {
      const result = i.signature?.results[0] ?? null;
      if (plan.inline.policy === 'none') return { result, mode: 'pause' };
      // config-plan.ts answers every odd-numbered inlineImports call inline.
      const inline = inlineCalls++ % 2 === 1;
      return { result, mode: !inline ? 'pause' : plan.inline.policy === 'odd-throw' ? 'inline-throw' : 'inline-zero' };
    });
  const memory = facts.imports.find((i) => i.kind === 'memory');
  return {
    calls,
    imports,
    importedMemory: memory?.limits === undefined ? null : { initial: memory.limits.initial, maximum: memory.limits.maximum },
    interruptBudget,
  };
}
