/**
 * Telling a promise (or any thenable) from a plain value, where an answer may be either: a host
 * that answers synchronously costs no promise job.
 *
 * @module
 */

/** Whether `value` is a promise or any other thenable. */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
