/**
 * Aggregates case results into the report the CLI prints and the Jest slice asserts on.
 *
 * The report answers: how many cases of each class ended how (refused by which `NewError`
 * kind, refused as a malformed config, accepted and run, deferred); how many mutants stayed
 * valid and what happened to them; what the accepted modules' calls did; which case was the
 * slowest per class and outcome; and every violation.
 *
 * @module
 */

import { type CaseClass, CASE_CLASSES } from './cases.js';
import type { CaseResult } from './execute.js';

/** The slowest case of a group. */
export interface Slowest {
  readonly index: number;
  readonly totalMs: number;
  readonly createMs: number;
  readonly description: string;
  readonly origin: string;
}

/** Counters per outcome label within one class. */
export interface LabelStats {
  count: number;
  slowest: Slowest | null;
}

/** Everything aggregated; see the module documentation. */
export class Summary {
  readonly byClass = new Map<CaseClass, Map<string, LabelStats>>();
  /** Per class: cases whose bytes the engine still validates. */
  readonly engineValid = new Map<CaseClass, number>();
  /** Per class: what happened to the engine-valid ones, by label. */
  readonly validOutcomes = new Map<CaseClass, Map<string, number>>();
  /** Per class: sections hit by the mutations of engine-valid mutants. */
  readonly validSections = new Map<CaseClass, Map<string, number>>();
  /** Outcomes of the planned calls of accepted modules. */
  readonly callOutcomes = new Map<string, number>();
  interrupts = 0;
  readonly violations: { result: CaseResult; saved: string | null; reproduction: string }[] = [];
  readonly notes: CaseResult[] = [];
  cases = 0;

  /** Adds one case's result. */
  add(result: CaseResult): void {
    this.cases++;
    const labels = getOrSet(this.byClass, result.cls, () => new Map<string, LabelStats>());
    const stats = getOrSet(labels, result.label, () => ({ count: 0, slowest: null }));
    stats.count++;
    if (stats.slowest === null || result.totalMs > stats.slowest.totalMs) {
      stats.slowest = { index: result.index, totalMs: result.totalMs, createMs: result.createMs, description: result.description, origin: result.origin };
    }
    if (result.engineValid) {
      this.engineValid.set(result.cls, (this.engineValid.get(result.cls) ?? 0) + 1);
      const outcomes = getOrSet(this.validOutcomes, result.cls, () => new Map<string, number>());
      outcomes.set(result.label, (outcomes.get(result.label) ?? 0) + 1);
      const sections = getOrSet(this.validSections, result.cls, () => new Map<string, number>());
      for (const section of new Set(result.sectionsHit)) sections.set(section, (sections.get(section) ?? 0) + 1);
    }
    for (const call of result.exercise?.calls ?? []) this.callOutcomes.set(call, (this.callOutcomes.get(call) ?? 0) + 1);
    this.interrupts += result.exercise?.interrupts ?? 0;
    if (result.note !== undefined) this.notes.push(result);
  }

  /** Records a violation (already added with {@link add}). */
  addViolation(result: CaseResult, saved: string | null, reproduction: string): void {
    this.violations.push({ result, saved, reproduction });
  }

  /** Cases per label over all classes. */
  totals(): Map<string, number> {
    const totals = new Map<string, number>();
    for (const labels of this.byClass.values()) {
      for (const [label, stats] of labels) totals.set(label, (totals.get(label) ?? 0) + stats.count);
    }
    return totals;
  }

  /** The report as lines of text. */
  render(): string[] {
    const lines: string[] = [];
    lines.push(`cases: ${this.cases}`);
    lines.push('', 'outcomes by class (count; slowest case: total ms, of which create/check ms):');
    for (const cls of CASE_CLASSES) {
      const labels = this.byClass.get(cls);
      if (labels === undefined) continue;
      const total = [...labels.values()].reduce((n, s) => n + s.count, 0);
      lines.push(`  ${cls} (${total}, engine-valid ${this.engineValid.get(cls) ?? 0})`);
      for (const [label, stats] of [...labels].sort((a, b) => b[1].count - a[1].count)) {
        const s = stats.slowest!;
        lines.push(
          `    ${label.padEnd(36)} ${String(stats.count).padStart(6)}   slowest #${s.index}: ${s.totalMs.toFixed(0)} ms (${s.createMs.toFixed(0)}) ${s.origin} ${truncateText(s.description, 60)}`,
        );
      }
    }
    lines.push('', 'engine-valid inputs, by what the library did with them:');
    for (const [cls, outcomes] of this.validOutcomes) {
      const parts = [...outcomes].sort((a, b) => b[1] - a[1]).map(([label, n]) => `${label} ${n}`);
      lines.push(`  ${cls}: ${parts.join(', ')}`);
      const sections = this.validSections.get(cls);
      if (sections !== undefined && sections.size > 0) {
        lines.push(`    sections hit: ${[...sections].sort((a, b) => b[1] - a[1]).map(([s, n]) => `${s} ${n}`).join(', ')}`);
      }
    }
    lines.push('', `calls run on accepted modules (${this.interrupts} interrupts answered):`);
    lines.push(`  ${[...this.callOutcomes].sort((a, b) => b[1] - a[1]).map(([label, n]) => `${label} ${n}`).join(', ') || 'none'}`);
    if (this.notes.length > 0) {
      lines.push('', 'runs past their bound that triage attributed to the guest:');
      for (const r of this.notes) lines.push(`  #${r.index} ${r.cls} ${r.origin} ${r.label}: ${r.note}`);
    }
    lines.push('', `violations: ${this.violations.length}`);
    for (const v of this.violations) {
      const r = v.result;
      lines.push(`  #${r.index} ${r.cls} ${r.origin} ${truncateText(r.description, 80)}`);
      lines.push(`    ${r.violation!.type} in ${r.violation!.where}: ${truncateText(r.violation!.message, 400)}`);
      if (v.saved !== null) lines.push(`    saved: ${v.saved}`);
      lines.push(`    reproduce: ${v.reproduction}`);
    }
    return lines;
  }
}

function getOrSet<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

function truncateText(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
