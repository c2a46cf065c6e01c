/**
 * Zstandard decompression with a hard limit on the output, for code that comes from the network.
 *
 * A runtime's code is fetched from the chain's storage, so it is untrusted input, and zstd can
 * expand a few kilobytes into gigabytes (a *decompression bomb*). What must be bounded is the
 * *output*: that is what smoldot and Substrate bound, and a frame's header says little about it.
 * The *window* a header declares, in particular, is no measure of the cost: today's relay chain
 * runtime (Paseo, rustc 1.91) declares a 128 MiB window for 12.4 MB of content, and a decoder
 * that writes into a buffer holding the whole output needs no separate window at all (the output
 * so far *is* the window, and the output is capped at the limit).
 *
 * `fzstd` on its own offers no limit, and three of its behaviours stand in the way:
 *
 * - its one-shot `decompress(data)` allocates the whole output up front when the frame header
 *   declares a content size, whatever size the header claims;
 * - its streaming `Decompress` allocates a window buffer as large as the header's window size
 *   (up to 2 GiB), and moves the whole window after every block (at most 128 KiB of output):
 *   with Paseo's 128 MiB window that is 2.3 s and 186 MB;
 * - `decompress(data, buffer)`, which decodes into a caller's buffer and uses it as the window,
 *   cannot stop at a limit, does not say how much it wrote, and drops writes past the buffer's
 *   end without a word.
 *
 * So this module never trusts a header. It first walks the stream itself (frame headers and
 * block headers, which are cheap to read), refusing any frame whose declared content size is
 * past the limit, and any block larger than the format allows. Then it decompresses frame by
 * frame, in one of two ways depending on the window the frame declares:
 *
 * - **A window of at most {@link STREAMING_WINDOW_LIMIT} (8 MiB; every runtime compressed with
 *   zstd's usual levels): one streaming pass.** fzstd's streaming decoder hands the output over
 *   one block at a time: the running total is checked at every block, and the decoder is
 *   stopped as soon as it passes the limit. Memory: the output twice (the blocks, then their
 *   concatenation), plus the window.
 * - **A larger window: measure, then decode into the output.** A first streaming pass runs with
 *   the window replaced by 128 KiB (the header is rewritten in a copy: see
 *   {@link withSmallWindow}). The size of a block's output depends only on the compressed
 *   stream, never on the window's contents, so this pass measures the exact output size even
 *   though a back-reference past 128 KiB reads the wrong bytes, and it stops at the limit as the
 *   other does, keeping nothing. Only with the size known and within the limit is the output
 *   allocated, and fzstd decodes the frame straight into it, using it as the window. Memory:
 *   the output, plus a copy of the compressed frame; time: about twice one pass (the window
 *   moves of the streaming decoder would cost far more with such a window).
 *
 * Either way a bomb is stopped after at most the limit (plus one block) of output, and nothing
 * ever allocates what a header declares.
 *
 * **Where Node.js has zstd** (`zlib.zstdDecompressSync`, Node.js 22.15 and 23.8 and later),
 * libzstd decodes instead of fzstd: several times faster (most of a runtime's start was fzstd),
 * and it checks the checksums too. It is reached through `process.getBuiltinModule`, never an
 * `import`, so that browser bundles see no Node.js built-in; everywhere else fzstd decodes as
 * above. The same walk runs first, and the same bounds hold: libzstd is given the limit as its
 * `maxOutputLength` (it stops, and fails, as soon as its output passes it), and it is used only
 * when the memory it allocates is bounded too: its buffer holds the window, or the content when
 * the header declares it (which the walk has checked against the limit), so a frame that
 * declares no content size and a window past {@link STREAMING_WINDOW_LIMIT} is left to fzstd's
 * measure-then-decode path. The walk also catches truncated streams, and frames
 * whose output does not match their declared size. Content checksums are not verified (fzstd
 * skips them); a corrupted runtime that still decompresses is refused later, when the engine
 * validates the WebAssembly.
 *
 * @module
 */

import { Decompress, decompress } from 'fzstd';
import { concatBytes } from '../../base/bytes.js';
import { RuntimeCodeError } from '../errors.js';

/** The magic number that opens a zstd frame (little-endian 0xFD2FB528). */
const FRAME_MAGIC = 0xfd2fb528;

/** Skippable frames have magic numbers 0x184D2A50 to 0x184D2A5F. */
const SKIPPABLE_MAGIC = 0x184d2a50;

