/**
 * One prototype creation in a fresh process, so that its time and its peak memory are its own.
 * Usage: node build/bench/create-child.js <westend|asset-hub> <cold|artifact|cache> <path>
 *   cold:     create() from scratch, then write the artifact to <path>
 *   artifact: fromArtifact(<path>)
 *   cache:    create({ cache: new FileArtifactCache(<path>) })
 * Prints one JSON line: { ms, maxRssMb, phases }.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { type ProgressEvent, VirtualMachinePrototype, type VmConfig } from '../lib/index.js';
import { FileArtifactCache } from '../lib/node/index.js';
import { sharedPath } from '../spec/support/shared.js';
import { assetHubRuntime, runtimeWasm } from '../spec/support/substrate-harness.js';

const [runtime, mode, path] = process.argv.slice(2);
const wasm =
  runtime === 'westend' ? runtimeWasm(readFileSync(sharedPath('runtimes/westend-runtime-v9300.wasm')!)) : await assetHubRuntime();
const phases: Record<string, number> = {};
const config: VmConfig = {
  moduleBytes: wasm,
  symbols: () => 0,
  onProgress: (e: ProgressEvent) => {
    if (e.status === 'end') phases[e.phase] = Math.round(e.durationMs!);
  },
};
const started = performance.now();
let proto: VirtualMachinePrototype;
if (mode === 'cold') {
  proto = await VirtualMachinePrototype.create(config);
} else if (mode === 'artifact') {
  proto = await VirtualMachinePrototype.fromArtifact(readFileSync(path!), config);
} else {
  proto = await VirtualMachinePrototype.create({ ...config, cache: new FileArtifactCache(path!) });
}
const ms = performance.now() - started;
if (mode === 'cold') writeFileSync(path!, proto.toArtifact());
// Show the prototype works.
proto.globalValue('__heap_base');
console.log(JSON.stringify({ ms, maxRssMb: process.resourceUsage().maxRSS / 1024, phases }));
