/**
 * The outline of a module the harness needs to drive it: the signature of every function, the
 * imports, the exports, the memory and the exported globals.
 *
 * The engine's `WebAssembly.Module.imports/exports` do not give types (so the harness could not
 * make arguments for an export) and do not show a memory that is not exported, hence this small
 * reader. It understands what the VM's `'modern'` feature set allows (number and reference
 * value types, bulk memory's segments); anything else throws, and the caller treats the module
 * as unusable.
 *
 * @module
 */

import type { ValueType } from '../../lib/index.js';
import { ByteReader, SectionId, splitSections } from './wasm-binary.js';

/** A value type: a number type, or a reference (which never crosses the VM's API). */
export type ShapeType = ValueType | 'funcref' | 'externref';

/** A function type (multi-value: several results are possible). */
export interface FunctionType {
  readonly params: readonly ShapeType[];
  readonly results: readonly ShapeType[];
}

/** The number-typed signature of a function the host can call or provide (at most one result), or `null`. */
export function callableSignature(type: FunctionType): { params: ValueType[]; results: ValueType[] } | null {
  const isNumber = (t: ShapeType): t is ValueType => t === 'i32' || t === 'i64' || t === 'f32' || t === 'f64';
  if (type.results.length > 1 || !type.params.every(isNumber) || !type.results.every(isNumber)) return null;
  return { params: type.params as ValueType[], results: type.results as ValueType[] };
}

/** Limits of a memory, in 64 KiB pages. */
export interface MemoryLimits {
  readonly initial: number;
  readonly maximum: number | null;
}

/** An entry of the import section. */
export type ImportEntry =
  | { readonly kind: 'function'; readonly module: string; readonly name: string; readonly type: FunctionType }
  | { readonly kind: 'memory'; readonly module: string; readonly name: string; readonly limits: MemoryLimits }
  | { readonly kind: 'table' | 'global'; readonly module: string; readonly name: string };

/** An entry of the export section. */
export interface ExportEntry {
  readonly name: string;
  readonly kind: 'function' | 'table' | 'memory' | 'global';
  readonly index: number;
}

/** A global of the module (imported or defined). */
export interface GlobalEntry {
  readonly type: ShapeType;
  readonly mutable: boolean;
}

/** See the module documentation. */
export interface ModuleShape {
  readonly imports: readonly ImportEntry[];
  /** The function imports, in function index order. */
  readonly functionImports: readonly Extract<ImportEntry, { kind: 'function' }>[];
  /** Signature of every function, imported ones first (the function index space). */
  readonly functions: readonly FunctionType[];
  readonly globals: readonly GlobalEntry[];
  readonly exports: readonly ExportEntry[];
  /** The module's memory, if any; `imported` tells whether it comes from the import section. */
  readonly memory: (MemoryLimits & { readonly imported: boolean }) | null;
  /** Number of memories (imported and defined); more than one is outside the VM's rules. */
  readonly memoryCount: number;
  readonly hasStart: boolean;
}

const VALUE_TYPES: Record<number, ShapeType> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x70: 'funcref', 0x6f: 'externref' };
const EXPORT_KINDS = ['function', 'table', 'memory', 'global'] as const;

function valueType(reader: ByteReader): ShapeType {
  const byte = reader.u8();
  const type = VALUE_TYPES[byte];
  if (type === undefined) throw new Error(`value type 0x${byte.toString(16)} is not a number or reference type`);
  return type;
}

function limits(reader: ByteReader): MemoryLimits {
  const flags = reader.u8();
  if (flags !== 0 && flags !== 1) throw new Error(`limits flags 0x${flags.toString(16)} are not MVP`);
  const initial = reader.u32();
  return { initial, maximum: flags === 1 ? reader.u32() : null };
}

/** Skips a constant expression of the MVP (one constant or `global.get`, then `end`). */
function skipConstExpr(reader: ByteReader): void {
  for (;;) {
    const op = reader.u8();
    switch (op) {
      case 0x0b:
        return;
      case 0x41:
      case 0x42:
        reader.sleb();
        break;
      case 0x43:
        reader.skip(4);
        break;
      case 0x44:
        reader.skip(8);
        break;
      case 0x23: // global.get
      case 0xd2: // ref.func
        reader.u32();
        break;
      case 0xd0: // ref.null t
        reader.u8();
        break;
      default:
        throw new Error(`opcode 0x${op.toString(16)} in a constant expression is not MVP`);
    }
  }
}