/** The largest block the format allows, before the window size lowers it further. */
const MAX_BLOCK_SIZE = 128 * 1024;

/** The window descriptor byte of a 128 KiB window (exponent 7, so 2^(10+7); mantissa 0). */
const MAX_BLOCK_WINDOW_DESCRIPTOR = 7 << 3;

/**
 * The largest declared window decoded in one streaming pass; frames with a larger one are
 * measured first, then decoded into their output. fzstd's streaming decoder moves its whole
 * window after every block, so its cost grows with the window: up to 8 MiB (zstd's levels 1 to
 * 19 use at most 8 MiB) that costs less than the second pass would; at Paseo's 128 MiB it is
 * 2.3 s against about 0.5 s for both passes.
 */
export const STREAMING_WINDOW_LIMIT = 8 * 1024 * 1024;

/** One zstd frame found by the walk. */
interface FrameSpan {
  readonly start: number;
  /** Where the first block header starts (the end of the frame header). */
  readonly blocksStart: number;
  readonly end: number;
  /** The window the header declares (its content size for a single-segment frame). */
  readonly windowSize: number;
  /** Whether the header announces a 4-byte checksum after the last block. */
  readonly hasChecksum: boolean;
  /** The content size the header declares, or `null` if it does not. */
  readonly contentSize: number | null;
}

/**
 * The work one {@link decompressBounded} call did, for tests and benchmarks that bound it by
 * work rather than by time.
 */
export interface DecompressionWork {
  /** Bytes of output the decoder produced, over every pass (kept or not). */
  outputBytes: number;
}

/** Thrown from inside the streaming decoder's callback to stop it at the limit. */
class LimitReached extends Error {}

/**
 * Decompresses `data` (one or more zstd frames, skippable frames allowed) and returns the
 * concatenated output. Throws {@link RuntimeCodeError}: `TooLarge` as soon as the output or a
 * declared content size is found to exceed `limit` bytes; `InvalidZstd` for anything malformed.
 * The window a frame declares is not limited: it is never allocated beyond
 * {@link STREAMING_WINDOW_LIMIT}. If `work` is given, the work done is added to it.
 */
export function decompressBounded(data: Uint8Array, limit: number, work?: DecompressionWork, decoder: ZstdDecoder = 'auto'): Uint8Array {
  const frames = walkFrames(data, limit);
  const native = decoder === 'fzstd' ? undefined : nativeZstd();
  if (decoder === 'native' && native === undefined) throw new Error("this JavaScript engine has no zlib.zstdDecompressSync (decoder 'native')");
  if (native !== undefined && limit > 0 && frames.every((f) => f.contentSize !== null || f.windowSize <= STREAMING_WINDOW_LIMIT)) {
    try {
      // Node.js decodes in chunks of this size (16 KiB by default: 400 chunks and their
      // concatenation for a 6 MB runtime, three times the time of one): the declared content
      // when every frame declares it (the walk bounded it by the limit), else 1 MiB.
      const declared = frames.reduce((sum, f) => sum + (f.contentSize ?? Number.NaN), 0);
      const chunkSize = Math.max(MIN_CHUNK, Number.isNaN(declared) ? Math.min(limit, 1 << 20) : declared);
      return decompressNative(native, data, limit, chunkSize, work);
    } catch (e) {
      if (!(e instanceof NativeFailure)) throw e;
      // libzstd says only "Data corruption detected": fzstd says what is wrong (a frame shorter
      // than it declares, ...). If fzstd takes what libzstd refused (a wrong checksum, which
      // fzstd does not check), it is refused all the same.
      decompressWithFzstd(data, frames, limit, undefined);
      throw e.error;
    }
  }
  return decompressWithFzstd(data, frames, limit, work);
}

/** {@link decompressBounded} by fzstd: each frame streamed, or measured then decoded. */
function decompressWithFzstd(data: Uint8Array, frames: readonly FrameSpan[], limit: number, work: DecompressionWork | undefined): Uint8Array {
  const outputs: Uint8Array[] = [];
  let total = 0;
  for (const frame of frames) {
    const bounds = { remaining: limit - total, limit, work };
    const output =
      frame.windowSize <= STREAMING_WINDOW_LIMIT
        ? streamFrame(data.subarray(frame.start, frame.end), frame, bounds)
        : measureThenDecodeFrame(withSmallWindow(data, frame), frame, bounds);
    total += output.length;
    outputs.push(output);
  }
  return concatBytes(outputs);
}

