/**
 * Experiment: which Binaryen passes after Asyncify buy back run speed, and what they cost.
 * Usage: node build/bench/passes-experiment.js <westend|asset-hub> "<pass,pass>" ...   ("" = none)
 * For each pass list: transform time, then Metadata_metadata per call with every import an
 * interrupt and with the host inline (medians), and the instrumented module's size.
 */
import { readFileSync } from 'node:fs';
import { sharedPath } from '../spec/support/shared.js';
import { type RuntimePrototype, assetHubRuntime, createRuntimePrototype, runtimeWasm, runVm } from '../spec/support/substrate-harness.js';
import { timeMedian } from './support/stats.js';

const inlineOnly = process.argv.includes('--inline-only');
const [runtimeName, ...passLists] = process.argv.slice(2).filter((a) => a !== '--inline-only');
const wasm =
  runtimeName === 'westend' ? runtimeWasm(readFileSync(sharedPath('runtimes/westend-runtime-v9300.wasm')!)) : await assetHubRuntime();

for (const list of passLists) {
  const postPasses = list.split(',').filter(Boolean);
  const row: Record<string, unknown> = { postPasses: list || '(none)' };
  for (const inline of inlineOnly ? [true] : [false, true]) {
    const started = performance.now();
    let runtime: RuntimePrototype = await createRuntimePrototype(wasm, { inline, postPasses });
    if (!inline || inlineOnly) {
      row['createMs'] = Math.round(performance.now() - started);
      row['instrumentedMB'] = +(runtime.proto.toArtifact().length / 1e6).toFixed(1);
    }
    const firstStarted = performance.now();
    runtime = runVm(runtime, 'Metadata_metadata', new Uint8Array()).runtime;
    row[inline ? 'inlineFirstMs' : 'interruptFirstMs'] = Math.round(performance.now() - firstStarted);
    const ms = await timeMedian(() => (runtime = runVm(runtime, 'Metadata_metadata', new Uint8Array()).runtime), 15, 15);
    row[inline ? 'inlineMs' : 'interruptMs'] = +ms.toFixed(1);
  }
  console.log(JSON.stringify(row));
}
