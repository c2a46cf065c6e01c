/**
 * Differential fuzzing of the VM against plain V8, from the command line:
 *
 * ```text
 * npm run fuzz -- [--count N] [--seed S] [--verbose] [--passive-host] [--features default|modern] [--start-functions] [--asyncify-stack single-memory|second-memory] [--bounds] [--moves] [--wasm FILE]
 * ```
 *
 * - `--count N`: number of modules (seeds `S .. S+N-1`), default 100.
 * - `--seed S`: the first seed; default: one derived from the clock, printed so the run can be
 *   repeated.
 * - `--verbose`: one line per module (its generation choices and its verdict).
 * - `--passive-host`: the host never writes to or grows the memory at interrupts.
 * - `--features modern`: generate modules with bulk memory, multi-value and reference types,
 *   and create the VM with `features: 'modern'` (default: the VM's default feature set).
 * - `--start-functions`: create the VM with `startFunction: true` and run the start function
 *   `-ttf` gives about one module in ten, as the plain side's instantiation does (default:
 *   such modules are refused).
 * - `--asyncify-stack single-memory`: the Asyncify side keeps its paused stack in pages reserved
 *   below the guest's memory (`VmConfig.asyncifyStack`), as on engines without multi-memory
 *   (default: the engine's choice, a second memory in Node.js).
 * - `--bounds`: run with fuel, a logical stack limit and canonical NaNs (`bounds.ts`), the plain
 *   side on the module as the code rewriter makes it: fuel consumed, out-of-fuel points (refilled
 *   in random amounts), stack-limit traps and NaN bits compared on both backends.
 * - `--moves`: move paused calls at random interrupts of the VM side (snapshot and restore in
 *   this thread and through a Worker, fork, journal replay; see `moves.ts`): outcomes and
 *   digests must still match. Needs the built package (`npm run build`) for the Worker.
 * - `--wasm FILE`: instead of generating, check FILE (e.g. a saved `fuzz/failures/<seed>.wasm`,
 *   possibly reduced by hand) with the call plan and host of `--seed`.
 *
 * Every divergence saves its module to `fuzz/failures/<seed>.wasm` and prints the command that
 * reproduces it. The exit status is 1 if there was a divergence.
 *
 * While one module is compared, the next ones are already being generated (`wasm-opt` runs in
 * child processes), which keeps both cores of a small machine busy.
 *
 * @module
 */

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  type CheckOptions,
  type ModuleReport,
  checkModule,
  describeVerdict,
  reproductionCommand,
  saveFailure,
} from './differential.js';
import { type GeneratedModule, Generator } from './generator.js';
import { Summary } from './summary.js';

function usage(message: string): never {
  console.error(`${message}\nusage: npm run fuzz -- [--count N] [--seed S] [--verbose] [--passive-host] [--features default|modern] [--start-functions] [--asyncify-stack single-memory|second-memory] [--bounds] [--moves] [--wasm FILE]`);
  process.exit(2);
}

function parseInteger(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) usage(`--${name} must be a non-negative integer, got ${text}`);
  return value;
}

function describeChoice(module: GeneratedModule): string {
  const c = module.choice;
  return `input ${c.inputSize} B, initial ${c.initialContent}${c.fuzzPasses ? ', fuzz-passes' : ''}${module.memoryImported ? ', memory imported' : ''}${c.referenceTypes ? ', reference types if modern' : ''}, ${module.bytes.length} B`;
}

