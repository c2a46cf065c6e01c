/**
 * Zstandard decompression with a hard limit on the output, for code that comes from the network.
 *
 * A runtime's code is fetched from the chain's storage, so it is untrusted input, and zstd can
 * expand a few kilobytes into gigabytes (a *decompression bomb*). `fzstd` on its own offers no
 * limit, and two of its behaviours would let a bomb through before any limit on the result could
 * be checked:
 *
 * - its one-shot `decompress()` allocates the whole output up front when the frame header
 *   declares a content size, whatever size the header claims;
 * - every frame gets a window buffer as large as the header's window size (up to 2 GiB).
 *
 * So this module never trusts a header. It first walks the stream itself (frame headers and
 * block headers, which are cheap to read), refusing any frame whose declared window or content
 * size is past the limit, and any block larger than the format allows. Only then does it
 * decompress, frame by frame, with fzstd's *streaming* decoder, which hands the output over one
 * block at a time (at most 128 KiB): the running total is checked at every block, and the
 * decoder is stopped as soon as it passes the limit. Memory use is therefore bounded by the
 * limit plus one window, whatever the input.
 *
 * The walk also catches truncated streams and frames whose output does not match their declared
 * size. Content checksums are not verified (fzstd skips them); a corrupted runtime that still
 * decompresses is refused later, when the engine validates the WebAssembly.
 *
 * @module
 */

import { Decompress } from 'fzstd';
import { RuntimeCodeError } from './errors.js';

/** The magic number that opens a zstd frame (little-endian 0xFD2FB528). */
const FRAME_MAGIC = 0xfd2fb528;

/** Skippable frames have magic numbers 0x184D2A50 to 0x184D2A5F. */
const SKIPPABLE_MAGIC = 0x184d2a50;

/** The largest block the format allows, before the window size lowers it further. */
const MAX_BLOCK_SIZE = 128 * 1024;

/** One zstd frame found by the walk. */
interface FrameSpan {
  readonly start: number;
  readonly end: number;
  /** The content size the header declares, or `null` if it does not. */
  readonly contentSize: number | null;
}

/** Thrown from inside the streaming decoder's callback to stop it at the limit. */
class LimitReached extends Error {}

/**
 * Decompresses `data` (one or more zstd frames, skippable frames allowed) and returns the
 * concatenated output. Throws {@link RuntimeCodeError}: `TooLarge` as soon as the output, a
 * declared content size or a window size is found to exceed `limit` bytes; `InvalidZstd` for
 * anything malformed.
 */
export function decompressBounded(data: Uint8Array, limit: number): Uint8Array {
  const frames = walkFrames(data, limit);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (const frame of frames) {
    let frameTotal = 0;
    const decoder = new Decompress((chunk) => {
      frameTotal += chunk.length;
      total += chunk.length;
      if (total > limit) throw new LimitReached();
      if (chunk.length > 0) chunks.push(chunk);
    });
    try {
      decoder.push(data.subarray(frame.start, frame.end), true);
    } catch (e) {
      if (e instanceof LimitReached) {
        throw new RuntimeCodeError('TooLarge', `the code decompresses to more than the limit of ${limit} bytes`);
      }
      throw new RuntimeCodeError('InvalidZstd', `the zstd data is corrupted: ${(e as Error)?.message ?? String(e)}`, e);
    }
    if (frame.contentSize !== null && frameTotal !== frame.contentSize) {
      throw new RuntimeCodeError(
        'InvalidZstd',
        `a zstd frame declares ${frame.contentSize} bytes of content but decompresses to ${frameTotal}`,
      );
    }
  }
  if (chunks.length === 1) return chunks[0]!;
  const output = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    output.set(chunk, offset);
    offset += chunk.length;
  }
  return output;
}

/**
 * Finds every zstd frame in `data` by reading headers only, and checks each against the
 * format's rules and `limit`. Skippable frames are passed over (they carry no content).
 */