/**
 * Which decoder decompresses: `'auto'` (the default) is libzstd where Node.js has it and the
 * input allows it (see the module documentation), else fzstd; the others are for the tests and
 * benchmarks that compare them (`'native'` throws where Node.js has no zstd).
 */
export type ZstdDecoder = 'auto' | 'native' | 'fzstd';

/** Node.js's `zlib.zstdDecompressSync`, as much of it as this file uses. */
type NativeZstd = (data: Uint8Array, options: { maxOutputLength: number; chunkSize: number; params: Record<number, number> }) => Uint8Array;

/** The smallest chunk Node.js's zlib takes. */
const MIN_CHUNK = 64;

/** `ZSTD_d_windowLogMax`: the largest window libzstd accepts, as a power of two. */
const ZSTD_D_WINDOW_LOG_MAX = 100;

let nativeZstdFunction: NativeZstd | null | undefined;

/** Node.js's zstd decoder, reached without an import (browser bundles must not see `node:zlib`). */
export function nativeZstd(): NativeZstd | undefined {
  if (nativeZstdFunction === undefined) {
    const process = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process;
    const zlib = process?.getBuiltinModule?.('node:zlib') as { zstdDecompressSync?: NativeZstd } | undefined;
    nativeZstdFunction = typeof zlib?.zstdDecompressSync === 'function' ? zlib.zstdDecompressSync.bind(zlib) : null;
  }
  return nativeZstdFunction ?? undefined;
}

/**
 * The whole stream (its frames walked and checked before) decoded by libzstd, which stops as
 * soon as its output passes `limit`. The window may be declared as large as the format allows
 * (2 GiB): libzstd allocates the content size instead when the frame declares one, and the
 * caller sends here only frames that declare one or a window of at most
 * {@link STREAMING_WINDOW_LIMIT}.
 */
function decompressNative(zstd: NativeZstd, data: Uint8Array, limit: number, chunkSize: number, work: DecompressionWork | undefined): Uint8Array {
  let output: Uint8Array;
  try {
    output = zstd(data, { maxOutputLength: limit, chunkSize, params: { [ZSTD_D_WINDOW_LOG_MAX]: 31 } });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      // libzstd stopped as soon as its output passed the limit (within a chunk): it produced at
      // least one byte more, which is what is counted.
      if (work) work.outputBytes += limit + 1;
      throw new RuntimeCodeError('TooLarge', `the code decompresses to more than the limit of ${limit} bytes`);
    }
    throw new NativeFailure(corrupted(e));
  }
  if (work) work.outputBytes += output.length;
  // A plain Uint8Array that owns its buffer, as fzstd's path returns (a small Buffer may be a
  // view of Node.js's shared pool: copied then).
  const whole = output.byteOffset === 0 && output.byteLength === output.buffer.byteLength;
  return whole ? new Uint8Array(output.buffer, 0, output.length) : new Uint8Array(output);
}

/** libzstd refused the stream as corrupted (`error`). */
class NativeFailure extends Error {
  constructor(readonly error: RuntimeCodeError) {
    super(error.message);
  }
}

/** How much output a frame may still produce, and what to report. */
interface Bounds {
  /** The limit, less what earlier frames produced. */
  readonly remaining: number;
  /** The limit itself, for the message. */
  readonly limit: number;
  readonly work: DecompressionWork | undefined;
}

/**
 * One frame in one streaming pass (its window is small enough to allocate): the output is kept
 * block by block, and the decoder is stopped as soon as it passes `bounds.remaining`.
 */
function streamFrame(bytes: Uint8Array, frame: FrameSpan, bounds: Bounds): Uint8Array {
  const chunks: Uint8Array[] = [];
  const size = runStreaming(bytes, bounds, (chunk) => chunks.push(chunk));
  checkDeclaredSize(frame, size);
  return concatBytes(chunks);
}

/**
 * One frame whose window is too large to allocate: measured first with a 128 KiB window
 * (`bytes` comes from {@link withSmallWindow}), then decoded straight into an output of the
 * measured size.
 */
function measureThenDecodeFrame(bytes: Uint8Array, frame: FrameSpan, bounds: Bounds): Uint8Array {
  const size = runStreaming(bytes, bounds, () => undefined);
  checkDeclaredSize(frame, size);
  const output = new Uint8Array(size);
  if (size > 0) decodeFrameInto(bytes, output);
  if (bounds.work) bounds.work.outputBytes += size;
  return output;
}

