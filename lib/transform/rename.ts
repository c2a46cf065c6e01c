/**
 * Gives every import and export of a module a short synthetic name before Binaryen sees it.
 *
 * Three reasons:
 * - Binaryen's C API truncates names at NUL bytes, while WebAssembly names are arbitrary UTF-8
 *   (`"a\0b"` and `"a\0c"` would both become `"a"`). The VM maps the original names to the
 *   synthetic ones itself, so Binaryen never handles a user-chosen name.
 * - The Asyncify pass adds exports (`asyncify_start_unwind`, ...) and treats imports from a
 *   module named `asyncify` specially. With synthetic names a guest can neither collide with
 *   those exports nor smuggle in such an import.
 * - A defined memory that the guest does not export still has to be reachable by the host
 *   (spec tests, `requireMemory: false`); it gets an export of its own here.
 *
 * Custom sections (debug names, producers, ...) are dropped too: the instrumented module never
 * needs them, and Binaryen would otherwise parse and re-emit them.
 *
 * The module facts are read from a renamed copy as well (see `module-facts.ts`), with the real
 * names read here by {@link readImportExportNames}: the header parser refuses names with code
 * points above U+FFFF, which WebAssembly allows.
 *
 * @module
 */

import { BinaryFormatError, BinaryReader, MODULE_HEADER, splitSections, writeName, writeU32 } from '../base/binary-reader.js';
import { concatBytes } from '../base/bytes.js';
import {
  FUNCTION_IMPORT_MODULE,
  GLOBAL_IMPORT_MODULE,
  MEMORY_EXPORT,
  MEMORY_IMPORT_MODULE,
  MEMORY_IMPORT_NAME,
  START_EXPORT,
  TABLE_IMPORT_MODULE,
  exportName,
  functionImportName,
  globalExportName,
} from './abi.js';

/** What {@link renameImportsAndExports} does besides renaming. */
export interface RenameOptions {
  /** Add an export of memory 0 named {@link MEMORY_EXPORT} (for a module that defines its memory). */
  readonly exportDefinedMemory: boolean;
  /** Give the defined memory this maximum, in pages (`VmConfig.maxMemoryPages`); `null`: keep its own. */
  readonly definedMemoryMaximum: number | null;
  /**
   * Globals (by index in the global index space) to export as {@link globalExportName}: the
   * mutable ones, so that an instance can be put back in its fresh state without being made
   * again (`vm/live-instance.ts`).
   */
  readonly exportGlobals: readonly number[];
  /**
   * Keep custom sections (the JSPI backend: no Binaryen to spare them from, and names and debug
   * information stay available). Default: dropped.
   */
  readonly keepCustomSections: boolean;
  /**
   * Make every declarative element segment an empty passive one, and declare its functions in
   * one declarative segment after all the others (see {@link rewriteDeclarativeSegments}); for
   * Binaryen, which does not count declarative segments when it numbers element segments.
   */
  readonly declarativeSegmentsLast: boolean;
  /**
   * Remove the start section and export its function as {@link START_EXPORT} instead, so that
   * instantiating runs no guest code (the VM runs it as a call).
   */
  readonly exportStartFunction: boolean;
}

const NO_OPTIONS: RenameOptions = {
  exportDefinedMemory: false,
  definedMemoryMaximum: null,
  exportGlobals: [],
  keepCustomSections: false,
  declarativeSegmentsLast: false,
  exportStartFunction: false,
};

/**
 * Returns a copy of `bytes` with imports and exports renamed as described above, custom
 * sections removed (unless kept), and the defined memory and the globals exported, and the
 * memory capped, as `options` say.
 */
