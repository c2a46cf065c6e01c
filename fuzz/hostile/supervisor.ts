/**
 * The supervisor: runs cases in a worker process and holds their deadlines.
 *
 * A hang in synchronous code (Binaryen, the engine's compiler, a guest loop) cannot be
 * interrupted from inside the process, and a crash (an engine abort, running out of memory)
 * takes the process down. So every case runs in a child process (`worker.ts`), which announces
 * each phase of a case with its time bound; the supervisor arms a timer per phase and, when it
 * fires, kills the worker, records a `timeout`, and starts a fresh worker for the next case. A
 * worker that exits in the middle of a case is a `crash`. A timeout while an export was running
 * is first triaged in plain V8 (`triage.ts`), since a guest may legitimately never end.
 *
 * The bounds are wall-clock deadlines, and these machines are shared: a case that runs several
 * times slower while other work holds the cores is not a hang. So before a timeout is called a
 * violation, the case runs once more with every bound {@link RETRY_SCALE} times longer; only a
 * case that misses those too is one (a real hang misses any bound). A case that made it the
 * second time keeps a note saying so.
 *
 * The worker is also recycled when its resident set passes a limit: Binaryen's heap only grows.
 *
 * @module
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../../spec/support/shared.js';
import type { CallPlan } from './call-plan.js';
import { type CaseMix, type HostileCase, type MixName, generateCase, MIXES } from './cases.js';
import { type CaseResult, type CreatePath, type Phase, caseFacts } from './execute.js';
import type { Violation } from './judge.js';
import type { RunCaseMessage, WorkerMessage } from './protocol.js';
import { loadRuntimes } from './runtimes.js';
import { loadSmallCorpus } from './small-corpus.js';
import { runPlain } from './triage.js';

export { REPO_ROOT };

/** The worker next to this file: `worker.ts` under tsx, `worker.js` once compiled to build/. */
const HERE = fileURLToPath(import.meta.url);
const WORKER_PATH = join(dirname(HERE), `worker${extname(HERE)}`);
/** A compiled worker runs on plain Node; a TypeScript one needs the tsx loader. */
const LOADER_ARGS = extname(HERE) === '.ts' ? ['--import', 'tsx'] : [];
const BINARYEN_ENTRY = join(REPO_ROOT, 'node_modules', 'binaryen', 'index.js');

/** How much longer every bound is when a case that timed out runs again (see the module doc). */
const RETRY_SCALE = 10;

/** How long a worker may take to start (load tsx, Binaryen, wabt, the runtimes). */
const STARTUP_BOUND_MS = 120_000;

/** Options of {@link Supervisor}. */
export interface SupervisorOptions {
  readonly mix: MixName;
  readonly seed: number;
  /** Restart the worker after a case that leaves it above this resident set size. */
  readonly memoryLimitMb?: number;
  /** Receives every line the worker prints (the library must print nothing). */
  readonly onOutput?: (line: string) => void;
}

/** Counters about the workers, for the summary. */
export interface WorkerStats {
  starts: number;
  maxRssMb: number;
  /** Lines the worker printed to stdout or stderr. */
  outputLines: number;
  canaries: number;
  /** Runtimes the workers actually had. */
  runtimes: readonly string[];
}

interface Pending {
  readonly index: number;
  readonly forceFull: boolean;
  /** Every bound of the case is multiplied by this (1, or RETRY_SCALE for a second run). */
  readonly boundScale: number;
  resolve(result: CaseResult): void;
  phase: Phase | 'queued';
  path: CreatePath;
  boundMs: number;
  phaseStarted: number;
  plan?: CallPlan;
  callIndex: number;
  timer?: NodeJS.Timeout;
  readonly started: number;
}

/** See the module documentation. One case at a time. */
export class Supervisor {
  readonly stats: WorkerStats = { starts: 0, maxRssMb: 0, outputLines: 0, canaries: 0, runtimes: [] };
  #child: ChildProcess | null = null;
  #ready: Promise<void> | null = null;
  #pending: Pending | null = null;
  #inputs: Promise<{ mix: CaseMix; generate: (index: number) => HostileCase }> | null = null;