function describeReport(report: ModuleReport): string {
  switch (report.status) {
    case 'unusable':
      return `unusable: ${report.reason}`;
    case 'refused':
      return `refused ${report.kind}`;
    case 'compared':
      return (
        `${report.callsCompared}/${report.callsPlanned} calls, ${report.interrupts} interrupts${report.backends === 'jspi' ? ', JSPI only' : ''}` +
        `${report.startFunction === null ? '' : `, start function ${report.startFunction}`}` +
        `${report.unwindBufferPages === null ? '' : `, unwind buffer ${report.unwindBufferPages} page(s)`}: ${describeVerdict(report.verdict)}`
      );
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string' },
      seed: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      'passive-host': { type: 'boolean', default: false },
      features: { type: 'string', default: 'default' },
      'start-functions': { type: 'boolean', default: false },
      'asyncify-stack': { type: 'string' },
      bounds: { type: 'boolean', default: false },
      moves: { type: 'boolean', default: false },
      wasm: { type: 'string' },
    },
    strict: true,
  });
  const count = parseInteger(values.count, 'count', 100);
  const firstSeed = parseInteger(values.seed, 'seed', Date.now() % 1_000_000_000);
  const features = values.features;
  if (features !== 'default' && features !== 'modern') usage(`--features must be default or modern, got ${features}`);
  const asyncifyStack = values['asyncify-stack'];
  if (asyncifyStack !== undefined && asyncifyStack !== 'single-memory' && asyncifyStack !== 'second-memory') {
    usage(`--asyncify-stack must be single-memory or second-memory, got ${asyncifyStack}`);
  }
  const options: CheckOptions = {
    hostActions: !values['passive-host'],
    features,
    startFunctions: values['start-functions'],
    ...(asyncifyStack === undefined ? {} : { asyncifyStack }),
    bounds: values.bounds,
    moves: values.moves,
  };
  if (values.moves && values.bounds) usage('--moves and --bounds cannot be combined yet (a snapshot or a journal does not carry fuel)');
  const verbose = values.verbose;
  const started = performance.now();
  const summary = new Summary();

  if (values.wasm !== undefined) {
    const bytes = new Uint8Array(readFileSync(values.wasm));
    const report = await checkModule(bytes, firstSeed, options);
    summary.add(report);
    console.log(`${values.wasm} with seed ${firstSeed}: ${describeReport(report)}`);
    console.log(summary.format(performance.now() - started, firstSeed));
    process.exitCode = summary.divergences.length > 0 ? 1 : 0;
    return;
  }

  console.log(
    `differential fuzzing: ${count} modules from seed ${firstSeed}, features '${features}'` +
      (asyncifyStack === undefined ? '' : `, Asyncify's stack in ${asyncifyStack === 'single-memory' ? 'the single memory' : 'a second memory'}`) +
      (values.bounds ? ', with bounds (fuel, stack limit, canonical NaNs)' : ''),
  );
  const generator = new Generator(features);
  // An interrupted run must not leave the generator's temporary folder behind.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      generator.dispose();
      process.exit(130);
    });
  }
  try {
    // A generation failure is a result (an unusable seed), not a crash of the whole run.
    const generate = (seed: number): Promise<GeneratedModule | Error> =>
      generator.generate(seed).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
    // Up to two modules are generated ahead while one is checked: generation (a child process)
    // takes longer than checking, and this keeps a second core busy.
    const pending: Promise<GeneratedModule | Error>[] = [];
    let nextToGenerate = 0;
    const refill = (): void => {
      while (nextToGenerate < count && pending.length < 2) pending.push(generate(firstSeed + nextToGenerate++));
    };
    refill();
    for (let i = 0; i < count; i++) {
      const seed = firstSeed + i;
      const waitStart = performance.now();
      const module = await pending.shift()!;
      const waited = performance.now() - waitStart;
      refill();
      if (module instanceof Error) {
        summary.add({ status: 'unusable', seed, reason: `generation failed: ${module.message.split('\n')[0]}` });
        if (verbose) console.log(`seed ${seed}: generation failed: ${module.message}`);
        continue;
      }
      const checkStart = performance.now();
      const report = await checkModule(module.bytes, seed, options);
      const checked = performance.now() - checkStart;
      let savedAs: string | null = null;
      if (report.status === 'compared' && report.verdict.type !== 'match') {
        savedAs = saveFailure(seed, module.bytes);
      }
      summary.add(report, savedAs);
      if (verbose) {
        const timing = `waited ${waited.toFixed(0)} ms for generation, checked in ${checked.toFixed(0)} ms`;
        console.log(`seed ${seed} (${describeChoice(module)}; ${timing}): ${describeReport(report)}`);
      }
      if (report.status === 'compared' && report.verdict.type === 'divergence') {
        console.log(`DIVERGENCE seed ${seed}: ${describeVerdict(report.verdict)}`);
        console.log(`  reproduce: ${reproductionCommand(seed, options)}`);
        console.log(`  saved ${savedAs} (replay it, e.g. after reducing it by hand: --wasm ${savedAs} --seed ${seed})`);
      } else if (report.status === 'compared' && report.verdict.type === 'stack-depth') {
        console.log(`stack-depth difference seed ${seed}: reproduce: ${reproductionCommand(seed, options)}`);
      } else if (!verbose && (i + 1) % 50 === 0) {
        console.log(`... ${i + 1} modules, ${summary.divergences.length} divergences`);
      }
    }
  } finally {
    generator.dispose();
  }
  console.log(summary.format(performance.now() - started, firstSeed));
  process.exitCode = summary.divergences.length > 0 ? 1 : 0;
}

await main();