/** Reads the outline of `bytes`. Throws if the module is malformed or uses non-MVP types. */
export function readModuleShape(bytes: Uint8Array): ModuleShape {
  const types: FunctionType[] = [];
  const imports: ImportEntry[] = [];
  const functions: FunctionType[] = [];
  const globals: GlobalEntry[] = [];
  const exports: ExportEntry[] = [];
  let memory: ModuleShape['memory'] = null;
  let memoryCount = 0;
  let hasStart = false;

  for (const section of splitSections(bytes)) {
    const r = new ByteReader(bytes, section.payloadStart, section.end);
    switch (section.id) {
      case SectionId.type:
        for (let n = r.u32(); n > 0; n--) {
          const form = r.u8();
          if (form !== 0x60) throw new Error(`type form 0x${form.toString(16)} is not a function type`);
          const params: ShapeType[] = [];
          for (let p = r.u32(); p > 0; p--) params.push(valueType(r));
          const results: ShapeType[] = [];
          for (let p = r.u32(); p > 0; p--) results.push(valueType(r));
          types.push({ params, results });
        }
        break;
      case SectionId.import:
        for (let n = r.u32(); n > 0; n--) {
          const module = r.name();
          const name = r.name();
          const kind = r.u8();
          if (kind === 0) {
            const type = types[r.u32()];
            if (type === undefined) throw new Error('function import with an unknown type');
            imports.push({ kind: 'function', module, name, type });
            functions.push(type);
          } else if (kind === 1) {
            r.u8();
            limits(r);
            imports.push({ kind: 'table', module, name });
          } else if (kind === 2) {
            const memoryLimits = limits(r);
            imports.push({ kind: 'memory', module, name, limits: memoryLimits });
            memoryCount++;
            memory ??= { ...memoryLimits, imported: true };
          } else if (kind === 3) {
            const type = valueType(r);
            const mutable = r.u8() === 1;
            imports.push({ kind: 'global', module, name });
            globals.push({ type, mutable });
          } else {
            throw new Error(`import kind ${kind} is not MVP`);
          }
        }
        break;
      case SectionId.function:
        for (let n = r.u32(); n > 0; n--) {
          const type = types[r.u32()];
          if (type === undefined) throw new Error('function with an unknown type');
          functions.push(type);
        }
        break;
      case SectionId.memory:
        for (let n = r.u32(); n > 0; n--) {
          const memoryLimits = limits(r);
          memoryCount++;
          memory ??= { ...memoryLimits, imported: false };
        }
        break;
      case SectionId.global:
        for (let n = r.u32(); n > 0; n--) {
          const type = valueType(r);
          const mutable = r.u8() === 1;
          skipConstExpr(r);
          globals.push({ type, mutable });
        }
        break;
      case SectionId.export:
        for (let n = r.u32(); n > 0; n--) {
          const name = r.name();
          const kind = EXPORT_KINDS[r.u8()];
          if (kind === undefined) throw new Error('export of an unknown kind');
          exports.push({ name, kind, index: r.u32() });
        }
        break;
      case SectionId.start:
        hasStart = true;
        break;
      default:
        break;
    }
  }
  const functionImports = imports.filter((i): i is Extract<ImportEntry, { kind: 'function' }> => i.kind === 'function');
  return { imports, functionImports, functions, globals, exports, memory, memoryCount, hasStart };
}

/** The function exports, in export section order, with their signatures. */
export function functionExports(shape: ModuleShape): { name: string; type: FunctionType }[] {
  return shape.exports
    .filter((e) => e.kind === 'function')
    .map((e) => {
      const type = shape.functions[e.index];
      if (type === undefined) throw new Error(`export ${JSON.stringify(e.name)} names an unknown function`);
      return { name: e.name, type };
    });
}