  constructor(private readonly options: SupervisorOptions) {}

  /** Runs case `index`; never rejects for anything the case does. */
  async runCase(index: number, forceFull = false, boundScale = 1): Promise<CaseResult> {
    await this.#ensureWorker();
    return new Promise<CaseResult>((resolve) => {
      const pending: Pending = {
        index,
        forceFull,
        boundScale,
        resolve,
        phase: 'queued',
        path: 'refusal',
        boundMs: 0,
        phaseStarted: performance.now(),
        callIndex: -1,
        started: performance.now(),
      };
      this.#pending = pending;
      this.#arm(pending, 'check', 10_000);
      const message: RunCaseMessage = { type: 'case', seed: this.options.seed, index, forceFull };
      this.#child!.send(message);
    });
  }

  /** Stops the worker. */
  async close(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    this.#ready = null;
    if (child !== null && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
  }

  /** The case itself, regenerated in this process (for saving a failure or for triage). */
  async regenerate(index: number): Promise<HostileCase> {
    this.#inputs ??= (async () => {
      const mix = MIXES[this.options.mix];
      const inputs = { small: await loadSmallCorpus(), runtimes: await loadRuntimes(mix.runtimes) };
      return { mix, generate: (i: number) => generateCase(this.options.seed, i, mix, inputs) };
    })();
    return (await this.#inputs).generate(index);
  }

