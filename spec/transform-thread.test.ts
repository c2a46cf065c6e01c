/**
 * The Asyncify transform runs on a thread of its own (`lib/transform/transform-thread.ts`), so
 * the caller's event loop keeps running during `create()`: a server, the CLI or a page stay
 * responsive. Before, a 10 ms timer ticked 6 times during a 1.36 s `create()` instead of ~136.
 *
 * The proof is by work, not by time: a synchronous Binaryen pass on the calling thread would
 * let *no* event-loop turn happen while it runs, whatever its length; here the calling thread
 * makes message round trips all through the Asyncify pass, which runs on the other thread.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type ProgressEvent, VirtualMachinePrototype, WasmValue } from '../lib/index.js';
import { busyGuest } from './support/busy-guest.js';
import { featureSet } from '../lib/base/feature-set.js';
import { IDLE_MS, TransformRefused, transformOnThread, workerExecArgv } from '../lib/transform/transform-thread.js';
import { roundTrips } from './support/round-trips.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

test('the calling thread keeps making message round trips while Binaryen runs its Asyncify pass', async () => {
  const moduleBytes = await busyGuest(800);
  const trips = roundTrips();
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  const seen: { event: ProgressEvent; trips: number }[] = [];
  const started = performance.now();
  let proto: VirtualMachinePrototype;
  try {
    proto = await VirtualMachinePrototype.create({
      moduleBytes,
      symbols: () => 0,
      onProgress: (event) => seen.push({ event, trips: trips.count() }),
    });
  } finally {
    trips.stop();
    clearInterval(timer);
  }
  const elapsed = performance.now() - started;

  const transform = seen.filter(({ event }) => event.phase === 'transform');
  const steps = transform.filter(({ event }) => event.status === 'progress').map(({ event }) => event.step);
  // Loading Binaryen is reported only by the transform that starts a thread.
  expect(steps.filter((s) => s !== 'load-binaryen')).toEqual(['read', 'asyncify', 'post-passes', 'emit']);
  const asyncify = transform.find(({ event }) => event.step === 'asyncify')!;
  const after = transform.find(({ event }) => event.step === 'post-passes')!;
  // A pass on this thread would allow no round trip between its start and its end.
  const duringPass = after.trips - asyncify.trips;
  const passMs = after.event.elapsedMs - asyncify.event.elapsedMs;
  console.log(
    `create ${elapsed.toFixed(0)} ms (asyncify pass ${passMs.toFixed(0)} ms): ${duringPass} round trips during the pass, ` +
      `${ticks} ticks of a 10 ms timer (${Math.floor(elapsed / 10)} at most)`,
  );
  expect(duringPass).toBeGreaterThanOrEqual(20);

  // And the module works.
  const vm = proto.prepare().start('main', [WasmValue.i32(1)]);
  let outcome = await vm.runAsync(null);
  while (outcome.type === 'interrupted') outcome = await vm.runAsync(WasmValue.i32(1));
  expect(outcome.type).toBe('finished');
});

test("Binaryen's refusal comes back from the thread as an error, and the thread serves the next transform", async () => {
  const options = { features: featureSet('default'), unwindBufferPages: 1, asyncifyStack: 'second-memory', guestRewrite: null, pausingImports: null, postPasses: [], guestOffsetDelta: null } as const;
  await expect(transformOnThread(Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0, 1, 99), options, () => {})).rejects.toBeInstanceOf(
    TransformRefused,
  );
  const steps: string[] = [];
  const empty = Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0);
  const instrumented = await transformOnThread(empty, options, (step) => steps.push(step));
  expect(WebAssembly.validate(instrumented.binary as Uint8Array<ArrayBuffer>)).toBe(true);
  expect(steps.filter((s) => s !== 'load-binaryen')).toEqual(['read', 'asyncify', 'emit']);
});

test('the transform thread does not keep a Node.js process alive', () => {
  // Built code (npm test builds dist/ first): a process that made a prototype exits at once,
  // not after the thread's idle time.
  const script = `
    import { VirtualMachinePrototype } from './dist/index.js';
    const moduleBytes = new Uint8Array(${JSON.stringify([
      0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 2, 9, 1, 3, 101, 110, 118, 1, 102, 0, 0, 3, 2, 1, 0, 5, 3, 1, 0, 1, 7, 17, 2, 6, 109,
      101, 109, 111, 114, 121, 2, 0, 4, 109, 97, 105, 110, 0, 1, 10, 6, 1, 4, 0, 16, 0, 11,
    ])});
    const started = performance.now();
    await VirtualMachinePrototype.create({ moduleBytes, symbols: () => 0 });
    console.log('created', Math.round(performance.now() - started));
  `;
  const before = performance.now();
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  const total = performance.now() - before;
  expect(run.stderr).toBe('');
  expect(run.stdout).toMatch(/^created \d+/);
  const created = Number(/created (\d+)/.exec(run.stdout)![1]);
  // What is left after create() is the process's start-up and exit; a thread holding the
  // process would add its whole idle time.
  expect(total - created).toBeLessThan(IDLE_MS);
});

test("the worker is given only the process's options it needs: none of a test runner's per-process options", () => {
  // What Node.js's test runner starts each test file with (ERR_WORKER_INVALID_EXEC_ARGV when
  // given to a Worker), what `node --input-type=module -e` adds, and what is kept.
  expect(
    workerExecArgv([
      '--stack-trace-limit=10',
      '--v8-pool-size=4',
      '--test-isolation=process',
      '--input-type=module',
      '--experimental-vm-modules',
      '--no-warnings',
      '--disable-warning=ExperimentalWarning',
      '--experimental-strip-types',
    ]),
  ).toEqual(['--no-warnings', '--disable-warning=ExperimentalWarning', '--experimental-strip-types']);
});

test('a process started with per-process options (as by a test runner) runs the Asyncify transform', () => {
  const script = `
    import { VirtualMachinePrototype } from './dist/index.js';
    const moduleBytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 5, 3, 1, 0, 1, 7, 10, 1, 6, 109, 101, 109, 111, 114, 121, 2, 0]);
    const proto = await VirtualMachinePrototype.create({ moduleBytes, symbols: () => 0, backend: 'asyncify' });
    console.log(proto.backend);
  `;
  const options = ['--stack-trace-limit=10', '--v8-pool-size=4', '--secure-heap=0', '--use-largepages=off'];
  const run = spawnSync(process.execPath, [...options, '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  expect({ stdout: run.stdout, stderr: run.stderr, status: run.status }).toEqual({ stdout: 'asyncify\n', stderr: '', status: 0 });
});
