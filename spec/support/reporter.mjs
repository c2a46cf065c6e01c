// The test run as a person reads it (jest.config.js's only reporter): one line per test file,
// and nothing else unless something failed; at the end, the counts per group of files, every
// skipped test with its reason, and the closing line `N passed, N failed, N skipped`.
//
// - A failure is printed in full, as Jest's own reporter prints it.
// - What a test file writes through `console.*` (measurements, tallies, skip notices) is
//   written whole to build/test-output/<file>.log and shown as one line per entry under the
//   file's line (`note:`), without Jest's code frame: a measurement must not look like a failure.
// - Skipped tests are collected, not announced where they happen: the summary lists them by
//   reason (a suite skipped by `describeWithShared` says why in its name: `[skipped: ...]`).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';

const SKIP_REASON = /\[skipped: ([^\]]+)\]/;

export default class ReadableReporter {
  #root;
  #groups = new Map();
  #skipped = new Map();
  #notes = 0;
  #started = performance.now();

  constructor(globalConfig) {
    this.#root = globalConfig.rootDir;
  }

  onRunStart(results) {
    process.stderr.write(`running ${results.numTotalTestSuites} test files\n`);
  }

  onTestFileResult(test, result) {
    const file = relative(this.#root, result.testFilePath);
    const seconds = (result.perfStats.runtime / 1000).toFixed(1);
    const failed = result.numFailingTests > 0 || result.testExecError !== undefined;
    const counts = [`${result.numPassingTests} passed`];
    if (result.numFailingTests > 0) counts.push(`${result.numFailingTests} failed`);
    const skipped = result.numPendingTests + result.numTodoTests;
    if (skipped > 0) counts.push(`${skipped} skipped`);
    const lines = [`${failed ? 'FAIL' : 'PASS'} ${file}  ${counts.join(', ')}  ${seconds} s`];

    const entries = result.console ?? [];
    if (entries.length > 0) {
      const log = join(this.#root, 'build', 'test-output', `${file.replace(/[\\/]/g, '__')}.log`);
      mkdirSync(dirname(log), { recursive: true });
      writeFileSync(log, entries.map((e) => `[${e.type}] ${e.message}\n`).join(''));
      for (const entry of entries) {
        const [first, ...more] = String(entry.message).split('\n');
        const rest = more.filter((l) => l.trim() !== '').length;
        lines.push(`  note: ${first}${rest > 0 ? ` (+${rest} lines in ${relative(this.#root, log)})` : ''}`);
        this.#notes++;
      }
    }
    if (failed) lines.push(result.failureMessage ?? String(result.testExecError?.message ?? ''));

    for (const t of result.testResults) {
      if (t.status !== 'pending' && t.status !== 'skipped' && t.status !== 'todo') continue;
      const name = [...t.ancestorTitles, t.title].join(' › ');
      const reason = SKIP_REASON.exec(name)?.[1] ?? `skipped in ${file}`;
      const list = this.#skipped.get(reason) ?? [];
      list.push(`${file}: ${name}`);
      this.#skipped.set(reason, list);
    }

    const group = dirname(file);
    const g = this.#groups.get(group) ?? { files: 0, passed: 0, failed: 0, skipped: 0, seconds: 0 };
    g.files++;
    g.passed += result.numPassingTests;
    g.failed += result.numFailingTests + (result.testExecError !== undefined ? 1 : 0);
    g.skipped += skipped;
    g.seconds += result.perfStats.runtime / 1000;
    this.#groups.set(group, g);
    process.stderr.write(`${lines.join('\n')}\n`);
  }

  onRunComplete(_contexts, results) {
    const out = ['', 'summary:'];
    const width = Math.max(...[...this.#groups.keys()].map((g) => g.length + 1));
    for (const [group, g] of [...this.#groups].sort(([a], [b]) => a.localeCompare(b))) {
      out.push(
        `  ${`${group}/`.padEnd(width)}  ${String(g.files).padStart(3)} files  ${String(g.passed).padStart(5)} passed  ` +
          `${String(g.failed).padStart(3)} failed  ${String(g.skipped).padStart(3)} skipped  (${g.seconds.toFixed(0)} s of test time)`,
      );
    }
    const skipped = [...this.#skipped.values()].reduce((n, l) => n + l.length, 0);
    if (skipped > 0) {
      out.push(`  skipped, by reason:`);
      for (const [reason, tests] of this.#skipped) out.push(`    ${reason}: ${tests.length} test${tests.length === 1 ? '' : 's'} (${[...new Set(tests.map((t) => t.split(':')[0]))].join(', ')})`);
    }
    if (this.#notes > 0) out.push(`  notes: ${this.#notes} lines from the tests above (in full: build/test-output/)`);
    const failedFiles = results.numFailedTestSuites + results.numRuntimeErrorTestSuites;
    if (failedFiles > 0) out.push(`  failed files: ${results.testResults.filter((r) => r.numFailingTests > 0 || r.testExecError).map((r) => relative(this.#root, r.testFilePath)).join(', ')}`);
    out.push(`  ${results.numTotalTestSuites} files in ${((performance.now() - this.#started) / 1000).toFixed(0)} s`);
    // A file that could not run counts as one failure (it has no test to count).
    out.push(`${results.numPassedTests} passed, ${results.numFailedTests + results.numRuntimeErrorTestSuites} failed, ${results.numPendingTests + results.numTodoTests} skipped`);
    process.stderr.write(`${out.join('\n')}\n`);
  }
}
