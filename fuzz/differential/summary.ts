/**
 * Totals over many module reports, and their printout.
 *
 * @module
 */

import type { Difference } from './compare.js';
import type { ModuleReport } from './differential.js';

/** A difference found in a module, with the seed to replay it. */
export interface Finding extends Difference {
  readonly seed: number;
  /** Where the module was saved, if it was. */
  readonly savedAs: string | null;
}

/** Running totals; see {@link Summary.add}. */
export class Summary {
  generated = 0;
  accepted = 0;
  /** Accepted and compared on JSPI only (see `ModuleReport`). */
  jspiOnly = 0;
  /** Accepted modules whose start function ran (`--start-functions`). */
  withStart = 0;
  unusable = 0;
  readonly refusedByKind = new Map<string, number>();
  callsCompared = 0;
  callsPlanned = 0;
  interrupts = 0;
  /** With bounds: out-of-fuel pauses (each refilled). */
  outOfFuel = 0;
  /** With `--moves`: paused calls moved, by kind (see `moves.ts`). */
  readonly moves = new Map<string, number>();
  readonly outcomes = new Map<string, number>();
  readonly divergences: Finding[] = [];
  readonly stackDepth: Finding[] = [];
  readonly unusableSeeds: string[] = [];

  /** Counts `report`; `savedAs` is where its module was saved, for findings. */
  add(report: ModuleReport, savedAs: string | null = null): void {
    this.generated++;
    switch (report.status) {
      case 'unusable':
        this.unusable++;
        this.unusableSeeds.push(`${report.seed}: ${report.reason}`);
        return;
      case 'refused':
        this.refusedByKind.set(report.kind, (this.refusedByKind.get(report.kind) ?? 0) + 1);
        return;
      case 'compared': {
        this.accepted++;
        if (report.backends === 'jspi') this.jspiOnly++;
        if (report.startFunction !== null) this.withStart++;
        this.callsCompared += report.callsCompared;
        this.callsPlanned += report.callsPlanned;
        this.interrupts += report.interrupts;
        this.outOfFuel += report.outOfFuel;
        for (const [backend, counts] of Object.entries(report.moves ?? {})) {
          for (const [kind, n] of Object.entries(counts ?? {})) this.moves.set(`${kind} (${backend})`, (this.moves.get(`${kind} (${backend})`) ?? 0) + n);
        }
        for (const [kind, n] of Object.entries(report.outcomes)) this.outcomes.set(kind, (this.outcomes.get(kind) ?? 0) + n);
        const { verdict } = report;
        if (verdict.type === 'divergence') this.divergences.push({ ...verdict, seed: report.seed, savedAs });
        if (verdict.type === 'stack-depth') this.stackDepth.push({ ...verdict, seed: report.seed, savedAs });
      }
    }
  }

  /** The printout: one line per total, then every finding. */
  format(elapsedMs: number, firstSeed: number): string {
    const refused = [...this.refusedByKind].sort((a, b) => b[1] - a[1]);
    const refusedTotal = refused.reduce((sum, [, n]) => sum + n, 0);
    const lines = [
      `seeds ${firstSeed} .. ${firstSeed + this.generated - 1}`,
      `modules generated:        ${this.generated}`,
      `accepted and compared:    ${this.accepted}${this.jspiOnly > 0 ? ` (${this.jspiOnly} on JSPI only: references in pausing frames, which Asyncify cannot save)` : ''}`,
      `refused:                  ${refusedTotal}${refused.length > 0 ? ` (${refused.map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}`,
      `start functions run:      ${this.withStart}`,
      `unusable:                 ${this.unusable}`,
      `export calls compared:    ${this.callsCompared} (of ${this.callsPlanned} planned)`,
      `interrupts answered (vm): ${this.interrupts}`,
      ...(this.outOfFuel > 0 ? [`out of fuel, refilled (vm): ${this.outOfFuel}`] : []),
      ...(this.moves.size === 0 ? [] : [`paused calls moved:       ${[...this.moves].map(([k, n]) => `${k} ${n}`).join(', ')} (forks: checked against the original)`]),
      `call outcomes (vm):       ${[...this.outcomes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`,
      `divergences:              ${this.divergences.length}`,
      `stack-depth differences:  ${this.stackDepth.length}`,
      `time:                     ${(elapsedMs / 1000).toFixed(1)} s`,
    ];
    const describe = (f: Finding): string =>
      `  seed ${f.seed}: call ${f.callIndex} (${JSON.stringify(f.exportName)}), ${f.what}\n` +
      `    plain: ${f.plain}\n    vm:    ${f.vm}` +
      `${f.outcomes === undefined ? '' : `\n    calls: ${f.outcomes}`}${f.savedAs === null ? '' : `\n    saved: ${f.savedAs}`}`;
    if (this.divergences.length > 0) lines.push('divergences:', ...this.divergences.map(describe));
    if (this.stackDepth.length > 0) lines.push('stack-depth differences (not divergences):', ...this.stackDepth.map(describe));
    if (this.unusableSeeds.length > 0) lines.push('unusable:', ...this.unusableSeeds.map((s) => `  ${s}`));
    return lines.join('\n');
  }
}
