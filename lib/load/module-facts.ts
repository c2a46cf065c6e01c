/**
 * What the VM needs to know about a module, read from its headers.
 *
 * Only the header sections are decoded (types, imports, functions, tables, memories, globals,
 * exports, start); the code and data sections, which make up almost all of a runtime, are
 * skipped by their sizes. The facts are plain data, so they can also be serialised with the
 * instrumented module.
 *
 * Why a walk of our own rather than `@webassemblyjs/wasm-parser` (which the library used at
 * first): even told to skip code and data, that parser builds an AST of every header entry and
 * took 59 ms (89 ms in a fresh process) on westend's 6,654 functions, twice what the engine
 * takes to compile the whole module; this walk takes about a millisecond. It also reads names
 * with code points above U+FFFF, which the parser refused, and it keeps the core free of a
 * dependency browser bundles would have to carry.
 *
 * @module
 */

import { BinaryFormatError, BinaryReader, splitSections } from '../base/binary-reader.js';
import type { DeclaredMemory, ExternalKind, GlobalFact, MemoryLimits } from '../base/components.js';
import type { RawSignature } from '../base/values.js';

/** One import of the module, in declaration order. */
export interface ImportFact {
  readonly module: string;
  readonly name: string;
  readonly kind: ExternalKind;
  /** For functions. */
  readonly signature?: RawSignature;
  /** For memories. */
  readonly limits?: MemoryLimits;
}

/** One export of the module, in declaration order. */
export interface ExportFact {
  readonly name: string;
  readonly kind: ExternalKind;
  /** Index in the index space of its kind (imports first). */
  readonly index: number;
}

/** The facts about a module that the VM relies on. */
export interface ModuleFacts {
  readonly imports: readonly ImportFact[];
  readonly exports: readonly ExportFact[];
  /** The signature of every function, imported ones first. */
  readonly functions: readonly RawSignature[];
  /** Every global, imported ones first. */
  readonly globals: readonly GlobalFact[];
  /** Every memory, imported ones first. */
  readonly memories: readonly DeclaredMemory[];
  /** Number of tables, imported ones included. */
  readonly tables: number;
  /** Whether the module declares a start function. */
  readonly hasStart: boolean;
  /** The start function's index, or `null`. */
  readonly startFunction: number | null;
}

const EXTERNAL_KINDS: readonly ExternalKind[] = ['function', 'table', 'memory', 'global'];

/** The name of a value type byte, as the text format writes it. */
function valueTypeName(byte: number): string {
  switch (byte) {
    case 0x7f:
      return 'i32';
    case 0x7e:
      return 'i64';
    case 0x7d:
      return 'f32';
    case 0x7c:
      return 'f64';
    case 0x7b:
      return 'v128';
    case 0x70:
      return 'funcref';
    case 0x6f:
      return 'externref';
    default:
      return `0x${byte.toString(16)}`;
  }
}

function readLimits(r: BinaryReader): MemoryLimits {
  const flags = r.u8();
  const initial = r.u32();
  return { initial, maximum: (flags & 1) !== 0 ? r.u32() : null };
}

/** Skips a constant expression (a global's initialiser): instructions up to the final `end`. */
function skipConstantExpression(r: BinaryReader): void {
  for (;;) {
    const op = r.u8();
    if (op === 0x0b) return;
    if (op === 0x41 || op === 0x42 || op === 0x23 || op === 0xd2) r.skipLeb(); // i32/i64.const, global.get, ref.func
    else if (op === 0x43) r.skip(4);
    else if (op === 0x44) r.skip(8);
    else if (op === 0xd0) r.u8(); // ref.null t
    else if (op === 0xfd) (r.skipLeb(), r.skip(16)); // v128.const
    // Anything else in a valid constant expression is an operator without immediates
    // (extended constant expressions: i32.add, ...).
  }
}

/**
 * Reads the facts of a module the engine has validated (or is validating: a malformed header is
 * a {@link BinaryFormatError}, which the caller reports as invalid wasm).
 */
export function readModuleFacts(bytes: Uint8Array): ModuleFacts {
  const types: RawSignature[] = [];
  const imports: ImportFact[] = [];
  const exports: ExportFact[] = [];
  const functions: RawSignature[] = [];
  const globals: GlobalFact[] = [];
  const memories: DeclaredMemory[] = [];
  let tables = 0;
  let hasStart = false;
  let startFunction: number | null = null;
  const typeAt = (index: number): RawSignature => {
    const type = types[index];
    if (type === undefined) throw new BinaryFormatError(`type index ${index} out of range`);
    return type;
  };

  for (const section of splitSections(bytes)) {
    const r = new BinaryReader(bytes, section.payloadStart, section.end);
    switch (section.id) {
      case 1: // type
        for (let i = 0, n = r.u32(); i < n; i++) {
          const form = r.u8();
          if (form !== 0x60) throw new BinaryFormatError(`type ${i} is not a function type`);
          const params: string[] = [];
          for (let k = 0, count = r.u32(); k < count; k++) params.push(valueTypeName(r.u8()));
          const results: string[] = [];
          for (let k = 0, count = r.u32(); k < count; k++) results.push(valueTypeName(r.u8()));
          types.push({ params, results });
        }
        break;
      case 2: // import
        for (let i = 0, n = r.u32(); i < n; i++) {
          const module = r.name();
          const name = r.name();
          const kind = r.u8();
          if (kind === 0) {
            const signature = typeAt(r.u32());
            functions.push(signature);
            imports.push({ module, name, kind: 'function', signature });
          } else if (kind === 1) {
            r.u8();
            readLimits(r);
            tables++;
            imports.push({ module, name, kind: 'table' });
          } else if (kind === 2) {
            const limits = readLimits(r);
            memories.push({ imported: true, limits });
            imports.push({ module, name, kind: 'memory', limits });
          } else if (kind === 3) {
            globals.push({ valueType: valueTypeName(r.u8()), mutable: r.u8() === 1 });
            imports.push({ module, name, kind: 'global' });
          } else {
            throw new BinaryFormatError(`unsupported import kind ${kind}`);
          }
        }
        break;
      case 3: // function
        for (let i = 0, n = r.u32(); i < n; i++) functions.push(typeAt(r.u32()));
        break;
      case 4: // table
        tables += r.u32();
        break;
      case 5: // memory
        for (let i = 0, n = r.u32(); i < n; i++) memories.push({ imported: false, limits: readLimits(r) });
        break;
      case 6: // global
        for (let i = 0, n = r.u32(); i < n; i++) {
          globals.push({ valueType: valueTypeName(r.u8()), mutable: r.u8() === 1 });
          skipConstantExpression(r);
        }
        break;
      case 7: // export
        for (let i = 0, n = r.u32(); i < n; i++) {
          const name = r.name();
          const kind = EXTERNAL_KINDS[r.u8()];
          if (kind === undefined) throw new BinaryFormatError(`unsupported export kind in export ${i}`);
          exports.push({ name, kind, index: r.u32() });
        }
        break;
      case 8: // start
        hasStart = true;
        startFunction = r.u32();
        break;
    }
  }
  return { imports, exports, functions, globals, memories, tables, hasStart, startFunction };
}