export function renameImportsAndExports(bytes: Uint8Array, options: Partial<RenameOptions> = {}): Uint8Array {
  const { exportDefinedMemory, definedMemoryMaximum, exportGlobals, keepCustomSections, declarativeSegmentsLast, exportStartFunction } = {
    ...NO_OPTIONS,
    ...options,
  };
  const startFunction = exportStartFunction ? startFunctionIndex(bytes) : null;
  const added = (exportDefinedMemory ? 1 : 0) + exportGlobals.length + (startFunction === null ? 0 : 1);
  const chunks: Uint8Array[] = [MODULE_HEADER];
  let exportsWritten = false;

  const writeSection = (id: number, payload: number[]): void => {
    const head: number[] = [id];
    writeU32(head, payload.length);
    chunks.push(Uint8Array.from(head), Uint8Array.from(payload));
  };

  const writeExports = (original: BinaryReader | null): void => {
    const payload: number[] = [];
    const count = original === null ? 0 : original.u32();
    writeU32(payload, count + added);
    for (let i = 0; i < count; i++) {
      const r = original!;
      r.name();
      const kind = r.u8();
      const index = r.u32();
      writeName(payload, exportName(i));
      payload.push(kind);
      writeU32(payload, index);
    }
    if (exportDefinedMemory) {
      writeName(payload, MEMORY_EXPORT);
      payload.push(0x02);
      writeU32(payload, 0);
    }
    for (const index of exportGlobals) {
      writeName(payload, globalExportName(index));
      payload.push(0x03);
      writeU32(payload, index);
    }
    if (startFunction !== null) {
      writeName(payload, START_EXPORT);
      payload.push(0x00);
      writeU32(payload, startFunction);
    }
    writeSection(7, payload);
    exportsWritten = true;
  };

  for (const section of splitSections(bytes)) {
    if (section.id === 0 && !keepCustomSections) continue;
    if (section.id === 8 && startFunction !== null) continue;
    // Custom sections may sit anywhere: only a known section past the exports' place decides.
    if (section.id > 7 && section.id !== 0 && !exportsWritten && added > 0) writeExports(null);
    const r = new BinaryReader(bytes, section.payloadStart, section.end);
    if (section.id === 2) {
      const payload: number[] = [];
      const count = r.u32();
      writeU32(payload, count);
      // Per-kind counters: function, table, memory, global.
      const counts = [0, 0, 0, 0];
      for (let i = 0; i < count; i++) {
        r.name();
        r.name();
        const descriptorStart = r.pos + 1;
        const kind = r.u8();
        r.skipImportDescriptor(kind);
        const index = counts[kind]!++;
        if (kind === 2) {
          writeName(payload, MEMORY_IMPORT_MODULE);
          writeName(payload, MEMORY_IMPORT_NAME);
        } else {
          // Tables and globals are refused before instrumentation; they are only renamed when
          // the facts of a module are read.
          writeName(payload, kind === 0 ? FUNCTION_IMPORT_MODULE : kind === 1 ? TABLE_IMPORT_MODULE : GLOBAL_IMPORT_MODULE);
          writeName(payload, functionImportName(index));
        }
        payload.push(kind);
        for (let p = descriptorStart; p < r.pos; p++) payload.push(bytes[p]!);
      }
      writeSection(2, payload);
    } else if (section.id === 7) {
      writeExports(r);
    } else if (section.id === 9 && declarativeSegmentsLast) {
      const payload = rewriteDeclarativeSegments(r);
      if (payload === null) chunks.push(bytes.subarray(section.start, section.end));
      else writeSection(9, payload);
    } else if (section.id === 5 && definedMemoryMaximum !== null) {
      // One memory (the module rules allow no more): keep its minimum, set its maximum.
      const count = r.u32();
      const flags = r.u8();
      const initial = r.u32();
      if (count !== 1 || flags > 1) throw new BinaryFormatError('unexpected memory section');
      const payload: number[] = [1, 0x01];
      writeU32(payload, initial);
      writeU32(payload, definedMemoryMaximum);
      writeSection(5, payload);
    } else {
      chunks.push(bytes.subarray(section.start, section.end));
    }
  }
  if (!exportsWritten && added > 0) writeExports(null);

  return concatBytes(chunks);
}

/**
 * The element section's payload with its declarative segments moved out of the way, or `null`
 * if it has none.
 *
 * Binaryen (132) leaves declarative segments out of its numbering of element segments, so a
 * `table.init` or `elem.drop` of a segment that follows a declarative one silently targets the
 * next segment instead (and one past the last fails to parse). Declarative segments are dropped
 * at instantiation, and a dropped segment behaves exactly like an empty one (`table.init` traps
 * unless it copies nothing from offset 0; `elem.drop` does nothing): so each becomes an empty
 * passive segment of the same type, at the same index, and the functions they declared (for
 * `ref.func`) are declared again by one declarative segment after all the others, where it
 * shifts no index.
 */
function rewriteDeclarativeSegments(r: BinaryReader): number[] | null {
  const count = r.u32();
  const payload: number[] = [];
  writeU32(payload, count + 1);
  const declared: number[] = [];
  let anyDeclarative = false;
  for (let i = 0; i < count; i++) {
    const start = r.pos;
    const flags = r.u32();
    const expressions = (flags & 4) !== 0;
    if ((flags & 3) === 3) {
      // Declarative: the element kind or reference type, then the elements.
      anyDeclarative = true;
      const type = r.u8();
      for (let k = 0, n = r.u32(); k < n; k++) {
        if (expressions) {
          const ref = constantExpressionFunction(r);
          if (ref !== null) declared.push(ref);
        } else {
          declared.push(r.u32());
        }
      }
      payload.push(expressions ? 5 : 1, type, 0);
      continue;
    }
    if ((flags & 1) === 0) {
      if ((flags & 2) !== 0) r.u32(); // table index
      constantExpressionFunction(r); // offset
    }
    if ((flags & 3) !== 0) r.u8(); // element kind or reference type
    for (let k = 0, n = r.u32(); k < n; k++) {
      if (expressions) constantExpressionFunction(r);
      else r.u32();
    }
    for (let p = start; p < r.pos; p++) payload.push(r.bytes[p]!);
  }
  if (!anyDeclarative) return null;
  payload.push(3, 0x00);
  writeU32(payload, declared.length);
  for (const index of declared) writeU32(payload, index);
  return payload;
}

/** Skips a constant expression; returns the function index if it is a `ref.func`. */
function constantExpressionFunction(r: BinaryReader): number | null {
  let func: number | null = null;
  for (;;) {
    const op = r.u8();
    if (op === 0x0b) return func;
    if (op === 0x41 || op === 0x42) r.skipLeb();
    else if (op === 0x43) r.skip(4);
    else if (op === 0x44) r.skip(8);
    else if (op === 0x23) r.u32();
    else if (op === 0xd0) r.u8();
    else if (op === 0xd2) func = r.u32();
    // Anything else in a valid constant expression has no immediates (extended constants).
  }
}

/** The index of the start function of `bytes`, or `null` if it has none. */
function startFunctionIndex(bytes: Uint8Array): number | null {
  for (const section of splitSections(bytes)) {
    if (section.id === 8) return new BinaryReader(bytes, section.payloadStart, section.end).u32();
  }
  return null;
}
