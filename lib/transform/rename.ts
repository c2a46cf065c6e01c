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
}

const NO_OPTIONS: RenameOptions = { exportDefinedMemory: false, definedMemoryMaximum: null, exportGlobals: [], keepCustomSections: false };

/**
 * Returns a copy of `bytes` with imports and exports renamed as described above, custom
 * sections removed (unless kept), and the defined memory and the globals exported, and the
 * memory capped, as `options` say.
 */
export function renameImportsAndExports(bytes: Uint8Array, options: Partial<RenameOptions> = {}): Uint8Array {
  const { exportDefinedMemory, definedMemoryMaximum, exportGlobals, keepCustomSections } = { ...NO_OPTIONS, ...options };
  const added = (exportDefinedMemory ? 1 : 0) + exportGlobals.length;
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
    writeSection(7, payload);
    exportsWritten = true;
  };

  for (const section of splitSections(bytes)) {
    if (section.id === 0 && !keepCustomSections) continue;
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
