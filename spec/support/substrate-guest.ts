/**
 * Test helpers for the Substrate host layer: tiny runtimes written in WAT, custom sections,
 * and zstd frames built by hand (so that the tests control every byte of the compressed code).
 */
import { writeU32 } from '../../lib/base/binary-reader.js';
import { Bytes, Struct, Tuple, Vector, str, u32, u8 } from 'scale-ts';
import { wat } from './wat.js';

/** Where the guests' heap starts (their `__heap_base`). */
export const GUEST_HEAP_BASE = 4096;

/**
 * A minimal Substrate-shaped runtime: imports `env.memory` (1 page), exports `__heap_base`,
 * declares `imports` (WAT import fields) and the entry points in `body`. `$ps` packs a pointer
 * and a length into a pointer-size.
 */
export function guestWat(imports: string, body: string, extra = ''): string {
  return `(module
  (import "env" "memory" (memory 1))
  ${imports}
  (global (export "__heap_base") i32 (i32.const ${GUEST_HEAP_BASE}))
  (func $ps (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $len)) (i64.const 32)) (i64.extend_i32_u (local.get $ptr))))
  ${extra}
  ${body})`;
}

/**
 * {@link guestWat}, compiled, with the version custom sections of {@link GUEST_VERSION} (a
 * runtime must have a version; pass `versioned: false` for one without).
 */
export async function guest(imports: string, body: string, extra = '', versioned = true): Promise<Uint8Array> {
  const module = await wat(guestWat(imports, body, extra));
  return versioned ? withCustomSections(module, versionSections(GUEST_VERSION)) : module;
}

/** A runtime version as the tests write it: APIs as `[8-byte id, version]`. */
export interface TestVersion {
  specName: string;
  implName: string;
  authoringVersion: number;
  specVersion: number;
  implVersion: number;
  apis: [Uint8Array, number][];
  transactionVersion?: number;
  stateVersion?: number;
}

/** The version the test guests carry. The API id is Core's. */
export const GUEST_VERSION: TestVersion = {
  specName: 'guest',
  implName: 'test-guest',
  authoringVersion: 1,
  specVersion: 7,
  implVersion: 2,
  apis: [[Uint8Array.from([0xdf, 0x6a, 0xcb, 0x68, 0x99, 0x07, 0x60, 0x9b]), 4]],
  transactionVersion: 3,
  stateVersion: 1,
};

const BASE = { specName: str, implName: str, authoringVersion: u32, specVersion: u32, implVersion: u32, apis: Vector(Tuple(Bytes(8), u32)) };

/** SCALE encoding of `version`, with as many trailing fields as it has. */
export function encodeVersion(version: TestVersion): Uint8Array {
  if (version.stateVersion !== undefined) return Struct({ ...BASE, transactionVersion: u32, stateVersion: u8 }).enc(version as Required<TestVersion>);
  if (version.transactionVersion !== undefined) return Struct({ ...BASE, transactionVersion: u32 }).enc(version as Required<TestVersion>);
  return Struct(BASE).enc(version);
}

/** The `runtime_version` (APIs left empty, as runtimes do) and `runtime_apis` sections for `version`. */
export function versionSections(version: TestVersion): { name: string; data: Uint8Array }[] {
  const apis = version.apis.flatMap(([id, v]) => [...id, v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24]);
  return [
    { name: 'runtime_version', data: encodeVersion({ ...version, apis: [] }) },
    { name: 'runtime_apis', data: Uint8Array.from(apis) },
  ];
}

/** `module` with custom sections appended (section id 0: a name, then the payload). */
export function withCustomSections(module: Uint8Array, sections: readonly { name: string; data: Uint8Array }[]): Uint8Array {
  const parts: number[] = [...module];
  for (const { name, data } of sections) {
    const nameBytes = new TextEncoder().encode(name);
    const payload = [...leb(nameBytes.length), ...nameBytes, ...data];
    parts.push(0, ...leb(payload.length), ...payload);
  }
  return Uint8Array.from(parts);
}

function leb(value: number): number[] {
  const out: number[] = [];
  writeU32(out, value);
  return out;
}

/** Substrate's prefix for zstd-compressed code. */
export const PREFIX = [0x52, 0xbc, 0x53, 0x76, 0x46, 0xdb, 0x8e, 0x05];

/** The zstd frame magic number. */
const MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

function blockHeader(size: number, type: 0 | 1 | 2, last: boolean): number[] {
  const header = (size << 3) | (type << 1) | (last ? 1 : 0);
  return [header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff];
}

/**
 * `data` as Substrate code: the prefix, then one zstd frame of raw (stored) blocks of at most
 * 128 KiB that declares its content size (4 bytes) and no window (single segment).
 */
export function zstdStored(data: Uint8Array): Uint8Array {
  const size = data.length;
  // Frame header descriptor: content size in 4 bytes (flag 2), single segment.
  const out: number[] = [...PREFIX, ...MAGIC, (2 << 6) | 0x20, size & 0xff, (size >> 8) & 0xff, (size >> 16) & 0xff, size >>> 24];
  const BLOCK = 128 * 1024;
  let offset = 0;
  do {
    const chunk = data.subarray(offset, offset + BLOCK);
    offset += chunk.length;
    out.push(...blockHeader(chunk.length, 0, offset >= size));
    for (const byte of chunk) out.push(byte);
  } while (offset < size);
  return Uint8Array.from(out);
}

/**
 * A decompression bomb as Substrate code: one frame with a 128 KiB window and no declared
 * content size, made of `blocks` run-length blocks of 128 KiB each (4 bytes of input apiece).
 */
export function zstdBomb(blocks: number): Uint8Array {
  // Descriptor 0: no content size, not single segment, no checksum; window 2^(10+7) = 128 KiB.
  const out: number[] = [...PREFIX, ...MAGIC, 0x00, 7 << 3];
  for (let i = 0; i < blocks; i++) out.push(...blockHeader(128 * 1024, 1, i === blocks - 1), 0x41);
  return Uint8Array.from(out);
}

/** A frame header only: descriptor and the bytes after it (window, dictionary, content size). */
export function zstdHeader(descriptor: number, rest: readonly number[], blocks: readonly number[] = []): Uint8Array {
  return Uint8Array.from([...PREFIX, ...MAGIC, descriptor, ...rest, ...blocks]);
}

/** The last-block header of an empty raw block. */
export const EMPTY_LAST_BLOCK = blockHeader(0, 0, true);
