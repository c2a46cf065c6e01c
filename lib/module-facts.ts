/**
 * What the VM needs to know about a module, read from its headers with
 * `@webassemblyjs/wasm-parser`.
 *
 * Only the headers are decoded: decoding the code section of a real runtime with that parser
 * takes tens of seconds and over a gigabyte, while the headers take a few milliseconds. The
 * facts are plain data, so they can also be serialised with the instrumented module.
 *
 * The parser is given a copy of the module whose imports and exports carry short ASCII names,
 * and the real names are read separately (`rename.ts`): the parser refuses names with code
 * points above U+FFFF, which WebAssembly allows.
 *
 * @module
 */

import { decode } from '@webassemblyjs/wasm-parser';
import { BinaryReader, type SectionSpan, splitSections } from './binary-reader.js';
import { readImportExportNames, renameImportsAndExports } from './rename.js';

/** What an import or export refers to. */
export type ExternalKind = 'function' | 'table' | 'memory' | 'global';

/** A function type as written in the module: value type names, possibly unsupported ones. */
export interface RawSignature {
  readonly params: readonly string[];
  readonly results: readonly string[];
}

/** Size limits of a memory, in 64 KiB pages. */
export interface MemoryLimits {
  readonly initial: number;
  readonly maximum: number | null;
}

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

/** A global, imported or defined. */
export interface GlobalFact {
  readonly valueType: string;
  readonly mutable: boolean;
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
  readonly memories: readonly { readonly imported: boolean; readonly limits: MemoryLimits }[];
  /** Number of tables, imported ones included. */
  readonly tables: number;
  /** Whether the module declares a start function. */
  readonly hasStart: boolean;
}

// The slice of the parser's AST that is read below.
interface AstSignature {
  params: { valtype: string }[];
  results: string[];
}
interface AstLimits {
  min: number;
  max?: number;
}
type AstField =
  | {
      type: 'ModuleImport';
      module: string;
      name: string;
      descr:
        | { type: 'FuncImportDescr'; signature: AstSignature }
        | { type: 'Memory'; limits: AstLimits }
        | { type: 'Table' }
        | { type: 'GlobalType'; valtype: string; mutability: 'const' | 'var' };
    }
  | { type: 'Func'; signature: AstSignature }
  | { type: 'Memory'; limits: AstLimits }
  | { type: 'Table' }
  | { type: 'Global'; globalType: { valtype: string; mutability: 'const' | 'var' } }
  | { type: 'ModuleExport'; name: string; descr: { exportType: string; id: { value: number } } }
  | { type: 'Start' }
  | { type: string };

const EXPORT_KINDS: Record<string, ExternalKind> = {
  Func: 'function',
  Table: 'table',
  Memory: 'memory',
  Global: 'global',
};

function signatureOf(signature: AstSignature): RawSignature {
  return { params: signature.params.map((p) => p.valtype), results: [...signature.results] };
}

function limitsOf(limits: AstLimits): MemoryLimits {
  return { initial: limits.min, maximum: limits.max ?? null };
}

/**
 * Reads the facts of a module the engine has already validated. Throws whatever the parser
 * throws on an encoding it does not understand; the caller reports that as invalid wasm.
 */
