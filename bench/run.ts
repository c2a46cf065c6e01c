/**
 * `npm run bench`: every benchmark, side by side, as tables and as JSON.
 *
 * Usage: node build/bench/run.js [--quick] [--only interrupts,steps,metadata,asyncify-stack,create,reset,snapshot,pool,bounds] [--browsers [--runtimes westend,asset-hub]]
 * Results are printed and written to bench/results/<date>.json. Runtimes from ../shared are
 * skipped with a message when it is absent; the Asset Hub runtime comes from npm.
 * `--browsers` measures the pause on every browser engine found instead (`browsers.ts`); with
 * `--only`, it adds them to the sections named.
 */
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, sharedPath } from '../spec/support/shared.js';
import { assetHubRuntime, runtimeWasm } from '../spec/support/substrate-harness.js';
import { loadChainSpec } from '../spec/support/chain-spec.js';
import { benchReset } from './reset.js';
import { benchCreate } from './create.js';
import { benchBoundsCreate, benchBoundsRun } from './bounds.js';
import { benchInterrupts } from './interrupts.js';
import { benchBrowsers } from './browsers.js';
import { benchMetadata } from './metadata.js';
import { benchPool, machineLoad } from './pool.js';
import { benchSnapshot } from './snapshot.js';
import { benchAsyncifyStack } from './asyncify-stack.js';
import { benchSteps } from './steps.js';
import { table } from './support/stats.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyIndex = args.indexOf('--only');
const only = onlyIndex >= 0 ? new Set(args[onlyIndex + 1]!.split(',')) : null;
const browsers = args.includes('--browsers');
// `--browsers` alone measures the browsers only.
const wanted = (section: string): boolean => (only === null ? !browsers || section === 'browsers' : only.has(section) || (browsers && section === 'browsers'));

const report: Record<string, unknown> = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
  quick,
};
const print = (title: string, text: string): void => console.log(`\n## ${title}\n\n${text}`);

if (wanted('interrupts')) {
  const { results, rows } = await benchInterrupts({ rounds: quick ? 3 : 11 });
  report['interrupts'] = results;
  print('One import call (nanoseconds per call, by stack depth)', table(['how', 'depth', 'ns/call', 'x plain'], rows));
}

const westendPath = sharedPath('runtimes/westend-runtime-v9300.wasm');
const runtimes: { name: string; code: () => Promise<Uint8Array>; wasm: (code: Uint8Array) => Promise<Uint8Array> }[] = [];
if (westendPath === null) {
  console.log('\n(westend v9300 skipped: ../shared/runtimes is not present)');
} else {
  runtimes.push({ name: 'westend', code: async () => readFileSync(westendPath), wasm: async (code) => runtimeWasm(code) });
}
runtimes.push({ name: 'asset-hub', code: assetHubRuntime, wasm: async (code) => code });
const peoplePath = sharedPath('runtimes/people-paseo-local.json');
if (peoplePath === null) {
  console.log('\n(People 2026 skipped: ../shared/runtimes is not present)');
} else {
  const people = loadChainSpec(peoplePath);
  runtimes.push({ name: 'people-2026', code: async () => people.code, wasm: async (code) => runtimeWasm(code) });
}

if (wanted('steps')) {
  const all = [];
  const rows = [];
  for (const runtime of runtimes) {
    const code = await runtime.code();
    const { result, rows: r } = await benchSteps(runtime.name, await runtime.wasm(code), { runs: quick ? 10 : 40, warmup: quick ? 10 : 40 });
    all.push(result);
    rows.push(...r);
  }
  report['steps'] = all;
  print(
    'What the library adds per interrupt: Metadata_metadata on JSPI, every import an interrupt, memory reused (ms per call)',
    table(['runtime', 'hand-written floor', 'runToCompletion', 'x floor', 'ns added per interrupt'], rows),
  );
}

if (wanted('metadata')) {
  const all = [];
  const rows = [];
  for (const runtime of runtimes) {
    const code = await runtime.code();
    const { results, rows: r } = await benchMetadata(runtime.name, code, await runtime.wasm(code), {
      // V8 optimises a multi-megabyte module in the background over many calls: warm up long
      // enough that every variant is measured in its steady state.
      runs: quick ? 5 : 20,
      warmup: quick ? 5 : 40,
    });
    all.push(...results);
    rows.push(...r);
  }
  report['metadata'] = all;
  print('Metadata_metadata, per call (milliseconds)', table(['runtime: how', 'ms/call', 'x plain (started over the same way)', 'x faster than chopsticks'], rows));
}

if (wanted('asyncify-stack')) {
  // westend only: the targets are stated for it (shared data).
  if (westendPath === null) {
    console.log("\n(the asyncify-stack section skipped: it measures westend v9300, and ../shared/runtimes/westend-runtime-v9300.wasm is not present)");
  } else {
    const { results, rows } = await benchAsyncifyStack('westend', runtimeWasm(readFileSync(westendPath)), { runs: quick ? 5 : 40, warmup: quick ? 3 : 20 });
    report['asyncify-stack'] = results;
    print(
      "Asyncify's paused stack in a second memory or below the guest's memory (single memory): Metadata_metadata, grown memory reused (CPU ms per call, interleaved rounds)",
      table(['runtime: how', 'min ms', 'median ms', 'x second memory (min)', 'x second memory (median)'], rows),
    );
  }
}

