/**
 * What this JavaScript engine can do, probed rather than guessed from version numbers: a tiny
 * module validated, or a constructor looked up. Each probe is cheap and its answer cached.
 *
 * @module
 */

let multiMemory: boolean | null = null;

/** Whether the engine accepts a module with two memories. */
export function engineSupportsMultiMemory(): boolean {
  multiMemory ??= WebAssembly.validate(
    Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x05, 0x05, 0x02, 0x00, 0x00, 0x00, 0x00),
  );
  return multiMemory;
}