function walkFrames(data: Uint8Array, limit: number): FrameSpan[] {
  const invalid = (what: string) => new RuntimeCodeError('InvalidZstd', `the zstd data is malformed: ${what}`);
  const need = (pos: number, count: number, what: string) => {
    if (pos + count > data.length) throw invalid(`it ends inside ${what} (at byte ${data.length})`);
  };
  if (data.length === 0) throw invalid('there is nothing after the prefix');

  const frames: FrameSpan[] = [];
  let declaredTotal = 0;
  let pos = 0;
  while (pos < data.length) {
    need(pos, 4, 'a frame magic number');
    const magic = readLe(data, pos, 4);
    if ((magic & 0xffff_fff0) >>> 0 === SKIPPABLE_MAGIC) {
      need(pos, 8, 'a skippable frame header');
      const size = readLe(data, pos + 4, 4);
      need(pos + 8, size, 'a skippable frame');
      pos += 8 + size;
      continue;
    }
    if (magic !== FRAME_MAGIC) throw invalid(`byte ${pos} does not start a zstd frame`);

    const start = pos;
    need(pos, 5, 'a frame header');
    const descriptor = data[pos + 4]!;
    pos += 5;
    const contentSizeFlag = descriptor >> 6;
    const singleSegment = (descriptor & 0x20) !== 0;
    const hasChecksum = (descriptor & 0x04) !== 0;
    const dictionaryBytes = [0, 1, 2, 4][descriptor & 0x03]!;
    if ((descriptor & 0x08) !== 0) throw invalid('a frame header sets the reserved bit');

    let windowSize = 0;
    if (!singleSegment) {
      need(pos, 1, 'a window descriptor');
      const exponent = data[pos]! >> 3;
      const mantissa = data[pos]! & 0x07;
      const base = 2 ** (10 + exponent);
      windowSize = base + (base / 8) * mantissa;
      pos += 1;
    }
    need(pos, dictionaryBytes, 'a dictionary id');
    if (readLe(data, pos, dictionaryBytes) !== 0) throw invalid('a frame needs a dictionary, which runtime code never uses');
    pos += dictionaryBytes;

    const contentSizeBytes = contentSizeFlag === 0 ? (singleSegment ? 1 : 0) : [0, 2, 4, 8][contentSizeFlag]!;
    need(pos, contentSizeBytes, 'a frame content size');
    let contentSize: number | null = null;
    if (contentSizeBytes > 0) {
      // An 8-byte size past 2^53 loses precision here, but it is then far past any limit anyway.
      contentSize = readLe(data, pos, contentSizeBytes) + (contentSizeBytes === 2 ? 256 : 0);
    }
    pos += contentSizeBytes;
    if (singleSegment) windowSize = contentSize!;

    if (windowSize > limit) {
      throw new RuntimeCodeError(
        'TooLarge',
        `a zstd frame asks for a window of ${windowSize} bytes, more than the limit of ${limit} bytes`,
      );
    }
    if (contentSize !== null) {
      declaredTotal += contentSize;
      if (declaredTotal > limit) {
        throw new RuntimeCodeError(
          'TooLarge',
          `the zstd frames declare ${declaredTotal} bytes of content, more than the limit of ${limit} bytes`,
        );
      }
    }

    const maxBlock = Math.min(windowSize, MAX_BLOCK_SIZE);
    for (let last = false; !last; ) {
      need(pos, 3, 'a block header');
      const header = readLe(data, pos, 3);
      last = (header & 1) === 1;
      const type = (header >> 1) & 3;
      const size = header >>> 3;
      if (type === 3) throw invalid(`the block at byte ${pos} has the reserved type`);
      if (size > maxBlock) throw invalid(`the block at byte ${pos} is ${size} bytes, above the maximum of ${maxBlock}`);
      // A run-length block stores its one byte; raw and compressed blocks store `size` bytes.
      const stored = type === 1 ? 1 : size;
      need(pos + 3, stored, 'a block');
      pos += 3 + stored;
    }
    if (hasChecksum) {
      need(pos, 4, 'a frame checksum');
      pos += 4;
    }
    frames.push({ start, end: pos, contentSize });
  }
  if (frames.length === 0) throw invalid('it holds no zstd frame');
  return frames;
}

/** The little-endian unsigned integer of `count` (0 to 8) bytes at `pos`. */
function readLe(data: Uint8Array, pos: number, count: number): number {
  let value = 0;
  for (let i = count - 1; i >= 0; i--) value = value * 256 + data[pos + i]!;
  return value;
}
