// `npm run docs:numbers`: the numbers the README and docs quote from tests and benchmarks,
// written there from their sources instead of by hand.
//
// - Sources: what the tests measured in their last run (`build/numbers/<test>.json`, written by
//   `recordNumbers` in spec/support/numbers.ts: bundle sizes, the install's size) and the
//   latest full benchmark run holding each section (`bench/results/*.json`, `npm run bench`).
//   Both folders are local (not committed); what was taken from them is kept, with where it came
//   from, in `docs/numbers.json`, which is committed.
// - Targets: in README.md and docs/*.md, a number is written between two markers,
//   `<!-- n:key -->17.5<!-- /n -->`, and rewritten from `docs/numbers.json`.
//
// `node scripts/docs-numbers.mjs` collects, updates docs/numbers.json and rewrites the docs.
// `node scripts/docs-numbers.mjs --check` changes nothing: it exits 1, listing them, if a marked
// number differs from docs/numbers.json or names a key it does not hold (spec/docs-numbers.test.ts).
//
// To quote a new number: add its extractor below (or record it from a test), run the script,
// and write the marker where the number goes.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NUMBERS = join(ROOT, 'docs', 'numbers.json');
const MARKER = /<!-- n:([\w.+-]+) -->(.*?)<!-- \/n -->/g;

