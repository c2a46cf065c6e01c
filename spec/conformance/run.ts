/**
 * The conformance CLI: runs the WebAssembly MVP spec suite (`../shared/spec-mvp`) through the
 * library's public API and prints passed / failed / skipped-by-reason per script and in total,
 * then every failure.
 *
 * ```sh
 * npm run spec:conformance --                       # every script
 * npm run spec:conformance -- i32 call_indirect     # some scripts
 * npm run spec:conformance -- --json out.json       # also write the results as JSON
 * npm run spec:conformance -- --features mvp        # compare with another feature set
 * npm run spec:conformance -- --backend jspi         # one backend only (default: Asyncify, then JSPI)
 * npm run spec:conformance -- --asyncify-stack single-memory   # Asyncify's stack as without multi-memory
 * npm run spec:conformance -- --list-skips data     # every skipped command, and why
 * npm run spec:conformance -- --suite bulk-memory-operations   # a proposal suite of spec/proposals
 * npm run spec:conformance -- --suite proposals     # every proposal suite
 * npm run spec:conformance -- --fuel --max-stack-height --canonicalize-nans   # with the code rewrite's options
 * ```
 *
 * `--fuel`: every call starts with no fuel and is refilled each time it runs out (every call
 * pauses out of fuel at once); `--max-stack-height [n]`: the logical stack limit (default
 * `DEFAULT_MAX_STACK_HEIGHT`), `assert_exhaustion` then expects its trap; `--canonicalize-nans`:
 * a NaN result the script leaves to the engine must be exactly the canonical one.
 *
 * The suite is `../shared/spec-mvp` (or `$SPEC_MVP_DIR`). Exits 0 when every command passed or was
 * skipped (and when the suite is absent: users who clone the repository do not have it), 1 when a
 * command failed (known VM bugs included), 2 on a usage error.
 *
 * @module
 */

import { writeFileSync } from 'node:fs';
import { SUITE_FEATURES } from './feature-set.js';
import { formatFailure, formatKnownFailures, formatSkip, formatSkipLegend, formatTable, toJson } from './report.js';
import { sumTallies, totalSkipped } from './results.js';
import { type AsyncifyStack, type Backend, DEFAULT_MAX_STACK_HEIGHT, type FeaturesOption } from '../../lib/index.js';
import type { RunOptions } from './script-runner.js';
import { runSuite } from './run-suite.js';
import { PROPOSAL_SUITES, SUITE_DIR, listScripts, proposalDir, suitePresent } from './suite.js';

const USAGE =
  'usage: npm run spec:conformance -- [--suite mvp|proposals|<proposal>] [--json out.json] [--features mvp|default|modern|f1,f2,...] [--backend asyncify|jspi] [--asyncify-stack single-memory|second-memory] [--link-functions] [--start-functions] [--fuel] [--max-stack-height [n]] [--canonicalize-nans] [--list-skips] [script-name ...]';

function usageError(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

interface Arguments {
  json: string | null;
  /** The feature set; `null`: each suite's own. */
  features: FeaturesOption | null;
  /** `mvp`, `proposals` or the name of one proposal suite. */
  suite: string;
  /** Link function imports between modules in the MVP suite too (the proposal suites always do). */
  linkFunctions: boolean;
  /** Run start functions in the MVP suite too (the proposal suites always do). */
  startFunctions: boolean;
  /** The backends to run the suite on, in turn (default: both). */
  backends: Backend[];
  /** Where Asyncify keeps a paused stack (default: the engine's choice). */
  asyncifyStack: AsyncifyStack | undefined;
  listSkips: boolean;
  /** The code rewrite's options every module is created with. */
  bounds: NonNullable<RunOptions['bounds']>;
  scripts: string[];
}

function parseArguments(argv: readonly string[]): Arguments {
  let json: string | null = null;
  let listSkips = false;
  let features: FeaturesOption | null = null;
  let suite = 'mvp';
  let linkFunctions = false;
  let startFunctions = false;
  let backends: Backend[] = ['asyncify', 'jspi'];
  let asyncifyStack: AsyncifyStack | undefined;
  const bounds: { fuel?: boolean; maxStackHeight?: number; canonicalizeNaNs?: boolean } = {};
  const scripts: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--json') {
      json = argv[++i] ?? usageError('--json needs a file name');
    } else if (arg === '--backend') {
      const value = argv[++i];
      if (value !== 'asyncify' && value !== 'jspi') usageError(`--backend must be asyncify or jspi, got ${String(value)}`);
      backends = [value];
    } else if (arg === '--asyncify-stack') {
      const value = argv[++i];
      if (value !== 'single-memory' && value !== 'second-memory') usageError(`--asyncify-stack must be single-memory or second-memory, got ${String(value)}`);
      asyncifyStack = value;
    } else if (arg === '--features') {
      const value = argv[++i];
      if (value === undefined) usageError('--features needs a value');
      features = value.includes(',') ? (value.split(',') as FeaturesOption) : (value as FeaturesOption);
    } else if (arg === '--suite') {
      suite = argv[++i] ?? usageError('--suite needs a name');
      if (suite !== 'mvp' && suite !== 'proposals' && !PROPOSAL_SUITES.some((p) => p.name === suite)) {
        usageError(`no such suite ${suite} (mvp, proposals, ${PROPOSAL_SUITES.map((p) => p.name).join(', ')})`);
      }
    } else if (arg === '--link-functions') {
      linkFunctions = true;
    } else if (arg === '--start-functions') {
      startFunctions = true;
    } else if (arg === '--fuel') {
      bounds.fuel = true;
    } else if (arg === '--canonicalize-nans') {
      bounds.canonicalizeNaNs = true;
    } else if (arg === '--max-stack-height') {
      const next = argv[i + 1];
      if (next !== undefined && /^\d+$/.test(next)) {
        bounds.maxStackHeight = Number(next);
        i++;
      } else {
        bounds.maxStackHeight = DEFAULT_MAX_STACK_HEIGHT;
      }
    } else if (arg === '--list-skips') {
      listSkips = true;
    } else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (arg.startsWith('-')) {
      usageError(`unknown option ${arg}`);
    } else {
      scripts.push(arg.replace(/\.(json|wast)$/, ''));
    }
  }
  return { json, features, suite, linkFunctions, startFunctions, backends, asyncifyStack, listSkips, bounds, scripts };
}

