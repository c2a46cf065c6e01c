/**
 * Hexadecimal, the way the Substrate ecosystem writes bytes (chain specs, RPC, storage keys):
 * lowercase, with a `0x` prefix.
 *
 * @module
 */

import { UsageError } from '../../base/errors.js';

const DIGIT_PAIRS = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** `bytes` as `0x`-prefixed lowercase hexadecimal. */
export function toHex(bytes: Uint8Array): string {
  let hex = '0x';
  for (let i = 0; i < bytes.length; i++) hex += DIGIT_PAIRS[bytes[i]!]!;
  return hex;
}

/**
 * The bytes written in `hex`, with or without a `0x` prefix. Throws {@link UsageError}
 * (`InvalidArgument`) for an odd number of digits or a character that is not a hex digit.
 */
export function fromHex(hex: string): Uint8Array {
  const digits = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex;
  if (digits.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(digits)) {
    const shown = hex.length > 40 ? `${hex.slice(0, 40)}...` : hex;
    throw new UsageError('InvalidArgument', `not hexadecimal bytes: ${JSON.stringify(shown)}`);
  }
  // The engine's own decoder where it has one (ES2026: V8 13.x, Firefox 133, Safari 18.2): a
  // runtime's code in a chain spec is megabytes of hex, and this loop's time was most of the
  // `decode-code` phase once zstd was native.
  if (nativeFromHex !== undefined) return nativeFromHex(digits);
  const bytes = new Uint8Array(digits.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (NIBBLES[digits.charCodeAt(2 * i)]! << 4) | NIBBLES[digits.charCodeAt(2 * i + 1)]!;
  return bytes;
}

const nativeFromHex = (Uint8Array as { fromHex?: (hex: string) => Uint8Array }).fromHex?.bind(Uint8Array);

/** The value of each hex digit by its character code (only digits reach it: checked before). */
const NIBBLES = (() => {
  const table = new Uint8Array(128);
  for (let d = 0; d < 16; d++) {
    table['0123456789abcdef'.charCodeAt(d)] = d;
    table['0123456789ABCDEF'.charCodeAt(d)] = d;
  }
  return table;
})();
