/**
 * Runtime code: raw wasm passes through, zstd with Substrate's prefix is decompressed, corrupt
 * streams are `InvalidZstd`, and nothing (an expanding stream, a lying header) can make
 * decompression go past the limit. A huge declared window is no reason to refuse (today's relay
 * chain runtime declares 128 MiB for 12.4 MB of content) and is never allocated.
 *
 * Bombs are bounded by work, not time: `decompressBounded` reports how many bytes its decoder
 * produced, and a refusal must come before the limit plus one block.
 *
 * Where Node.js has zstd, libzstd decodes (`'native'`) and fzstd is the fallback; both are
 * tested here on what they share (outputs, limits, bombs, corrupt streams, the same messages),
 * and fzstd alone on how it bounds the window (its passes).
 */
import { readFileSync } from 'node:fs';
import { constants as zlibConstants, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import {
  DEFAULT_MAX_CODE_SIZE,
  RuntimeCodeError,
  SubstrateRuntime,
  decodeRuntimeCode,
  fromHex,
  isCompressedRuntimeCode,
  toHex,
} from '../../lib/substrate/index.js';
import { type DecompressionWork, STREAMING_WINDOW_LIMIT, type ZstdDecoder, decompressBounded, nativeZstd } from '../../lib/substrate/encoding/zstd.js';
import { BACKENDS } from '../support/backends.js';
import { SHARED_CHAIN_SPECS, loadChainSpec } from '../support/chain-spec.js';
import { describeWithShared } from '../support/shared.js';
import { EMPTY_LAST_BLOCK, PREFIX, guest, zstdBomb, zstdHeader, zstdStored } from '../support/substrate-guest.js';

/** The largest block zstd allows: a bomb may overshoot the limit by this much before it is stopped. */
const MAX_BLOCK = 128 * 1024;

/** The window descriptor byte of a 128 MiB window (Paseo's): exponent 17, 2^(10+17). */
const WINDOW_128_MIB = 17 << 3;

/** The largest window a descriptor can express: exponent 31, mantissa 7, 2^41 + 7 * 2^38 (3.75 TiB). */
const WINDOW_LARGEST = (31 << 3) | 7;

/** `decompressBounded` on code with the prefix, and the work it did (also when it throws). */
function decompressWithWork(
  code: Uint8Array,
  limit = DEFAULT_MAX_CODE_SIZE,
  decoder: ZstdDecoder = 'auto',
): { run: () => Uint8Array; work: DecompressionWork } {
  const work: DecompressionWork = { outputBytes: 0 };
  return { run: () => decompressBounded(code.subarray(PREFIX.length), limit, work, decoder), work };
}

/** The decoders this Node.js has: libzstd (Node.js 22.15 and later) and fzstd. */
const DECODERS: readonly ZstdDecoder[] = nativeZstd() === undefined ? ['fzstd'] : ['native', 'fzstd'];

test('this Node.js (the pinned one) has zstd, which decodes by default', () => {
  expect(DECODERS).toEqual(['native', 'fzstd']);
});

/** `code` (prefix, frame header without content size or dictionary, blocks) with its window descriptor byte replaced. */
function withWindow(code: Uint8Array, descriptor: number): Uint8Array {
  const copy = Uint8Array.from(code);
  expect(copy[PREFIX.length + 4]! & 0xe3).toBe(0x00); // no content size, not single segment: byte 5 is the window
  copy[PREFIX.length + 5] = descriptor;
  return copy;
}

/**
 * 700,000 bytes whose last 200,000 repeat the first 200,000 (which are pseudo-random), so that
 * compressing them well needs back-references of 500,000 bytes, far past a 128 KiB window.
 */
function farRepeats(): Uint8Array {
  const data = new Uint8Array(700_000);
  let state = 0x2545f491;
  for (let i = 0; i < 500_000; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    data[i] = state & 0xff;
  }
  data.copyWithin(500_000, 0, 200_000);
  return data;
}

/**
 * `data` compressed by libzstd (node:zlib) with long-distance matching, as Substrate code: one
 * frame with a compressed block structure fzstd must really decode, no content size, and a
 * 1 MiB window (which the tests then replace with larger ones).
 */
function zstdCompressed(data: Uint8Array): Uint8Array {
  const frame = zstdCompressSync(data, {
    params: {
      [zlibConstants.ZSTD_c_windowLog]: 20,
      [zlibConstants.ZSTD_c_contentSizeFlag]: 0,
      [zlibConstants.ZSTD_c_enableLongDistanceMatching]: 1,
    },
  });
  return Uint8Array.from([...PREFIX, ...frame]);
}

const MODULE = guest('', '(func (export "noop") (param i32 i32) (result i64) (i64.const 0))');

function expectCodeError(run: () => unknown, kind: RuntimeCodeError['kind'], message: RegExp): void {
  let error: unknown;
  try {
    run();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(RuntimeCodeError);
  expect((error as RuntimeCodeError).kind).toBe(kind);
  expect((error as RuntimeCodeError).message).toMatch(message);
}

describe('raw and compressed code', () => {
  test('raw wasm is returned as it is', async () => {
    const wasm = await MODULE;
    const decoded = decodeRuntimeCode(wasm);
    expect(decoded.compressed).toBe(false);
    expect(decoded.wasm).toBe(wasm);
    expect(decoded.codeSize).toBe(wasm.length);
    expect(isCompressedRuntimeCode(wasm)).toBe(false);
  });

  test("hex: the engine's decoder where it has one, else a table; both give the same bytes and refuse the same text", async () => {
    const bytes = Uint8Array.from({ length: 4096 }, (_, i) => (i * 37) & 0xff);
    const hex = toHex(bytes);
    expect(typeof (Uint8Array as { fromHex?: unknown }).fromHex).toBe('function');
    // The fallback, as on an engine without Uint8Array.fromHex: the module loaded again without it.
    const saved = Object.getOwnPropertyDescriptor(Uint8Array, 'fromHex')!;
    delete (Uint8Array as { fromHex?: unknown }).fromHex;
    const again: string = '../../lib/substrate/encoding/hex.js?without-fromhex';
    let fallback: typeof import('../../lib/substrate/encoding/hex.js');
    try {
      fallback = (await import(again)) as typeof fallback;
    } finally {
      Object.defineProperty(Uint8Array, 'fromHex', saved);
    }
    expect(fallback.fromHex).not.toBe(fromHex);
    for (const decode of [fromHex, fallback.fromHex]) {
      expect(decode(hex)).toEqual(bytes);
      expect(decode('0xAbCd')).toEqual(Uint8Array.of(0xab, 0xcd));
      expect(() => decode('0x0g')).toThrow(/not hexadecimal bytes/);
      expect(() => decode('0x012')).toThrow(/not hexadecimal bytes/);
    }
  });

  test('hex is accepted, with the 0x prefix', async () => {
    const wasm = await MODULE;
    expect(decodeRuntimeCode(toHex(wasm)).wasm).toEqual(wasm);
  });

  test('zstd with the Substrate prefix is decompressed (several blocks, declared size)', async () => {
    const wasm = await MODULE;
    const big = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff); // three raw blocks
    for (const data of [wasm, big]) {
      const code = zstdStored(data);
      expect(isCompressedRuntimeCode(code)).toBe(true);
      const decoded = decodeRuntimeCode(code);
      expect(decoded.compressed).toBe(true);
      expect(decoded.codeSize).toBe(code.length);
      expect(Buffer.compare(decoded.wasm, data)).toBe(0);
    }
  });

  test.each(BACKENDS)('SubstrateRuntime.create takes compressed code (%s)', async (backend) => {
    const runtime = await SubstrateRuntime.create({ code: zstdStored(await MODULE), backend });
    expect(runtime.backend).toBe(backend);
    expect(runtime.code).toEqual({ compressed: true, codeSize: zstdStored(await MODULE).length, wasmSize: (await MODULE).length });
  });
});

describeWithShared('runtimes/westend-runtime-v9300.wasm', 'a real compressed runtime', (path) => {
  test('westend v9300 decompresses to its 6,348,887 bytes of wasm', () => {
    const code = readFileSync(path);
    const decoded = decodeRuntimeCode(code);
    expect(decoded.compressed).toBe(true);
    expect(decoded.wasm.length).toBe(6_348_887);
    expect([...decoded.wasm.subarray(0, 4)]).toEqual([0, 0x61, 0x73, 0x6d]);
  });

  test('a truncated copy is InvalidZstd, and a limit below its size is TooLarge', () => {
    const code = readFileSync(path);
    expectCodeError(() => decodeRuntimeCode(code.subarray(0, code.length >> 1)), 'InvalidZstd', /ends inside a block/);
    expectCodeError(() => decodeRuntimeCode(code, { maxCodeSize: 6_000_000 }), 'TooLarge', /more than the limit of 6000000/);
  });
});

/** The window a Substrate code's (first) frame declares; the frame must not be single-segment. */
function declaredWindow(code: Uint8Array): number {
  expect(code[PREFIX.length + 4]! & 0x20).toBe(0);
  const descriptor = code[PREFIX.length + 5]!;
  return 2 ** (10 + (descriptor >> 3)) * (1 + (descriptor & 7) / 8);
}

for (const spec of SHARED_CHAIN_SPECS) {
  describeWithShared(spec.file, `today's runtime code: ${spec.specName} ${spec.specVersion}, from its chain spec`, (path) => {
    let code: Uint8Array;
    beforeAll(() => {
      code = loadChainSpec(path).code;
    });

    test(`decompresses to its ${spec.wasmSize} bytes of wasm, the bytes libzstd gives`, () => {
      const decoded = decodeRuntimeCode(code);
      expect(decoded.compressed).toBe(true);
      expect(decoded.codeSize).toBe(spec.codeSize);
      expect(decoded.wasm.length).toBe(spec.wasmSize);
      expect([...decoded.wasm.subarray(0, 4)]).toEqual([0, 0x61, 0x73, 0x6d]);
      expect(Buffer.compare(decoded.wasm, zstdDecompressSync(code.subarray(PREFIX.length)))).toBe(0);
    });

    test('fzstd: in one streaming pass if its window is small, measured then decoded if not', () => {
      const { run, work } = decompressWithWork(code, DEFAULT_MAX_CODE_SIZE, 'fzstd');
      expect(run().length).toBe(spec.wasmSize);
      const passes = declaredWindow(code) > STREAMING_WINDOW_LIMIT ? 2 : 1;
      expect(work.outputBytes).toBe(passes * spec.wasmSize);
    });

    test.each(DECODERS)('%s: a limit one byte below its size is TooLarge, after no more than the limit and a block', (decoder) => {
      const { run, work } = decompressWithWork(code, spec.wasmSize - 1, decoder);
      expectCodeError(run, 'TooLarge', new RegExp(`more than the limit of ${spec.wasmSize - 1} bytes`));
      expect(work.outputBytes).toBeLessThanOrEqual(spec.wasmSize - 1 + MAX_BLOCK);
    });

    test.each(DECODERS)('%s: the same bytes', (decoder) => {
      expect(Buffer.compare(decompressWithWork(code, DEFAULT_MAX_CODE_SIZE, decoder).run(), zstdDecompressSync(code.subarray(PREFIX.length)))).toBe(0);
    });
  });
}

describe('a frame may declare any window: only its output is bounded', () => {
  const data = farRepeats();
  const code = zstdCompressed(data);

  test('the test data: libzstd compresses it only by back-references past 128 KiB', () => {
    // 500,000 pseudo-random bytes do not compress; the repeated 200,000 must have been matched.
    expect(code.length).toBeLessThan(550_000);
    expect(declaredWindow(code)).toBe(1024 * 1024);
    expect(Buffer.compare(zstdDecompressSync(code.subarray(PREFIX.length)), data)).toBe(0);
  });

  test.each([
    ['its own 1 MiB window: one streaming pass', null, 1],
    ["Paseo's 128 MiB window: measured, then decoded into the output", WINDOW_128_MIB, 2],
    ['the largest window a header can declare (3.75 TiB), which fzstd alone refuses', WINDOW_LARGEST, 2],
  ])('%s', (_what, descriptor, passes) => {
    const input = descriptor === null ? code : withWindow(code, descriptor);
    const { run, work } = decompressWithWork(input, DEFAULT_MAX_CODE_SIZE, 'fzstd');
    expect(Buffer.compare(run(), data)).toBe(0);
    expect(work.outputBytes).toBe(passes * data.length);
    expect(Buffer.compare(decodeRuntimeCode(input).wasm, data)).toBe(0);
  });

  test('the limit is exact for a large-window frame too', () => {
    const input = withWindow(code, WINDOW_128_MIB);
    expect(decodeRuntimeCode(input, { maxCodeSize: data.length }).wasm.length).toBe(data.length);
    expectCodeError(() => decodeRuntimeCode(input, { maxCodeSize: data.length - 1 }), 'TooLarge', /more than the limit/);
  });

  test('a checksum after the last block is kept when the header is rewritten', () => {
    const frame = zstdCompressSync(data, {
      params: { [zlibConstants.ZSTD_c_contentSizeFlag]: 0, [zlibConstants.ZSTD_c_checksumFlag]: 1 },
    });
    expect(frame[4]! & 0x04).toBe(0x04);
    const input = withWindow(Uint8Array.from([...PREFIX, ...frame]), WINDOW_128_MIB);
    expect(Buffer.compare(decodeRuntimeCode(input).wasm, data)).toBe(0);
  });

  test('a single-segment frame past the streaming window is checked against its declared size', () => {
    // Single segment: the window is the content size, here 72 x 128 KiB = 9 MiB of run-length blocks.
    const blocks = 72;
    const size = blocks * MAX_BLOCK;
    expect(size).toBeGreaterThan(STREAMING_WINDOW_LIMIT);
    const frame = (declared: number): Uint8Array => {
      const runs = zstdBomb(blocks).subarray(PREFIX.length + 6); // its blocks, after magic, descriptor and window
      return zstdHeader(0x80 | 0x20, [declared & 0xff, (declared >> 8) & 0xff, (declared >> 16) & 0xff, declared >>> 24], [...runs]);
    };
    const { run, work } = decompressWithWork(frame(size), DEFAULT_MAX_CODE_SIZE, 'fzstd');
    const output = run();
    expect(output.length).toBe(size);
    expect(output.every((byte) => byte === 0x41)).toBe(true);
    expect(work.outputBytes).toBe(2 * size);
    expect(Buffer.compare(decompressWithWork(frame(size), DEFAULT_MAX_CODE_SIZE, 'native').run(), output)).toBe(0);
    expectCodeError(() => decodeRuntimeCode(frame(size + 1)), 'InvalidZstd', new RegExp(`declares ${size + 1} bytes of content but decompresses to ${size}`));
  });

  test('frames with small and large windows (and a skippable frame) are concatenated, under one limit', () => {
    const small = zstdStored(data.subarray(0, 1000)).subarray(PREFIX.length);
    const large = withWindow(code, WINDOW_128_MIB).subarray(PREFIX.length);
    const skippable = [0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3];
    const input = Uint8Array.from([...PREFIX, ...small, ...skippable, ...large, ...small]);
    const expected = Buffer.concat([data.subarray(0, 1000), data, data.subarray(0, 1000)]);
    expect(Buffer.compare(decodeRuntimeCode(input).wasm, expected)).toBe(0);
    expect(decodeRuntimeCode(input, { maxCodeSize: expected.length }).wasm.length).toBe(expected.length);
    expectCodeError(() => decodeRuntimeCode(input, { maxCodeSize: expected.length - 1 }), 'TooLarge', /more than the limit/);
  });
});

describe('corrupt streams are InvalidZstd', () => {
  test.each([
    ['nothing after the prefix', zstdHeader(0, []).subarray(0, 8), /nothing after the prefix/],
    ['not a frame', Uint8Array.from([...zstdHeader(0, []).subarray(0, 8), 1, 2, 3, 4, 5, 6]), /does not start a zstd frame/],
    ['the reserved bit', zstdHeader(0x28, [0], EMPTY_LAST_BLOCK), /reserved bit/],
    ['a dictionary', zstdHeader(0x21, [7, 0], EMPTY_LAST_BLOCK), /dictionary/],
    ['a reserved block type', zstdHeader(0x20, [0], [0x07, 0, 0]), /reserved type/],
    ['a block past the window', zstdHeader(0x20, [4], [(8 << 3) | 1, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]), /above the maximum of 4/],
    ['a missing block', zstdHeader(0x20, [4]), /ends inside a block header/],
  ])('%s', (_what, code, message) => {
    expectCodeError(() => decodeRuntimeCode(code), 'InvalidZstd', message);
  });

  test.each(DECODERS)('%s: a frame whose content does not match its declared size', (decoder) => {
    // Declares 8 bytes (single segment, 1-byte size) but holds a 4-byte raw block.
    const code = zstdHeader(0x20, [8], [(4 << 3) | 1, 0, 0, 1, 2, 3, 4]);
    expectCodeError(decompressWithWork(code, DEFAULT_MAX_CODE_SIZE, decoder).run, 'InvalidZstd', /declares 8 bytes of content but decompresses to 4/);
  });

  test('a wrong checksum: refused by libzstd, even though fzstd (which skips checksums) would take the frame', () => {
    const frame = Uint8Array.from(zstdCompressSync(Buffer.from('hello, runtime'), { params: { [zlibConstants.ZSTD_c_checksumFlag]: 1 } }));
    frame[frame.length - 1]! ^= 0xff;
    const code = Uint8Array.from([...PREFIX, ...frame]);
    expect(new TextDecoder().decode(decompressWithWork(code, DEFAULT_MAX_CODE_SIZE, 'fzstd').run())).toBe('hello, runtime');
    expectCodeError(decompressWithWork(code, DEFAULT_MAX_CODE_SIZE, 'native').run, 'InvalidZstd', /corrupted/);
  });

  test('garbage inside a compressed block is reported, not thrown as something else', () => {
    // A compressed block (type 2) of random bytes.
    const junk = [0xff, 0x13, 0x77, 0x00, 0x42, 0x99, 0x10, 0x01];
    const code = zstdHeader(0x00, [7 << 3], [(junk.length << 3) | (2 << 1) | 1, 0, 0, ...junk]);
    expectCodeError(() => decodeRuntimeCode(code), 'InvalidZstd', /corrupted|malformed/);
  });
});

describe('decompression bombs stop at the limit', () => {
  test.each(DECODERS)('%s: 2 KB of input that expands to 60 MiB is refused at the 50 MiB default, after the limit and a block', (decoder) => {
    const bomb = zstdBomb(480); // 480 x 128 KiB = 60 MiB
    expect(bomb.length).toBeLessThan(2000);
    expectCodeError(() => decodeRuntimeCode(bomb), 'TooLarge', new RegExp(`more than the limit of ${DEFAULT_MAX_CODE_SIZE} bytes`));
    const { run, work } = decompressWithWork(bomb, DEFAULT_MAX_CODE_SIZE, decoder);
    expectCodeError(run, 'TooLarge', /more than the limit/);
    expect(work.outputBytes).toBeGreaterThan(DEFAULT_MAX_CODE_SIZE);
    expect(work.outputBytes).toBeLessThanOrEqual(DEFAULT_MAX_CODE_SIZE + MAX_BLOCK);
  });

  test.each([
    ["Paseo's 128 MiB", WINDOW_128_MIB],
    ['the largest (3.75 TiB)', WINDOW_LARGEST],
  ])('the same bomb declaring %s window is refused after the same work (the measure pass)', (_what, descriptor) => {
    const { run, work } = decompressWithWork(withWindow(zstdBomb(480), descriptor));
    expectCodeError(run, 'TooLarge', new RegExp(`more than the limit of ${DEFAULT_MAX_CODE_SIZE} bytes`));
    expect(work.outputBytes).toBeLessThanOrEqual(DEFAULT_MAX_CODE_SIZE + MAX_BLOCK);
  });

  test('1 MiB of input that expands to 32 GiB is stopped at the limit, not decoded in full', () => {
    const bomb = withWindow(zstdBomb(256 * 1024), WINDOW_128_MIB); // 2^18 x 128 KiB = 32 GiB
    const limit = 4 * 1024 * 1024;
    const { run, work } = decompressWithWork(bomb, limit);
    expectCodeError(run, 'TooLarge', new RegExp(`more than the limit of ${limit} bytes`));
    expect(work.outputBytes).toBeLessThanOrEqual(limit + MAX_BLOCK);
  });

  test('a bomb of compressed blocks (matches, not runs) with a 128 MiB window stops at the limit too', () => {
    // 60 MiB repeating a 1 KiB pattern: libzstd writes compressed blocks of long matches.
    const pattern = farRepeats().subarray(0, 1024);
    const plain = new Uint8Array(60 * 1024 * 1024);
    for (let i = 0; i < plain.length; i += pattern.length) plain.set(pattern, i);
    const frame = zstdCompressSync(plain, { params: { [zlibConstants.ZSTD_c_contentSizeFlag]: 0 } });
    const bomb = withWindow(Uint8Array.from([...PREFIX, ...frame]), WINDOW_128_MIB);
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect((bomb[PREFIX.length + 6]! >> 1) & 3).toBe(2); // its first block is a compressed one
    const { run, work } = decompressWithWork(bomb);
    expectCodeError(run, 'TooLarge', new RegExp(`more than the limit of ${DEFAULT_MAX_CODE_SIZE} bytes`));
    expect(work.outputBytes).toBeLessThanOrEqual(DEFAULT_MAX_CODE_SIZE + MAX_BLOCK);
  });

  test.each(DECODERS)('%s: the limit is exact', (decoder) => {
    const limit = 8 * 128 * 1024;
    expect(decompressWithWork(zstdBomb(8), limit, decoder).run().length).toBe(limit);
    expectCodeError(decompressWithWork(zstdBomb(9), limit, decoder).run, 'TooLarge', /more than the limit/);
  });

  test('a header that declares a huge content size is refused before anything is allocated', () => {
    // Content size in 8 bytes: 2^40. Not single segment, window 128 KiB.
    const code = zstdHeader(0xc0, [7 << 3, 0, 0, 0, 0, 0, 1, 0, 0], EMPTY_LAST_BLOCK);
    expectCodeError(() => decodeRuntimeCode(code), 'TooLarge', /declare 1099511627776 bytes of content/);
  });

  test('a header that asks for a 2 GiB window but holds nothing decodes to nothing (the window is never allocated)', () => {
    const code = zstdHeader(0x00, [21 << 3], EMPTY_LAST_BLOCK);
    expect(decodeRuntimeCode(code).wasm.length).toBe(0);
  });

  test('raw code past the limit is refused too', async () => {
    const wasm = await MODULE;
    expectCodeError(() => decodeRuntimeCode(wasm, { maxCodeSize: wasm.length - 1 }), 'TooLarge', /more than the limit/);
  });

  test.each(BACKENDS)('SubstrateRuntime.create rejects a bomb with the same error (%s)', async (backend) => {
    await expect(SubstrateRuntime.create({ code: zstdBomb(480), backend })).rejects.toMatchObject({ name: 'RuntimeCodeError', kind: 'TooLarge' });
  });
});