/** A suite to run: its folder and its feature set. */
interface SuiteRun {
  readonly name: string;
  readonly dir: string;
  readonly features: FeaturesOption;
  readonly linkFunctions: boolean;
  readonly startFunctions: boolean;
}

function suitesToRun(args: Arguments): SuiteRun[] {
  if (args.suite === 'mvp') {
    return [
      {
        name: 'mvp',
        dir: SUITE_DIR,
        features: args.features ?? SUITE_FEATURES,
        linkFunctions: args.linkFunctions,
        startFunctions: args.startFunctions,
      },
    ];
  }
  return PROPOSAL_SUITES.filter((p) => args.suite === 'proposals' || p.name === args.suite).map((p) => ({
    name: p.name,
    dir: proposalDir(p.name),
    features: args.features ?? p.features,
    linkFunctions: true,
    startFunctions: true,
  }));
}

async function main(): Promise<void> {
  const args = parseArguments(process.argv.slice(2));
  let failed = 0;
  for (const suite of suitesToRun(args)) failed += await runOneSuite(args, suite);
  process.exitCode = failed > 0 ? 1 : 0;
}

/** Runs one suite on every backend asked for; returns the number of failed commands. */
async function runOneSuite(args: Arguments, suite: SuiteRun): Promise<number> {
  if (!suitePresent(suite.dir)) {
    console.log(`The WebAssembly MVP spec suite is not present at ${suite.dir} (shared test data, not part of the repository): nothing to run.`);
    return 0;
  }
  const available = listScripts(suite.dir);
  const unknown = args.scripts.filter((s) => !available.includes(s));
  if (unknown.length > 0) usageError(`no such script: ${unknown.join(', ')} (available: ${available.join(' ')})`);
  const names = args.scripts.length > 0 ? args.scripts : available;
  const features = JSON.stringify(suite.features);

  let failed = 0;
  for (const backend of args.backends) {
    const stack = backend === 'asyncify' && args.asyncifyStack !== undefined ? ` (its stack: ${args.asyncifyStack})` : '';
    const options = Object.keys(args.bounds).length === 0 ? '' : ` and ${JSON.stringify(args.bounds)}`;
    console.log(`Running ${names.length} script(s) of ${suite.dir} with features ${features}${options} on the ${backend} backend${stack}, Node ${process.version}`);
    const started = performance.now();
    const results = await runSuite(names, {
      features: suite.features,
      linkFunctions: suite.linkFunctions,
      startFunctions: suite.startFunctions,
      backend,
      ...(args.asyncifyStack === undefined ? {} : { asyncifyStack: args.asyncifyStack }),
      dir: suite.dir,
      ...(Object.keys(args.bounds).length === 0 ? {} : { bounds: args.bounds }),
      onScript: (r) => {
        const t = r.tally;
        process.stderr.write(
          `  ${r.script}: ${t.passed} passed, ${t.failed} failed, ${totalSkipped(t)} skipped (${(r.milliseconds / 1000).toFixed(1)} s)\n`,
        );
      },
    });
    const milliseconds = performance.now() - started;

    console.log(`\n${formatTable(results, milliseconds)}\n\nSkip classes:\n${formatSkipLegend()}`);
    if (args.listSkips) {
      console.log('\nSkipped commands:');
      for (const r of results) for (const s of r.skips) console.log(`  ${formatSkip(s)}`);
    }
    const failures = results.flatMap((r) => r.failures);
    if (failures.length > 0) {
      console.log(`\n${failures.length} failure(s) (reproduce with: npm run spec:conformance -- --suite ${suite.name} <script>):`);
      for (const f of failures) console.log(formatFailure(f));
      const known = formatKnownFailures(failures);
      if (known !== '') console.log(`\nKnown VM bugs among them (spec/conformance/known-failures.ts):\n${known}`);
    }
    const total = sumTallies(results.map((r) => r.tally));
    const interrupts = results.reduce((sum, r) => sum + r.interrupts, 0);
    const calls = results.reduce((sum, r) => sum + r.fuel.length, 0);
    console.log(
      `\nTotal (${suite.name}, ${backend}${options}): ${total.passed} passed, ${total.failed} failed, ${totalSkipped(total)} skipped, in ${(milliseconds / 1000).toFixed(1)} s` +
        ` (${interrupts} interrupts answered${args.bounds.fuel === true ? `, ${calls} calls metered` : ''})`,
    );
    if (args.json !== null) {
      const meta = { suite: suite.dir, features: suite.features, backend, node: process.version, date: new Date().toISOString(), milliseconds: Math.round(milliseconds) };
      const file = args.json.replace(/(\.json)?$/, `${suite.name === 'mvp' ? '' : `.${suite.name}`}${args.backends.length === 1 ? '' : `.${backend}`}.json`);
      writeFileSync(file, `${JSON.stringify(toJson(results, meta), null, 2)}\n`);
      console.log(`JSON written to ${file}`);
    }
    failed += total.failed;
  }
  return failed;
}

await main();