if (wanted('create')) {
  const all = [];
  const rows = [];
  for (const runtime of runtimes) {
    const { results, rows: r } = benchCreate(runtime.name, { coldRuns: quick ? 1 : 3, warmRuns: quick ? 3 : 5 });
    all.push(...results);
    rows.push(...r);
  }
  report['create'] = all;
  print(
    'Prototype creation, each the first in a fresh process (x bare: against validate + compile + instantiate by the engine alone)',
    table(['runtime: mode', 'ms', 'x bare', 'peak RSS MB', 'phases (ms)'], rows),
  );
}

if (wanted('reset')) {
  const all = [];
  const rows = [];
  for (const runtime of runtimes) {
    const { results, rows: r } = await benchReset(runtime.name, await runtime.code(), { runs: quick ? 20 : 200 });
    all.push(...results);
    rows.push(...r);
  }
  report['reset'] = all;
  print(
    'A small call on a runtime seen before: runtimeCall(Core_version), and what a fresh instance costs (milliseconds)',
    table(['runtime: what', 'ms', 'x fresh instantiation'], rows),
  );
}

if (wanted('snapshot')) {
  if (westendPath === null) {
    console.log('\n(snapshot skipped: ../shared/runtimes is not present)');
  } else {
    const { results, rows } = await benchSnapshot('westend', runtimeWasm(readFileSync(westendPath)), { runs: quick ? 5 : 25, warmup: quick ? 2 : 5 });
    report['snapshot'] = results;
    report['snapshotLoad'] = machineLoad();
    print("A snapshot of westend's Metadata_metadata paused at its 10,000th interrupt (Asyncify, every import an interrupt)", table(['runtime: what', 'value', 'unit'], rows));
  }
}

if (wanted('pool')) {
  if (westendPath === null) {
    console.log('\n(pool skipped: ../shared/runtimes is not present)');
  } else {
    const { results, rows, load } = await benchPool('westend', westendPath, {
      rounds: quick ? 2 : 9,
      batches: { Core_version: quick ? 100 : 3000, TransactionPaymentApi_query_info: quick ? 100 : 3000, Metadata_metadata: quick ? 10 : 80 },
      // Calls per worker before the rounds (see benchPool).
      warmUp: { Core_version: quick ? 200 : 50_000, TransactionPaymentApi_query_info: quick ? 200 : 50_000, Metadata_metadata: quick ? 10 : 300 },
    });
    report['pool'] = results;
    report['poolLoad'] = load;
    print('A pool of Workers (examples/worker-pool/, JSPI): calls per second, all submitted at once', table(['runtime: calls, workers', 'calls/s', 'x 1 worker', 'x, paired'], rows));
    console.log(`load average before ${load.before.loadavg.map((n) => n.toFixed(2)).join(' ')}, after ${load.after.loadavg.map((n) => n.toFixed(2)).join(' ')}`);
    console.log(`busiest processes (after):\n  ${load.after.busiest.join('\n  ')}`);
  }
}

if (wanted('bounds')) {
  // Issue 21's targets: westend create() on JSPI with all three options at most 2x without them;
  // Metadata_metadata with the host inline, fuel at most 1.3x, all three at most 1.4x.
  const created = [];
  const createRows = [];
  const ran = [];
  const runRows = [];
  for (const runtime of runtimes) {
    if (runtime.name === 'westend' || runtime.name === 'asset-hub') {
      const { results, rows } = benchBoundsCreate(runtime.name, { runs: quick ? 3 : 9 });
      created.push(...results);
      createRows.push(...rows);
    }
    const { results, rows } = await benchBoundsRun(runtime.name, await runtime.wasm(await runtime.code()), { runs: quick ? 5 : 30, warmup: quick ? 5 : 40 });
    ran.push(...results);
    runRows.push(...rows);
  }
  report['bounds'] = [...created.map((r) => ({ what: 'create', ...r })), ...ran.map((r) => ({ what: 'run', ...r }))];
  print(
    'The code rewrite\'s options: create() on JSPI, each the first in a fresh process (x none: the same creation without options, same run)',
    table(['runtime: options', 'median ms', 'x none', 'min ms', 'x none (min)', 'CPU ms', 'x none (CPU)', 'x none (paired)'], createRows),
  );
  print(
    'The code rewrite\'s options: Metadata_metadata on JSPI, the host inline, no pause (ms per call; x none: the same call without options)',
    table(['runtime: options, memory', 'median ms', 'x none', 'min ms', 'x none (min)', 'x none (CPU)', 'x none (paired)'], runRows),
  );
}

if (wanted('browsers')) {
  const runtimesIndex = args.indexOf('--runtimes');
  const { results, rows, skipped } = await benchBrowsers({
    warmup: quick ? 2 : 10,
    rounds: quick ? 3 : 15,
    ...(runtimesIndex >= 0 ? { runtimes: args[runtimesIndex + 1]!.split(',') } : {}),
  });
  report['browsers'] = { results, skipped };
  print(
    'Browsers: Metadata_metadata, every import an interrupt, page main thread, memory put back between calls (per pause: what the variant adds to plain, over the host calls)',
    table(['engine: how', 'ms/call', 'x plain', 'us/pause'], rows),
  );
}

const folder = join(REPO_ROOT, 'bench', 'results');
mkdirSync(folder, { recursive: true });
const file = join(folder, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
console.log(`\nJSON: ${file}`);
