// Running code under a chosen depth of JavaScript frames, for the sweeps of the host's stack
// near its limit (spec/guest-faults.test.ts in Jest, spec/support/stack-sweep.mjs in a process
// of its own). Plain JavaScript, so that the child process runs it without a loader.

/** Runs `action` with about `frames` JavaScript frames below it. */
export function withJsStack(frames, action) {
  return frames === 0 ? action() : withJsStack(frames - 1, action);
}

/** The deepest padding of {@link withJsStack} under which a trivial action still runs. */
export function jsStackLimit() {
  let lo = 0;
  let hi = 1 << 20;
  while (lo < hi) {
    const mid = Math.floor((lo + hi + 1) / 2);
    let ok = true;
    try {
      withJsStack(mid, () => 0);
    } catch {
      ok = false;
    }
    if (ok) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
