/** The source of `lib/backends/pause-probe-modules.ts` (see `make-pause-probe.mjs`). */
export function pauseProbeSource(): Promise<string>;
/** The probe's bytes: as written, and instrumented by Asyncify. */
export function makePauseProbe(): Promise<{ plain: Uint8Array; asyncify: Uint8Array }>;
/** The probe's text. */
export const PROBE_WAT: string;