  #ensureWorker(): Promise<void> {
    if (this.#child !== null && this.#ready !== null) return this.#ready;
    const execArgv = existsSync(BINARYEN_ENTRY) ? ['--import', pathToFileURL(BINARYEN_ENTRY).href] : [];
    const child = spawn(process.execPath, [...execArgv, ...LOADER_ARGS, WORKER_PATH, this.options.mix], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    this.#child = child;
    this.stats.starts++;
    for (const stream of [child.stdout!, child.stderr!]) {
      let buffered = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) {
          this.stats.outputLines++;
          this.options.onOutput?.(line);
        }
      });
    }
    this.#ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the worker did not start within ${STARTUP_BOUND_MS} ms`)), STARTUP_BOUND_MS);
      child.on('message', (message: WorkerMessage) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          this.stats.runtimes = message.runtimes;
          resolve();
        } else {
          this.#onMessage(message);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the worker exited during startup (code ${code}, signal ${signal})`));
        this.#onExit(child, code, signal);
      });
    });
    // A worker that dies later is reported through the pending case, not through this promise.
    this.#ready.catch(() => undefined);
    return this.#ready;
  }

  #arm(pending: Pending, phase: Phase, boundMs: number): void {
    clearTimeout(pending.timer);
    pending.phase = phase;
    pending.boundMs = boundMs * pending.boundScale;
    pending.phaseStarted = performance.now();
    pending.timer = setTimeout(() => void this.#onTimeout(pending), pending.boundMs);
  }

  #onMessage(message: WorkerMessage): void {
    const pending = this.#pending;
    switch (message.type) {
      case 'phase':
        if (pending === null || pending.index !== message.index) return;
        if (message.plan !== undefined) pending.plan = message.plan;
        if (message.path !== undefined) pending.path = message.path;
        pending.callIndex = message.callIndex ?? -1;
        this.#arm(pending, message.phase, message.boundMs);
        return;
      case 'result':
        this.stats.maxRssMb = Math.max(this.stats.maxRssMb, message.rssMb);
        if (message.canary) this.stats.canaries++;
        if (pending === null || pending.index !== message.result.index) return;
        this.#settle(pending, message.result);
        if (message.rssMb > (this.options.memoryLimitMb ?? 3_000)) void this.close();
        return;
      case 'fatal':
        if (pending !== null) {
          this.#settle(pending, this.#synthesised(pending, 'crash', `uncaught in the worker: ${message.message}`));
        }
        return;
      case 'ready':
        return;
    }
  }

  #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    // A worker stopped by close() (after a timeout, or to recycle it) is no longer current.
    if (this.#child !== child) return;
    this.#child = null;
    this.#ready = null;
    const pending = this.#pending;
    if (pending !== null) {
      this.#settle(pending, this.#synthesised(pending, 'crash', `the worker exited during the ${pending.phase} phase (code ${code}, signal ${signal})`));
    }
  }

  async #onTimeout(pending: Pending): Promise<void> {
    if (this.#pending !== pending) return;
    // Detach first, so the kill below is not reported as a crash.
    this.#pending = null;
    await this.close();
    const message = `no answer within the ${pending.boundMs} ms bound of the ${pending.phase} phase`;
    if (pending.phase === 'run' && pending.plan !== undefined) {
      const c = await this.regenerate(pending.index);
      const plain = await runPlain(c.bytes, pending.plan, Math.max(pending.callIndex, 0), pending.boundMs);
      if (plain.status === 'timeout') {
        const note = `plain V8 does not finish the same calls within ${pending.boundMs} ms either`;
        pending.resolve(this.#synthesisedFrom(c, pending, 'guest-nonterminating', { type: 'timeout', where: '', message: note }, false));
        return;
      }
      if (plain.status === 'completed' && plain.ms > pending.boundMs / 10) {
        const note = `plain V8 took ${plain.ms.toFixed(0)} ms for the same calls`;
        pending.resolve(this.#synthesisedFrom(c, pending, 'guest-slow', { type: 'timeout', where: '', message: note }, false));
        return;
      }
      if (await this.#retried(pending, message)) return;
      const detail = plain.status === 'completed' ? `plain V8 finished the same calls in ${plain.ms.toFixed(0)} ms` : `plain V8: ${plain.message}`;
      pending.resolve(this.#synthesisedFrom(c, pending, 'violation:timeout', { type: 'timeout', where: '', message: `${message}; ${detail}` }));
      return;
    }
    if (await this.#retried(pending, message)) return;
    pending.resolve(this.#synthesisedFrom(await this.regenerate(pending.index), pending, 'violation:timeout', { type: 'timeout', where: '', message }));
  }

  /**
   * Runs a case that timed out once more with every bound {@link RETRY_SCALE} times longer (see
   * the module documentation) and resolves it with that run's result; `false` if it already was
   * that second run.
   */
  async #retried(pending: Pending, message: string): Promise<boolean> {
    if (pending.boundScale !== 1) return false;
    const result = await this.runCase(pending.index, pending.forceFull, RETRY_SCALE);
    const slow = `slow: ${message} the first time, done within ${RETRY_SCALE}x the bounds the second`;
    pending.resolve(result.violation === undefined ? { ...result, note: result.note === undefined ? slow : `${result.note}; ${slow}` } : result);
    return true;
  }

  #settle(pending: Pending, result: CaseResult | Promise<CaseResult>): void {
    if (this.#pending !== pending) return;
    this.#pending = null;
    clearTimeout(pending.timer);
    void Promise.resolve(result).then(pending.resolve);
  }

  async #synthesised(pending: Pending, type: Violation['type'], message: string): Promise<CaseResult> {
    return this.#synthesisedFrom(await this.regenerate(pending.index), pending, `violation:${type}`, { type, where: '', message });
  }

  /**
   * A result for a case the worker could not report on. `problem.where` is filled in from the
   * phase; `isViolation: false` keeps the problem as a note (a triaged guest, not a VM fault).
   */
  #synthesisedFrom(c: HostileCase, pending: Pending, label: string, problem: Violation, isViolation = true): CaseResult {
    const call = pending.plan?.calls[pending.callIndex];
    const where = pending.phase === 'run' && call !== undefined ? `run ${JSON.stringify(call.name)}` : pending.phase;
    const violation = { ...problem, where };
    return {
      ...caseFacts(c),
      path: pending.path,
      label,
      createMs: pending.phase === 'create' ? performance.now() - pending.phaseStarted : 0,
      totalMs: performance.now() - pending.started,
      ...(isViolation ? { violation } : { note: violation.message }),
    };
  }
}
