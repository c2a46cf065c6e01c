/**
 * One prototype creation in a fresh process, so that its time and its peak memory are its own.
 * Usage: node build/bench/create-child.js <westend|asset-hub|...> <mode> <path>
 *   cold:     create() from scratch on Asyncify, then write the artifact to <path>
 *   artifact: fromArtifact(<path>)
 *   cache:    create({ cache: new FileArtifactCache(<path>) }) on Asyncify
 *   jspi:     create({ backend: 'jspi' })
 *   jspi-fuel, jspi-stack, jspi-nans, jspi-all: the same with fuel, the default maxStackHeight,
 *             canonicalizeNaNs, or all three (the code rewrite in the JSPI pipeline)
 *   bare:     WebAssembly.validate + compile + instantiate of the same bytes, with stub imports:
 *             the engine's own work, which the JSPI backend adds its checks to
 * Prints one JSON line: { ms, cpuMs, maxRssMb, phases } (`cpuMs`: the process's CPU time over the
 * creation, every thread's: the engine compiles on background threads).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { DEFAULT_MAX_STACK_HEIGHT, type ProgressEvent, VirtualMachinePrototype, type VmConfig } from '../lib/index.js';
import { FileArtifactCache } from '../lib/node/index.js';
import { readModuleFacts } from '../lib/load/module-facts.js';
import { sharedPath } from '../spec/support/shared.js';
import { assetHubRuntime, runtimeWasm } from '../spec/support/substrate-harness.js';

const [runtime, mode, path] = process.argv.slice(2);
const wasm = (
  runtime === 'westend' ? runtimeWasm(readFileSync(sharedPath('runtimes/westend-runtime-v9300.wasm')!)) : await assetHubRuntime()
) as Uint8Array<ArrayBuffer>;
const phases: Record<string, number> = {};
/** The process's CPU time since `since`, in milliseconds. */
function cpuMs(since: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1000;
}
const config: VmConfig = {
  moduleBytes: wasm,
  symbols: () => 0,
  onProgress: (e: ProgressEvent) => {
    if (e.status === 'end') phases[e.phase] = Math.round(e.durationMs!);
  },
};
if (mode === 'bare') {
  // The memory the module imports must be at least as large as it declares: read outside the
  // measured time.
  const initialPages = readModuleFacts(wasm).memories[0]?.limits.initial ?? 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  if (!WebAssembly.validate(wasm)) throw new Error('invalid module');
  const module = await WebAssembly.compile(wasm);
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  for (const i of WebAssembly.Module.imports(module)) {
    (imports[i.module] ??= {})[i.name] = i.kind === 'memory' ? new WebAssembly.Memory({ initial: initialPages }) : () => 0;
  }
  await WebAssembly.instantiate(module, imports);
  const ms = performance.now() - started;
  console.log(JSON.stringify({ ms, cpuMs: cpuMs(cpu), maxRssMb: process.resourceUsage().maxRSS / 1024, phases: {} }));
  process.exit(0);
}

const cpu = process.cpuUsage();
const started = performance.now();
let proto: VirtualMachinePrototype;
/** The bounds options of each `jspi-*` mode. */
const BOUNDS: Readonly<Record<string, Partial<VmConfig>>> = {
  'jspi-fuel': { fuel: true },
  'jspi-stack': { maxStackHeight: DEFAULT_MAX_STACK_HEIGHT },
  'jspi-nans': { canonicalizeNaNs: true },
  'jspi-all': { fuel: true, maxStackHeight: DEFAULT_MAX_STACK_HEIGHT, canonicalizeNaNs: true },
};
if (mode === 'jspi') {
  proto = await VirtualMachinePrototype.create({ ...config, backend: 'jspi' });
} else if (BOUNDS[mode!] !== undefined) {
  proto = await VirtualMachinePrototype.create({ ...config, ...BOUNDS[mode!], backend: 'jspi' });
} else if (mode === 'cold') {
  proto = await VirtualMachinePrototype.create(config);
} else if (mode === 'artifact') {
  proto = await VirtualMachinePrototype.fromArtifact(readFileSync(path!), config);
} else {
  proto = await VirtualMachinePrototype.create({ ...config, cache: new FileArtifactCache(path!) });
}
const ms = performance.now() - started;
const cpuSpent = cpuMs(cpu);
if (mode === 'cold') writeFileSync(path!, proto.toArtifact());
// Show the prototype works.
proto.globalValue('__heap_base');
console.log(JSON.stringify({ ms, cpuMs: cpuSpent, maxRssMb: process.resourceUsage().maxRSS / 1024, phases }));
