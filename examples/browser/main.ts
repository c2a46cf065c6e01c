/**
 * The browser example's page: runs the job (`demo-job.ts`) in a Worker (the default) or on the
 * page's main thread, and draws its events: a progress bar, the runtime's version, each call's
 * host calls, pauses and time, and where the time went.
 *
 * Choices are in the URL: `?backend=auto|jspi|asyncify` (auto: JSPI where the browser has it),
 * `?thread=worker|main`, `?cache=off` (Asyncify only: no IndexedDB artifact cache).
 */
import { IndexedDbArtifactCache } from 'resumable-wasm/browser';
import { type DemoEvent, type DemoOptions, STEPS, type Step, runDemo } from './demo-job.js';

const params = new URLSearchParams(location.search);
const backend = (['auto', 'jspi', 'asyncify'] as const).find((b) => b === params.get('backend')) ?? 'auto';
const thread = params.get('thread') === 'main' ? 'main' : 'worker';
const cache = params.get('cache') !== 'off';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const bar = $<HTMLProgressElement>('bar');
const status = $('status');
const count = (n: number) => n.toLocaleString('en-US');
const ms = (n: number) => (n < 1000 ? `${n.toFixed(0)} ms` : `${(n / 1000).toFixed(2)} s`);

/** How far into the creation each phase (or transform step) is, for the progress bar. */
const CREATE_PROGRESS: Record<string, number> = {
  'decode-code': 0.05,
  'cache-lookup': 0.08,
  validate: 0.1,
  inspect: 0.15,
  transform: 0.2,
  'load-binaryen': 0.22,
  read: 0.3,
  asyncify: 0.4,
  'post-passes': 0.75,
  emit: 0.85,
  'load-artifact': 0.5,
  compile: 0.9,
  instantiate: 0.95,
  'cache-store': 0.97,
  'runtime-version': 0.98,
};

/** Host calls of each call in the previous run, so the bar can show how far a call is. */
const expectedCalls = (step: Step): number | null => Number(localStorage.getItem(`resumable-wasm-example:${step}`)) || null;

function choices(): void {
  const link = (label: string, change: Record<string, string>, current: boolean) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(change)) next.set(k, v);
    return `<a href="?${next}" class="${current ? 'current' : ''}">${label}</a>`;
  };
  $('choices').innerHTML =
    'backend: ' +
    (['auto', 'jspi', 'asyncify'] as const).map((b) => link(b, { backend: b }, b === backend)).join('') +
    ' · runs in: ' +
    link('a Worker', { thread: 'worker' }, thread === 'worker') +
    link('the main thread', { thread: 'main' }, thread === 'main');
}

function row(table: string, cells: (string | number)[], header = true): void {
  const tr = document.createElement('tr');
  tr.innerHTML = cells
    .map((c, i) => (i === 0 && header ? `<th>${c}</th>` : `<td class="${typeof c === 'number' ? 'number' : ''}">${typeof c === 'number' ? count(c) : c}</td>`))
    .join('');
  $(table).append(tr);
}

let stepIndex = 0;
let started = 0;

function handle(event: DemoEvent): void {
  switch (event.type) {
    case 'step':
      stepIndex = STEPS.indexOf(event.step);
      if (event.status === 'start') {
        status.textContent = (event.step === 'chain-spec' ? 'loading the chain spec' : event.step === 'create' ? 'creating the runtime' : `running ${event.step}`) + '…';
        bar.value = stepIndex;
        if (event.step !== 'create' && event.step !== 'chain-spec' && expectedCalls(event.step) === null) bar.removeAttribute('value');
      } else {
        bar.value = stepIndex + 1;
        row('timings', [event.step, ms(event.ms ?? 0)]);
      }
      break;
    case 'phase': {
      const at = CREATE_PROGRESS[event.status === 'progress' ? (event.detail ?? '') : event.phase];
      if (at !== undefined && event.status !== 'end') bar.value = stepIndex + at;
      if (event.status === 'progress') status.textContent = `creating the runtime: transform, ${event.detail}…`;
      else if (event.status === 'start') status.textContent = `creating the runtime: ${event.phase}…`;
      else row('timings', [`<span class="sub">${event.phase}${event.detail === undefined ? '' : ` (${event.detail})`}</span>`, ms(event.ms ?? 0)]);
      break;
    }
    case 'runtime': {
      const v = event.version;
      $('runtime').innerHTML = '';
      row('runtime', ['chain', event.name]);
      row('runtime', ['version', `${v.specName} ${v.specVersion} (${v.implName} ${v.implVersion}), transaction version ${v.transactionVersion ?? 'n/a'}, ${v.apis} runtime APIs`]);
      row('runtime', ['code', `${count(event.codeBytes)} bytes of zstd-compressed code, ${count(event.wasmBytes)} bytes of WebAssembly`]);
      row('runtime', ['backend', event.backend === 'jspi' ? 'JSPI: the engine suspends the guest at each pause, no transform' : 'Asyncify: the module was transformed to unwind and rewind its own stack']);
      row('runtime', ['runs in', event.where]);
      break;
    }
    case 'calls': {
      const expected = expectedCalls(event.step);
      if (expected !== null) bar.value = stepIndex + Math.min(event.hostCalls / expected, 0.99);
      status.textContent = `running ${event.step}: ${count(event.hostCalls)} host calls, ${count(event.pauses)} pauses so far…`;
      break;
    }
    case 'result':
      localStorage.setItem(`resumable-wasm-example:${event.step}`, String(event.hostCalls));
      row('calls', [
        event.step,
        `${event.summary}<br><small>busiest: ${event.busiest.map(([n, c]) => `${n} ×${count(c)}`).join(', ')}</small>`,
        event.hostCalls,
        event.pauses,
        `${ms(event.ms)}${event.waitingMs > 0 ? ` (${ms(event.waitingMs)} waiting for storage)` : ''}`,
      ], false);
      break;
    case 'done':
      bar.value = STEPS.length;
      status.textContent = `done in ${ms(performance.now() - started)}`;
      document.body.dataset['state'] = 'done';
      break;
    case 'error':
      status.innerHTML = `<span class="error">${event.message.replace(/</g, '&lt;')}</span>`;
      document.body.dataset['state'] = 'error';
      break;
  }
}

function run(): void {
  for (const table of ['calls', 'timings']) for (const tr of Array.from($(table).querySelectorAll('tr')).slice(table === 'calls' ? 1 : 0)) tr.remove();
  document.body.dataset['state'] = 'running';
  bar.max = STEPS.length;
  bar.value = 0;
  started = performance.now();
  const options: DemoOptions = { backend, cache };
  if (thread === 'main') {
    void runDemo(options, handle);
    return;
  }
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  worker.onmessage = (event: MessageEvent<DemoEvent>) => {
    handle(event.data);
    if (event.data.type === 'done' || event.data.type === 'error') worker.terminate();
  };
  worker.onerror = (event) => handle({ type: 'error', message: `the Worker failed: ${event.message}` });
  worker.postMessage(options);
}

$('again').onclick = run;
$('clear').onclick = async () => {
  await new IndexedDbArtifactCache().clear();
  status.textContent = 'the artifact cache is empty: the next Asyncify run transforms again';
};
choices();
run();