/** A number as the docs write it: three significant digits, thousands separated. */
function format(value) {
  if (typeof value !== 'number') return String(value);
  const rounded = Math.abs(value) >= 100 ? Math.round(value) : Number(value.toPrecision(3));
  return rounded.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

/** What the docs quote from a benchmark run, by section: key -> value, from that section's rows. */
const BENCH = {
  metadata: (rows) => {
    const ms = (runtime, how) => rows.find((r) => r.runtime === runtime && r.how === how)?.msPerCall;
    const out = {};
    for (const runtime of ['westend', 'asset-hub']) {
      const plain = ms(runtime, 'plain V8, synchronous imports, a fresh instance per call');
      const plainReused = ms(runtime, 'plain V8, synchronous imports, one instance, memory put back');
      const jspi = ms(runtime, 'JSPI, every import an interrupt');
      const asyncify = ms(runtime, 'Asyncify, every import an interrupt');
      const jspiReused = ms(runtime, 'JSPI, every import an interrupt, runToCompletion, grown memory reused');
      const layer = ms(runtime, 'the Substrate layer: runtimeCall on JSPI, its inline set, reuseGrownMemory');
      const chopsticks = ms(runtime, 'chopsticks-executor run_task (smoldot + wasmi)');
      Object.assign(out, {
        [`metadata.${runtime}.plain.ms`]: plain,
        [`metadata.${runtime}.jspi.ms`]: jspi,
        [`metadata.${runtime}.jspi.x`]: jspi / plain,
        [`metadata.${runtime}.asyncify.ms`]: asyncify,
        [`metadata.${runtime}.asyncify.x`]: asyncify / plain,
        [`metadata.${runtime}.jspi-reused.ms`]: jspiReused,
        [`metadata.${runtime}.jspi-reused.x`]: jspiReused / plainReused,
        [`metadata.${runtime}.layer-reused.ms`]: layer,
        [`metadata.${runtime}.chopsticks.ms`]: chopsticks,
        [`metadata.${runtime}.layer-reused.vs-chopsticks`]: chopsticks / layer,
      });
    }
    return out;
  },
  interrupts: (rows) => {
    const ns = (how) => rows.find((r) => r.how === how && r.depth === 0)?.nsPerCall;
    const deep = (how) => rows.find((r) => r.how === how && r.depth === 1000)?.nsPerCall;
    return {
      'interrupts.plain.ns': ns('plain V8, synchronous import'),
      'interrupts.asyncify-run.ns': ns('this VM, every call an interrupt'),
      'interrupts.asyncify-run.ns-depth-1000': deep('this VM, every call an interrupt'),
      'interrupts.jspi.ns': ns('this VM on JSPI, runAsync'),
      'interrupts.jspi.ns-depth-1000': deep('this VM on JSPI, runAsync'),
      'interrupts.jspi-floor.ns': ns('minimal JSPI loop (hand-written)'),
    };
  },
  steps: (rows) => {
    const out = {};
    for (const r of rows) {
      out[`steps.${r.runtime}.floor-ms`] = r.floorMs;
      out[`steps.${r.runtime}.vm-ms`] = r.runToCompletionMs;
      out[`steps.${r.runtime}.x`] = r.ratio;
      out[`steps.${r.runtime}.added-ns`] = r.addedNsPerInterrupt;
    }
    return out;
  },
  snapshot: (rows) => {
    const value = (what) => rows.find((r) => r.runtime === 'westend' && r.what === what)?.value;
    return {
      'snapshot.westend.pages': value('memory at the pause'),
      'snapshot.westend.size.mb': value('snapshot size') / 1e6,
      'snapshot.westend.snapshot.ms': value('vm.snapshot()'),
      'snapshot.westend.restore.ms': value('cloneAsync() + VirtualMachine.restore()'),
      'snapshot.westend.floor.ms': value('cloneAsync() + copying the memory (floor)'),
      'snapshot.westend.restore.x': value('restore / floor'),
    };
  },
  pool: (rows) => {
    const out = {};
    for (const r of rows) {
      if (r.runtime === 'control') {
        // The CPU control keeps its older keys; the memory controls are named by their kind.
        const kind = r.control === undefined || r.control === 'cpu' ? '' : `${r.control.replace(' ', '-')}.`;
        out[`pool.control.${kind}${r.workers}.ups`] = r.callsPerSecond;
        if (r.workers === 2) out[`pool.control.${kind}x`] = r.x;
        if (r.workers === 2 && r.xPaired !== undefined) out[`pool.control.${kind}x-paired`] = r.xPaired;
        continue;
      }
      out[`pool.${r.runtime}.${r.entryPoint}.${r.memory}.${r.workers}.cps`] = r.callsPerSecond;
      if (r.workers === 2) out[`pool.${r.runtime}.${r.entryPoint}.${r.memory}.x`] = r.x;
      if (r.workers === 2 && r.xPaired !== undefined) out[`pool.${r.runtime}.${r.entryPoint}.${r.memory}.x-paired`] = r.xPaired;
    }
    return out;
  },
  'asyncify-stack': (rows) => {
    const out = {};
    for (const r of rows) {
      const key = `asyncify-stack.${r.runtime}.${r.asyncifyStack}.${r.imports}`;
      out[`${key}.min-ms`] = r.minMs;
      out[`${key}.median-ms`] = r.medianMs;
      if (r.asyncifyStack === 'single-memory') {
        out[`${key}.x`] = r.xSecondMemory;
        out[`${key}.x-median`] = r.xSecondMemoryMedian;
      }
    }
    return out;
  },
  create: (rows) => {
    const out = {};
    for (const runtime of ['westend', 'asset-hub']) {
      for (const [mode, key] of [
        ['cold', 'asyncify-cold'],
        ['artifact', 'asyncify-artifact'],
        ['cache hit', 'asyncify-cache'],
        ['jspi', 'jspi'],
        ['bare engine', 'engine'],
      ]) {
        const row = rows.find((r) => r.runtime === runtime && r.mode === mode);
        if (row !== undefined) out[`create.${runtime}.${key}.ms`] = row.ms;
      }
    }
    return out;
  },
  // bench/bounds.ts: each option against none, same run. `.x` is the median's ratio (memory
  // reused between calls for a run), `.x-min` the minimums', `.x-cpu` the CPU times', `.x-paired`
  // the median of each round's ratio.
  bounds: (rows) => {
    const out = {};
    const short = { none: 'none', fuel: 'fuel', maxStackHeight: 'stack', canonicalizeNaNs: 'nans', 'all three': 'all' };
    for (const r of rows) {
      const key = `bounds.${r.runtime}.${r.what}.${short[r.options]}`;
      if (r.what === 'create') {
        Object.assign(out, { [`${key}.ms`]: r.ms, [`${key}.x`]: r.x, [`${key}.x-min`]: r.xMin, [`${key}.x-cpu`]: r.xCpu, [`${key}.cpu-ms`]: r.cpuMs, [`${key}.x-paired`]: r.xPaired });
      } else if (r.memory === 'reuseGrownMemory') {
        Object.assign(out, { [`${key}.ms`]: r.msPerCall, [`${key}.x`]: r.x, [`${key}.x-min`]: r.xMin, [`${key}.x-cpu`]: r.xCpu, [`${key}.x-paired`]: r.xPaired });
      } else {
        Object.assign(out, { [`${key}.fresh-ms`]: r.msPerCall, [`${key}.x-fresh`]: r.x, [`${key}.x-fresh-min`]: r.xMin, [`${key}.x-fresh-paired`]: r.xPaired });
      }
    }
    return out;
  },
};

/** The latest full (not --quick) benchmark run holding `section`, with its file name. */
function latestBench(section) {
  const dir = join(ROOT, 'bench', 'results');
  if (!existsSync(dir)) return null;
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort().reverse();
  for (const file of files) {
    const run = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    if (!run.quick && Array.isArray(run[section])) return { file, run };
  }
  return null;
}

function collect(numbers) {
  const dir = join(ROOT, 'build', 'numbers');
  for (const file of existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : []) {
    const { measured, numbers: found } = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    for (const [key, value] of Object.entries(found)) numbers[key] = { value, source: `spec/${file.replace(/\.json$/, '')}.test.ts, ${measured.slice(0, 10)}` };
  }
  for (const [section, extract] of Object.entries(BENCH)) {
    const latest = latestBench(section);
    if (latest === null) continue;
    const source = `bench/results/${latest.file} (${latest.run.node}, ${latest.run.cpu})`;
    for (const [key, value] of Object.entries(extract(latest.run[section]))) {
      if (typeof value === 'number' && Number.isFinite(value)) numbers[`bench.${key}`] = { value: Number(value.toPrecision(4)), source };
    }
  }
}

/** The files whose markers are rewritten. */
function documents() {
  return ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];
}

