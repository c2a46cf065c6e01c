/**
 * A minimal reader of a module's imports, exported function signatures and start section, so that the harness can tell *before*
 * asking the VM which modules fall into a skip class (imports the VM cannot offer, a start
 * function) and compare that with the VM's refusal.
 *
 * It deliberately does not use the library's own header reader: the harness must only use the
 * public API, and a second, independent reader is what makes the comparison worth anything.
 *
 * @module
 */

import { Cursor } from './cursor.js';

/** The kind of an import, as the binary format numbers them. */
export type ImportKind = 'function' | 'table' | 'memory' | 'global';

/** One import of a module. */
export interface ModuleImport {
  readonly module: string;
  readonly name: string;
  readonly kind: ImportKind;
}

/** One exported function and its signature (value types as the text format names them). */
export interface FunctionExport {
  readonly name: string;
  readonly params: readonly string[];
  readonly results: readonly string[];
}

/** What the harness needs to know about a module before instantiating it. */
export interface ModuleHeader {
  readonly imports: readonly ModuleImport[];
  /** Whether the module has a start section. */
  readonly hasStart: boolean;
  /** The exported functions, with their signatures. */
  readonly functionExports: readonly FunctionExport[];
}

const VALUE_TYPES: Readonly<Record<number, string>> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };

const IMPORT_KINDS: readonly ImportKind[] = ['function', 'table', 'memory', 'global'];

/**
 * The imports and start function of `bytes`, or `null` if the header cannot be read (a malformed
 * module: the VM must refuse it anyway, and no skip class applies).
 */
export function readModuleHeader(bytes: Uint8Array): ModuleHeader | null {
  try {
    return read(bytes);
  } catch {
    return null;
  }
}

function read(bytes: Uint8Array): ModuleHeader {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new Error('not a binary module');
  }
  const imports: ModuleImport[] = [];
  let hasStart = false;
  const types: { params: string[]; results: string[] }[] = [];
  /** The type of every function, imported ones first. */
  const functionTypes: number[] = [];
  const functionExports: FunctionExport[] = [];
  const valueType = (r: Cursor): string => {
    const byte = r.byte();
    return VALUE_TYPES[byte] ?? `0x${byte.toString(16)}`;
  };
  const top = new Cursor(bytes, 8, bytes.length);
  while (top.pos < top.end) {
    const id = top.byte();
    const size = top.u32();
    const end = top.pos + size;
    if (end > bytes.length) throw new Error('section past the end');
    if (id === 2) {
      const r = new Cursor(bytes, top.pos, end);
      for (let i = 0, n = r.u32(); i < n; i++) {
        const module = r.name();
        const name = r.name();
        const kindByte = r.byte();
        const kind = IMPORT_KINDS[kindByte];
        if (kind === undefined) throw new Error(`unknown import kind ${kindByte}`);
        if (kind === 'function') functionTypes.push(r.u32());
        else if (kind === 'table') {
          r.byte();
          r.limits();
        } else if (kind === 'memory') r.limits();
        else {
          r.byte();
          r.byte();
        }
        imports.push({ module, name, kind });
      }
    } else if (id === 1) {
      const r = new Cursor(bytes, top.pos, end);
      for (let i = 0, n = r.u32(); i < n; i++) {
        if (r.byte() !== 0x60) throw new Error('not a function type');
        const params: string[] = [];
        for (let k = 0, count = r.u32(); k < count; k++) params.push(valueType(r));
        const results: string[] = [];
        for (let k = 0, count = r.u32(); k < count; k++) results.push(valueType(r));
        types.push({ params, results });
      }
    } else if (id === 3) {
      const r = new Cursor(bytes, top.pos, end);
      for (let i = 0, n = r.u32(); i < n; i++) functionTypes.push(r.u32());
    } else if (id === 7) {
      const r = new Cursor(bytes, top.pos, end);
      for (let i = 0, n = r.u32(); i < n; i++) {
        const name = r.name();
        const kind = r.byte();
        const index = r.u32();
        const type = kind === 0 ? types[functionTypes[index] ?? -1] : undefined;
        if (type !== undefined) functionExports.push({ name, ...type });
      }
    } else if (id === 8) {
      hasStart = true;
    }
    top.pos = end;
  }
  return { imports, hasStart, functionExports };
}
