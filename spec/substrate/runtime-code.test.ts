/**
 * Runtime code: raw wasm passes through, zstd with Substrate's prefix is decompressed, corrupt
 * streams are `InvalidZstd`, and nothing (an expanding stream, a lying header, a huge window)
 * can make decompression go past the limit.
 */
import { readFileSync } from 'node:fs';
import {
  DEFAULT_MAX_CODE_SIZE,
  RuntimeCodeError,
  SubstrateRuntime,
  decodeRuntimeCode,
  isCompressedRuntimeCode,
  toHex,
} from '../../lib/substrate/index.js';
import { describeWithShared } from '../support/shared.js';
import { EMPTY_LAST_BLOCK, guest, zstdBomb, zstdHeader, zstdStored } from '../support/substrate-guest.js';

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

  test('SubstrateRuntime.create takes compressed code', async () => {
    const runtime = await SubstrateRuntime.create({ code: zstdStored(await MODULE) });
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

  test('a frame whose content does not match its declared size', () => {
    // Declares 8 bytes (single segment, 1-byte size) but holds a 4-byte raw block.
    const code = zstdHeader(0x20, [8], [(4 << 3) | 1, 0, 0, 1, 2, 3, 4]);
    expectCodeError(() => decodeRuntimeCode(code), 'InvalidZstd', /declares 8 bytes of content but decompresses to 4/);
  });

  test('garbage inside a compressed block is reported, not thrown as something else', () => {
    // A compressed block (type 2) of random bytes.
    const junk = [0xff, 0x13, 0x77, 0x00, 0x42, 0x99, 0x10, 0x01];
    const code = zstdHeader(0x00, [7 << 3], [(junk.length << 3) | (2 << 1) | 1, 0, 0, ...junk]);
    expectCodeError(() => decodeRuntimeCode(code), 'InvalidZstd', /corrupted|malformed/);
  });
});

describe('decompression bombs stop at the limit', () => {
  test('2 KB of input that expands to 60 MiB is refused at the 50 MiB default, without expanding it all', () => {
    const bomb = zstdBomb(480); // 480 x 128 KiB = 60 MiB
    expect(bomb.length).toBeLessThan(2000);
    const started = performance.now();
    expectCodeError(() => decodeRuntimeCode(bomb), 'TooLarge', new RegExp(`more than the limit of ${DEFAULT_MAX_CODE_SIZE} bytes`));
    expect(performance.now() - started).toBeLessThan(5000);
  });

  test('the limit is exact', () => {
    const limit = 8 * 128 * 1024;
    expect(decodeRuntimeCode(zstdBomb(8), { maxCodeSize: limit }).wasm.length).toBe(limit);
    expectCodeError(() => decodeRuntimeCode(zstdBomb(9), { maxCodeSize: limit }), 'TooLarge', /more than the limit/);
  });

  test('a header that declares a huge content size is refused before anything is allocated', () => {
    // Content size in 8 bytes: 2^40. Not single segment, window 128 KiB.
    const code = zstdHeader(0xc0, [7 << 3, 0, 0, 0, 0, 0, 1, 0, 0], EMPTY_LAST_BLOCK);
    expectCodeError(() => decodeRuntimeCode(code), 'TooLarge', /declare 1099511627776 bytes of content/);
  });

  test('a header that asks for a 2 GiB window is refused', () => {
    const code = zstdHeader(0x00, [21 << 3], EMPTY_LAST_BLOCK);
    expectCodeError(() => decodeRuntimeCode(code), 'TooLarge', /window of 2147483648 bytes/);
  });

  test('raw code past the limit is refused too', async () => {
    const wasm = await MODULE;
    expectCodeError(() => decodeRuntimeCode(wasm, { maxCodeSize: wasm.length - 1 }), 'TooLarge', /more than the limit/);
  });

  test('SubstrateRuntime.create rejects a bomb with the same error', async () => {
    await expect(SubstrateRuntime.create({ code: zstdBomb(480) })).rejects.toMatchObject({ name: 'RuntimeCodeError', kind: 'TooLarge' });
  });
});
