/**
 * A minimal writer of WebAssembly binaries, for the "resource" cases: modules that are valid
 * (or nearly so) but extreme in one dimension — tens of thousands of nested blocks, locals,
 * functions or imports, a 4 GiB memory, a huge `br_table`. The text format and wabt are too
 * slow or too strict for those, so they are written byte by byte.
 *
 * Only what those cases need is here: types, function imports, functions, one memory, one
 * table, exports, code and data.
 *
 * @module
 */

import { writeU32 } from '../../lib/base/binary-reader.js';
import { WASM_HEADER } from './wasm-sections.js';

/** The value type code of `i32`. */
export const I32 = 0x7f;
/** The value type code of `i64`. */
export const I64 = 0x7e;

/** Unsigned LEB128 of a u32. */
export function u32(value: number): number[] {
  const out: number[] = [];
  writeU32(out, value);
  return out;
}

/** Signed LEB128 of an i32. */
export function s32(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** A length-prefixed UTF-8 name. */
export function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...u32(bytes.length), ...bytes];
}

/** A vector: count, then the items' bytes. */
function vec(items: readonly (readonly number[])[]): number[] {
  const out = u32(items.length);
  for (const item of items) for (const b of item) out.push(b);
  return out;
}

function section(id: number, payload: readonly number[] | Uint8Array): Uint8Array {
  const size = u32(payload.length);
  const out = new Uint8Array(1 + size.length + payload.length);
  out[0] = id;
  out.set(size, 1);
  out.set(payload, 1 + size.length);
  return out;
}

/** A function type. */
export interface FuncType {
  readonly params: readonly number[];
  readonly results: readonly number[];
}

/** A defined function: its type index, its extra locals (as [count, type] runs) and its body (without the final `end`). */
export interface FuncDef {
  readonly type: number;
  readonly locals?: readonly (readonly [count: number, type: number])[];
  readonly body: Uint8Array | readonly number[];
}

/** What {@link buildModule} writes. Indices follow the binary format (imports first). */
export interface ModuleSpec {
  readonly types: readonly FuncType[];
  /** Function imports: module, name, type index. */
  readonly imports?: readonly (readonly [string, string, number])[];
  readonly functions?: readonly FuncDef[];
  /** Memory limits in pages; exported as `memory` unless `exportMemory` is false. */
  readonly memory?: { readonly initial: number; readonly maximum?: number };
  readonly exportMemory?: boolean;
  /** A funcref table's size. */
  readonly table?: number;
  /** Function exports: name, function index. */
  readonly exports?: readonly (readonly [string, number])[];
  /** Active data segments: offset, bytes. */
  readonly data?: readonly (readonly [number, Uint8Array])[];
}

/** The binary encoding of `spec`. */
export function buildModule(spec: ModuleSpec): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.from(WASM_HEADER)];
  parts.push(section(1, vec(spec.types.map((t) => [0x60, ...vec(t.params.map((p) => [p])), ...vec(t.results.map((r) => [r]))]))));
  if (spec.imports !== undefined && spec.imports.length > 0) {
    parts.push(section(2, vec(spec.imports.map(([m, n, t]) => [...name(m), ...name(n), 0x00, ...u32(t)]))));
  }
  const functions = spec.functions ?? [];
  if (functions.length > 0) parts.push(section(3, vec(functions.map((f) => u32(f.type)))));
  if (spec.table !== undefined) parts.push(section(4, [1, 0x70, 0x00, ...u32(spec.table)]));
  if (spec.memory !== undefined) {
    const { initial, maximum } = spec.memory;
    parts.push(section(5, [1, ...(maximum === undefined ? [0x00, ...u32(initial)] : [0x01, ...u32(initial), ...u32(maximum)])]));
  }
  const exports: number[][] = (spec.exports ?? []).map(([n, index]) => [...name(n), 0x00, ...u32(index)]);
  if (spec.memory !== undefined && spec.exportMemory !== false) exports.push([...name('memory'), 0x02, 0x00]);
  if (exports.length > 0) parts.push(section(7, vec(exports)));
  if (functions.length > 0) {
    const bodies = functions.map((f) => {
      const locals = vec((f.locals ?? []).map(([count, type]) => [...u32(count), type]));
      const body = new Uint8Array(locals.length + f.body.length + 1);
      body.set(locals);
      body.set(f.body, locals.length);
      body[body.length - 1] = 0x0b;
      return body;
    });
    const payload: number[] = u32(bodies.length);
    const total = payload.length + bodies.reduce((n, b) => n + u32(b.length).length + b.length, 0);
    const code = new Uint8Array(total);
    code.set(payload);
    let at = payload.length;
    for (const body of bodies) {
      const size = u32(body.length);
      code.set(size, at);
      at += size.length;
      code.set(body, at);
      at += body.length;
    }
    parts.push(section(10, code));
  }
  if (spec.data !== undefined && spec.data.length > 0) {
    const segments = spec.data.map(([offset, bytes]) => [0x00, 0x41, ...s32(offset), 0x0b, ...u32(bytes.length), ...bytes]);
    parts.push(section(11, vec(segments)));
  }
  return concat(...parts);
}

/** The concatenation of `parts`. */
export function concat(...parts: readonly (Uint8Array | readonly number[])[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** `count` copies of `unit`, concatenated. */
export function repeat(unit: readonly number[], count: number): Uint8Array {
  const out = new Uint8Array(unit.length * count);
  for (let i = 0; i < count; i++) out.set(unit, i * unit.length);
  return out;
}

/** Concatenates byte arrays and byte lists. */
export function bytesOf(...parts: (Uint8Array | readonly number[])[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
