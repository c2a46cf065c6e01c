/**
 * The most fuel one call can hold (`VmConfig.fuel`): its counter is an i64 global, so 2^63 - 1.
 * Shared by the core's fuel accounting (`vm/fuel.ts`) and the Substrate layer, which gives a
 * metered runtime's call without a budget this much (unbounded in practice).
 *
 * @module
 */

/** The largest fuel a call's counter holds (an i64): 2^63 - 1. */
export const MAX_FUEL = (1n << 63n) - 1n;
