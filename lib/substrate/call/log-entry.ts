/**
 * Logging from the runtime.
 *
 * A runtime logs through two host functions: `ext_logging_max_level_version_1` asks the host
 * for the most verbose level it wants (so that the runtime does not even format messages
 * nobody reads), and `ext_logging_log_version_1(level, target, message)` emits one entry. Both
 * are answered inline: logging never pauses a call. The numbers are Substrate's, and the two
 * functions count differently: an entry's level (`RuntimeInterfaceLogLevel`, passed as its
 * variant index) is 0 for error to 4 for trace, while the filter (`LogLevelFilter`) is 0 for
 * "off", then 1 for error to 5 for trace. An entry of level `n` is wanted when `n + 1` is at
 * most the filter. (smoldot and chopsticks read the levels the same way; runtimes report their
 * panics as level-0 entries before trapping.)
 *
 * The `ext_misc_print_*` functions (debug printing from old runtimes) arrive as `debug` entries
 * with the target `runtime`, as Substrate prints them.
 *
 * @module
 */

/** A log level, from the most to the least severe. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** What the host lets through: a {@link LogLevel} and everything more severe, or nothing. */
export type LogLevelFilter = LogLevel | 'off';

/** One entry the runtime logged. */
export interface LogEntry {
  readonly level: LogLevel;
  /** The module that logged (e.g. `runtime::system`). */
  readonly target: string;
  /** The message. Bytes that are not valid UTF-8 are shown as U+FFFD. */
  readonly message: string;
}

/** Levels by Substrate's numbering (index 1 is `error`). */
const LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug', 'trace'];

/** Substrate's number for a level filter: 0 for `off`, 1 (`error`) to 5 (`trace`). */
export function levelFilterNumber(filter: LogLevelFilter): number {
  return filter === 'off' ? 0 : LEVELS.indexOf(filter) + 1;
}

/** The level of a log entry numbered `value` (0 = error .. 4 = trace), or `null` for another number. */
export function levelFromNumber(value: number): LogLevel | null {
  return LEVELS[value] ?? null;
}

const lossyUtf8 = new TextDecoder('utf-8', { fatal: false });

/** Bytes from the runtime as text; logs are diagnostics, so invalid UTF-8 is replaced rather than refused. */
export function logText(bytes: Uint8Array): string {
  return lossyUtf8.decode(bytes);
}