const check = process.argv.includes('--check');
const stored = existsSync(NUMBERS) ? JSON.parse(readFileSync(NUMBERS, 'utf8')).numbers : {};
const numbers = { ...stored };
if (!check) collect(numbers);

const problems = [];
for (const document of documents()) {
  const path = join(ROOT, document);
  const text = readFileSync(path, 'utf8');
  const rewritten = text.replace(MARKER, (marked, key, shown) => {
    if (!(key in numbers)) {
      problems.push(`${document}: no number is named ${key} in docs/numbers.json`);
      return marked;
    }
    const expected = format(numbers[key].value);
    if (shown !== expected) problems.push(`${document}: ${key} is written ${JSON.stringify(shown)}, docs/numbers.json makes it ${JSON.stringify(expected)}`);
    return `<!-- n:${key} -->${expected}<!-- /n -->`;
  });
  if (!check && rewritten !== text) writeFileSync(path, rewritten);
}

if (check) {
  for (const problem of problems) console.log(problem);
  if (problems.length > 0) {
    console.log('run `npm run docs:numbers` to write the numbers from docs/numbers.json (and the latest results)');
    process.exit(1);
  }
} else {
  const sorted = Object.fromEntries(Object.entries(numbers).sort(([a], [b]) => a.localeCompare(b)));
  writeFileSync(
    NUMBERS,
    `${JSON.stringify(
      {
        about: 'Numbers the README and docs quote, with where each was measured. Written by `npm run docs:numbers` (scripts/docs-numbers.mjs); not by hand.',
        numbers: sorted,
      },
      null,
      2,
    )}\n`,
  );
  const unknown = problems.filter((p) => p.includes('no number is named'));
  for (const problem of unknown) console.error(problem);
  if (unknown.length > 0) process.exit(1);
}