export function readModuleFacts(bytes: Uint8Array): ModuleFacts {
  const names = readImportExportNames(bytes);
  // A fresh copy, so the parser (which reads from the start of the underlying buffer) sees
  // exactly the module.
  const renamed = renameImportsAndExports(bytes);
  const ast = decode(renamed, {
    ignoreCodeSection: true,
    ignoreDataSection: true,
    ignoreCustomNameSection: true,
  }) as { body: { fields: AstField[] }[] };
  const imports: ImportFact[] = [];
  const exports: ExportFact[] = [];
  const functions: RawSignature[] = [];
  const globals: GlobalFact[] = [];
  const memories: { imported: boolean; limits: MemoryLimits }[] = [];
  let tables = 0;
  let hasStart = false;

  for (const field of ast.body[0]!.fields) {
    switch (field.type) {
      case 'ModuleImport': {
        const f = field as Extract<AstField, { type: 'ModuleImport' }>;
        const d = f.descr;
        if (d.type === 'FuncImportDescr') {
          const signature = signatureOf(d.signature);
          functions.push(signature);
          imports.push({ ...names.imports[imports.length]!, kind: 'function', signature });
        } else if (d.type === 'Memory') {
          const limits = limitsOf(d.limits);
          memories.push({ imported: true, limits });
          imports.push({ ...names.imports[imports.length]!, kind: 'memory', limits });
        } else if (d.type === 'Table') {
          tables++;
          imports.push({ ...names.imports[imports.length]!, kind: 'table' });
        } else {
          globals.push({ valueType: d.valtype, mutable: d.mutability === 'var' });
          imports.push({ ...names.imports[imports.length]!, kind: 'global' });
        }
        break;
      }
      case 'Func':
        functions.push(signatureOf((field as Extract<AstField, { type: 'Func' }>).signature));
        break;
      case 'Memory':
        memories.push({ imported: false, limits: limitsOf((field as Extract<AstField, { type: 'Memory' }>).limits) });
        break;
      case 'Table':
        tables++;
        break;
      case 'Global': {
        const g = (field as Extract<AstField, { type: 'Global' }>).globalType;
        globals.push({ valueType: g.valtype, mutable: g.mutability === 'var' });
        break;
      }
      case 'ModuleExport': {
        const e = field as Extract<AstField, { type: 'ModuleExport' }>;
        const kind = EXPORT_KINDS[e.descr.exportType];
        if (kind === undefined) throw new Error(`unsupported export kind ${e.descr.exportType}`);
        exports.push({ name: names.exports[exports.length]!, kind, index: e.descr.id.value });
        break;
      }
      case 'Start':
        hasStart = true;
        break;
    }
  }
  return { imports, exports, functions, globals, memories, tables, hasStart };
}

/**
 * The constant an `i32` global exported as `name` is initialised with, read as unsigned, or
 * `null` if there is no such export or it is not a constant-initialised `i32` global. A quick
 * walk over the headers (no parser, no copy): Substrate hosts use it to learn `__heap_base`
 * before creating the VM, since the memory cap depends on it.
 */
export function exportedI32Constant(bytes: Uint8Array, name: string): number | null {
  let importedGlobals = 0;
  let globalIndex: number | null = null;
  let globalSection: SectionSpan | null = null;
  for (const section of splitSections(bytes)) {
    const r = new BinaryReader(bytes, section.payloadStart, section.end);
    if (section.id === 2) {
      for (let i = 0, n = r.u32(); i < n; i++) {
        r.name();
        r.name();
        const kind = r.u8();
        if (kind === 0) r.u32();
        else if (kind === 1) (r.u8(), skipLimits(r));
        else if (kind === 2) skipLimits(r);
        else if (kind === 3) (r.u8(), r.u8(), importedGlobals++);
        else return null;
      }
    } else if (section.id === 6) {
      globalSection = section;
    } else if (section.id === 7) {
      for (let i = 0, n = r.u32(); i < n; i++) {
        const exported = r.name();
        const kind = r.u8();
        const index = r.u32();
        if (exported === name) globalIndex = kind === 3 ? index : null;
      }
    }
  }
  if (globalIndex === null || globalSection === null || globalIndex < importedGlobals) return null;
  const r = new BinaryReader(bytes, globalSection.payloadStart, globalSection.end);
  for (let i = 0, n = r.u32(); i < n; i++) {
    const type = r.u8();
    r.u8();
    const op = r.u8();
    if (i + importedGlobals === globalIndex) {
      if (type !== 0x7f || op !== 0x41) return null;
      return readS32(r) >>> 0;
    }
    // Skip this initialiser: one constant or global.get, then end.
    if (op === 0x43) r.skip(4);
    else if (op === 0x44) r.skip(8);
    else r.skipLeb();
    r.u8();
  }
  return null;
}

function skipLimits(r: BinaryReader): void {
  const flags = r.u8();
  r.u32();
  if ((flags & 1) !== 0) r.u32();
}

/** A signed LEB128 of at most 32 bits. */
function readS32(r: BinaryReader): number {
  let result = 0;
  let shift = 0;
  let byte: number;
  do {
    byte = r.u8();
    result |= (byte & 0x7f) << shift;
    shift += 7;
  } while ((byte & 0x80) !== 0 && shift < 35);
  return shift < 32 && (byte & 0x40) !== 0 ? result | (-1 << shift) : result;
}
