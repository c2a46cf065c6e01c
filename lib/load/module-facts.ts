/**
 * What the VM needs to know about a module, read from its headers with
 * `@webassemblyjs/wasm-parser`.
 *
 * Only the headers are decoded: decoding the code section of a real runtime with that parser
 * takes tens of seconds and over a gigabyte, while the headers take a few milliseconds. The
 * facts are plain data, so they can also be serialised with the instrumented module.
 *
 * The parser is given a copy of the module whose imports and exports carry short ASCII names,
 * and the real names are read separately (`transform/rename.ts`): the parser refuses names with code
 * points above U+FFFF, which WebAssembly allows.
 *
 * @module
 */

import { decode } from '@webassemblyjs/wasm-parser';
import type { DeclaredMemory, ExternalKind, GlobalFact, MemoryLimits } from '../base/components.js';
import type { RawSignature } from '../base/values.js';
import { readImportExportNames, renameImportsAndExports } from '../transform/rename.js';

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
