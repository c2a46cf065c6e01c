/**
 * Quick walks over a module's sections that need no parser and no copy: the custom sections,
 * and the constant an exported `i32` global starts with. The Substrate layer reads a runtime's
 * version and `__heap_base` this way before (or without) creating a VM, and the CLI shows them.
 *
 * @module
 */

import { BinaryReader, type SectionSpan, splitSections } from './binary-reader.js';

/** The custom sections of a module, in order, with their payloads (views into `bytes`). */
export function customSections(bytes: Uint8Array): { name: string; data: Uint8Array }[] {
  const result: { name: string; data: Uint8Array }[] = [];
  for (const section of splitSections(bytes)) {
    if (section.id !== 0) continue;
    const reader = new BinaryReader(bytes, section.payloadStart, section.end);
    const name = reader.name();
    result.push({ name, data: bytes.subarray(reader.pos, section.end) });
  }
  return result;
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
        if (kind > 3) return null;
        r.skipImportDescriptor(kind);
        if (kind === 3) importedGlobals++;
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
      return r.s32() >>> 0;
    }
    // Skip this initialiser: one constant or global.get, then end.
    if (op === 0x43) r.skip(4);
    else if (op === 0x44) r.skip(8);
    else r.skipLeb();
    r.u8();
  }
  return null;
}
