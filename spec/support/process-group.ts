/**
 * A child process started in a process group of its own, so that stopping it stops everything
 * it started too (`xvfb-run` starts `Xvfb` and the driver; the driver starts the browser and the
 * browser its helpers). The group is ended when asked, when the child is found to have failed,
 * and, should a test process exit without asking, on its way out.
 */
import { type ChildProcess, spawn } from 'node:child_process';

/** A running process group; see the module documentation. */
export interface ProcessGroup {
  /** Resolves when the group's leader has exited (with its exit code, or `null` if a signal ended it). */
  readonly exited: Promise<number | null>;
  /** Whether the leader has exited. */
  hasExited(): boolean;
  /** The last few kilobytes the child wrote to stdout and stderr, for a failure's message. */
  output(): string;
  /** Ends the whole group (SIGTERM, then SIGKILL if it lingers); never throws. */
  stop(): Promise<void>;
}

/** Groups still running, ended on the way out of the process if nobody stopped them. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}

/** Starts `command` with `args` as the leader of a new process group; never throws. */
export function spawnGroup(command: string, args: readonly string[]): ProcessGroup {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const child of running) killGroup(child, 'SIGKILL');
    });
  }
  let tail = '';
  let exitedYet = false;
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-4096);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', (e) => {
      // Could not be started at all (ENOENT, EACCES): nothing to stop.
      keep(Buffer.from(`${e.message}\n`));
      exitedYet = true;
      running.delete(child);
      resolve(null);
    });
    child.on('exit', (code) => {
      exitedYet = true;
      running.delete(child);
      // The leader is gone; whatever it started must not outlive it.
      killGroup(child, 'SIGKILL');
      resolve(code);
    });
  });
  return {
    exited,
    hasExited: () => exitedYet,
    output: () => tail,
    async stop() {
      if (exitedYet) return;
      killGroup(child, 'SIGTERM');
      // A cleanup guard, not a test budget: a group that ignores SIGTERM is killed.
      const lingering = setTimeout(() => killGroup(child, 'SIGKILL'), 5_000);
      await exited;
      clearTimeout(lingering);
    },
  };
}
