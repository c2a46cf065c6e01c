/**
 * The transform Worker's source read from the bytes of the built `browser-worker-source.js`,
 * for Node.js's worker (`node-worker.ts`): importing that module would make the engine parse
 * its 17 MB template literal, and then the same source again as the module it is; reading the
 * literal out of the file costs one pass over its bytes.
 *
 * The build (`scripts/build-browser-worker.mjs`) writes the source as one template literal in
 * which `\`, `` ` `` and `${` are escaped with a backslash and a carriage return is written
 * `\r`: so every backslash in it starts a pair, read here left to right. A backslash (0x5C)
 * is never part of a longer UTF-8 sequence, so this works on the UTF-8 bytes, with no string
 * (the source holds millions of backslashes: Binaryen's WebAssembly, kept as a string).
 *
 * @module
 */

/** What opens the literal in the built file (the stand-in compiled by tsc has `= ''`). */
const OPENING = 'export const WORKER_SOURCE = `';

const BACKSLASH = 0x5c;
const BACKTICK = 0x60;
const LETTER_R = 0x72;
const CARRIAGE_RETURN = 0x0d;

/**
 * The UTF-8 source held by the template literal of the module whose UTF-8 bytes are `file`, or
 * `null` if it holds none (the stand-in).
 */
export function workerSourceOf(file: Uint8Array): Uint8Array | null {
  // The opening is in the file's first lines, which are ASCII: a byte is a character there.
  let head = '';
  for (let i = 0; i < Math.min(file.length, 1024); i++) head += String.fromCharCode(file[i]!);
  const opening = head.indexOf(OPENING);
  let end = file.length - 1;
  while (end >= 0 && file[end] !== BACKTICK) end--;
  const start = opening + OPENING.length;
  if (opening < 0 || end < start) return null;
  const source = new Uint8Array(end - start);
  let length = 0;
  for (let i = start; i < end; i++) {
    const byte = file[i]!;
    if (byte !== BACKSLASH) {
      source[length++] = byte;
      continue;
    }
    const escaped = file[++i]!;
    source[length++] = escaped === LETTER_R ? CARRIAGE_RETURN : escaped;
  }
  return source.subarray(0, length);
}