/**
 * Runs fzstd's streaming decoder over one frame, handing each non-empty block's output to
 * `keep`, and returns the frame's output size. Throws `TooLarge` as soon as the output passes
 * `bounds.remaining`, `InvalidZstd` for whatever fzstd refuses.
 */
function runStreaming(bytes: Uint8Array, bounds: Bounds, keep: (chunk: Uint8Array) => void): number {
  let size = 0;
  const decoder = new Decompress((chunk) => {
    size += chunk.length;
    if (bounds.work) bounds.work.outputBytes += chunk.length;
    if (size > bounds.remaining) throw new LimitReached();
    if (chunk.length > 0) keep(chunk);
  });
  try {
    decoder.push(bytes, true);
  } catch (e) {
    if (e instanceof LimitReached) {
      throw new RuntimeCodeError('TooLarge', `the code decompresses to more than the limit of ${bounds.limit} bytes`);
    }
    throw corrupted(e);
  }
  return size;
}

/**
 * Decodes one frame into `output`, which is exactly as long as the frame's content (measured
 * before). fzstd then uses `output` itself as the window: nothing else is allocated, whatever
 * the header declares.
 */
function decodeFrameInto(bytes: Uint8Array, output: Uint8Array): void {
  // fzstd 0.1.1's decompress(data, buf) tests `buf == 1` (twice per frame), which turns the
  // whole buffer into a string of its digits: for a 12 MB runtime, about 150 ms and 25 MB of
  // garbage. Giving fzstd a view whose conversion to a primitive answers at once avoids that
  // (the view is a separate object, so the array returned to the caller stays a plain one).
  const target = new Uint8Array(output.buffer, output.byteOffset, output.length);
  Object.defineProperty(target, Symbol.toPrimitive, { value: () => Number.NaN });
  try {
    decompress(bytes, target);
  } catch (e) {
    throw corrupted(e);
  }
}

/**
 * The frame's bytes with a window of 128 KiB: a copy whose header is rewritten to declare a
 * 128 KiB window, no content size and no single segment (the blocks and the checksum are kept
 * as they are). Only for frames whose declared window is larger.
 *
 * fzstd's streaming decoder would allocate the declared window, and its one-shot decoder
 * refuses any above 2 GiB, but neither of the two passes needs it: the measure pass needs only
 * the size of each block's output, which does not depend on the window's contents, and the
 * decode pass uses the output as its window. What the window still sets is the largest block,
 * min(window, 128 KiB), and that is the same for the rewritten header. The declared content
 * size is checked against the measured one instead.
 */
function withSmallWindow(data: Uint8Array, frame: FrameSpan): Uint8Array {
  const blocks = data.subarray(frame.blocksStart, frame.end);
  const copy = new Uint8Array(6 + blocks.length);
  copy.set(data.subarray(frame.start, frame.start + 4)); // the magic number
  copy[4] = frame.hasChecksum ? 0x04 : 0x00; // no content size, not single segment, no dictionary
  copy[5] = MAX_BLOCK_WINDOW_DESCRIPTOR;
  copy.set(blocks, 6);
  return copy;
}

/** Throws `InvalidZstd` if the frame declares a content size other than `size`. */
function checkDeclaredSize(frame: FrameSpan, size: number): void {
  if (frame.contentSize !== null && size !== frame.contentSize) {
    throw new RuntimeCodeError(
      'InvalidZstd',
      `a zstd frame declares ${frame.contentSize} bytes of content but decompresses to ${size}`,
    );
  }
}

/** The error for whatever fzstd throws while decoding a frame. */
function corrupted(e: unknown): RuntimeCodeError {
  return new RuntimeCodeError('InvalidZstd', `the zstd data is corrupted: ${(e as Error)?.message ?? String(e)}`, e);
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

    // The declared window is not checked against the limit: a large one is never allocated
    // (see withSmallWindow), and today's runtimes declare windows far larger than their content.
    if (contentSize !== null) {
      declaredTotal += contentSize;
      if (declaredTotal > limit) {
        throw new RuntimeCodeError(
          'TooLarge',
          `the zstd frames declare ${declaredTotal} bytes of content, more than the limit of ${limit} bytes`,
        );
      }
    }

    const blocksStart = pos;
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
    frames.push({ start, blocksStart, end: pos, windowSize, hasChecksum, contentSize });
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
