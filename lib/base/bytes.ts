/**
 * Byte arrays end to end: what the binary rewriting, the SCALE encoder, the trie codec and the
 * zstd decoder all need.
 *
 * @module
 */

/** `parts` concatenated into one new array (a single part is returned as it is, not copied). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
