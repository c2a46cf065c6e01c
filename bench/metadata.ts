/**
 * Per-call cost of `Metadata_metadata` of a real runtime, side by side in one process:
 * plain WebAssembly with synchronous imports (the limit), this VM on each backend with every
 * import an interrupt and with the host answered inline, and chopsticks-executor's `run_task`
 * (smoldot's executor with the wasmi interpreter, compiled to wasm: what light clients in
 * JavaScript run today). Every side runs on a fresh instance per call (the VM through
 * `intoPrototype()`), and every side's output is checked against the plain one.
 */
import { run_task } from '@acala-network/chopsticks-executor';
import { createRuntimePrototype, plainRunner, runVm, runVmAsync, type RuntimePrototype } from '../spec/support/substrate-harness.js';
import { type Row, timeMedian } from './support/stats.js';

/** One measurement: milliseconds per call. */
export interface MetadataResult {
  readonly runtime: string;
  readonly how: string;
  readonly msPerCall: number;
  readonly hostCalls: number;
}

const NO_STORAGE = {
  getStorage: async () => undefined,
  getNextKey: async () => undefined,
  offchainGetStorage: async () => undefined,
  offchainTimestamp: async () => 0,
  offchainRandomSeed: async () => `0x${'00'.repeat(32)}`,
  offchainSubmitTransaction: async () => false,
};

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

/**
 * Runs the benchmark for one runtime. `code` is what chopsticks is given (the on-chain code,
 * possibly compressed); `wasm` is the raw module.
 */
export async function benchMetadata(
  runtimeName: string,
  code: Uint8Array,
  wasm: Uint8Array,
  options: { runs: number; warmup: number; postPasses?: readonly string[] },
): Promise<{ results: MetadataResult[]; rows: Row[]; createMs: number }> {
  const input = new Uint8Array();
  const plain = await plainRunner(wasm);
  const reference = plain('Metadata_metadata', input);
  const results: MetadataResult[] = [];
  const add = (how: string, msPerCall: number, hostCalls: number): void => {
    results.push({ runtime: runtimeName, how, msPerCall, hostCalls });
  };

  add('plain V8, synchronous imports', await timeMedian(() => plain('Metadata_metadata', input), options.runs, options.warmup), reference.totalCalls);

  const createStarted = performance.now();
  let interrupting: RuntimePrototype = await createRuntimePrototype(wasm);
  const createMs = performance.now() - createStarted;
  const check = (runtime: RuntimePrototype): RuntimePrototype => {
    const { run, runtime: next } = runVm(runtime, 'Metadata_metadata', input);
    if (!sameBytes(run.output, reference.output) || run.totalCalls !== reference.totalCalls) {
      throw new Error(`${runtimeName}: the VM's output differs from plain V8's`);
    }
    return next;
  };
  interrupting = check(interrupting);
  add(
    'this VM, every import an interrupt',
    await timeMedian(() => (interrupting = runVm(interrupting, 'Metadata_metadata', input).runtime), options.runs, options.warmup),
    reference.totalCalls,
  );

  let inline: RuntimePrototype = await createRuntimePrototype(wasm, { inline: true });
  inline = check(inline);
  add(
    'this VM, allocator and logging inline',
    await timeMedian(() => (inline = runVm(inline, 'Metadata_metadata', input).runtime), options.runs, options.warmup),
    0,
  );

  // The same two on JSPI: no transform; each pause suspends the engine's stack.
  const checkAsync = async (runtime: RuntimePrototype): Promise<RuntimePrototype> => {
    const { run, runtime: next } = await runVmAsync(runtime, 'Metadata_metadata', input);
    if (!sameBytes(run.output, reference.output) || run.totalCalls !== reference.totalCalls) {
      throw new Error(`${runtimeName}: the VM's output on JSPI differs from plain V8's`);
    }
    return next;
  };
  let jspi = await checkAsync(await createRuntimePrototype(wasm, { backend: 'jspi' }));
  add(
    'this VM on JSPI, every import an interrupt',
    await timeMedian(async () => (jspi = (await runVmAsync(jspi, 'Metadata_metadata', input)).runtime), options.runs, options.warmup),
    reference.totalCalls,
  );
  let jspiInline = await checkAsync(await createRuntimePrototype(wasm, { backend: 'jspi', inline: true }));
  add(
    'this VM on JSPI, allocator and logging inline',
    await timeMedian(async () => (jspiInline = (await runVmAsync(jspiInline, 'Metadata_metadata', input)).runtime), options.runs, options.warmup),
    0,
  );

  const wasmHex = `0x${Buffer.from(code).toString('hex')}`;
  let taskId = 0;
  const chopsticks = async (): Promise<Uint8Array> => {
    const response = (await run_task(
      {
        id: taskId++,
        wasm: wasmHex,
        calls: [['Metadata_metadata', ['0x']]],
        mockSignatureHost: false,
        allowUnresolvedImports: false,
        runtimeLogLevel: 0,
        storageProofSize: 0,
      },
      NO_STORAGE as never,
    )) as { Call?: { result: string }; Error?: string };
    if (response.Call === undefined) throw new Error(`chopsticks-executor: ${response.Error}`);
    return Uint8Array.from(Buffer.from(response.Call.result.slice(2), 'hex'));
  };
  if (!sameBytes(await chopsticks(), reference.output)) throw new Error(`${runtimeName}: chopsticks' output differs`);
  add("chopsticks-executor run_task (smoldot + wasmi)", await timeMedian(chopsticks, Math.max(3, options.runs >> 2), 1), reference.totalCalls);

  const floor = results[0]!.msPerCall;
  const chopsticksMs = results.find((r) => r.how.startsWith('chopsticks'))!.msPerCall;
  const rows: Row[] = results.map((r) => [`${runtimeName}: ${r.how}`, r.msPerCall, r.msPerCall / floor, chopsticksMs / r.msPerCall]);
  return { results, rows, createMs };
}
