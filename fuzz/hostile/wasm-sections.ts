/**
 * Where the sections of a (well-formed) module lie, so that mutations and truncations can aim
 * at structure instead of only at uniformly random offsets.
 *
 * A uniformly random offset in a Substrate runtime lands in the code section 85% of the time
 * and almost never in the import, export or memory sections, yet those small sections are the
 * ones the library parses itself (renaming, module facts, module rules, the feature scan).
 * Knowing the layout lets the harness hit them on purpose, truncate exactly at a section
 * boundary (which yields a *valid* shorter module), and report which section a mutation hit.
 *
 * This is deliberately an independent, tolerant reader and not the library's `splitSections`:
 * the harness must not share the code it is testing, and it must never throw, because it is
 * also used to describe mutated bytes.
 *
 * @module
 */

/** One section of a module. */
export interface Section {
  /** The section id (0 custom, 1 type, 2 import, ... 11 data, 12 data count). */
  readonly id: number;
  /** Offset of the id byte. */
  readonly start: number;
  /** Offset of the first payload byte. */
  readonly payloadStart: number;
  /** Offset one past the last payload byte. */
  readonly end: number;
}

/** Names of the section ids, for reports. */
export const SECTION_NAMES: readonly string[] = [
  'custom',
  'type',
  'import',
  'function',
  'table',
  'memory',
  'global',
  'export',
  'start',
  'element',
  'code',
  'data',
  'datacount',
];

/** The name of section id `id`, or `section<id>` for an unknown id. */
export function sectionName(id: number): string {
  return SECTION_NAMES[id] ?? `section${id}`;
}

/** The 8 bytes every module starts with: `\0asm` and version 1. */
export const WASM_HEADER: readonly number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/**
 * The sections of `bytes`, read as far as they make sense: reading stops (without throwing) at
 * the first section whose header or size runs past the end.
 */
export function scanSections(bytes: Uint8Array): Section[] {
  const sections: Section[] = [];
  if (bytes.length < 8) return sections;
  let pos = 8;
  while (pos < bytes.length) {
    const start = pos;
    const id = bytes[pos++]!;
    let size = 0;
    let shift = 0;
    let byte: number;
    do {
      if (pos >= bytes.length || shift > 28) return sections;
      byte = bytes[pos++]!;
      size += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    const end = pos + size;
    if (end > bytes.length) return sections;
    sections.push({ id, start, payloadStart: pos, end });
    pos = end;
  }
  return sections;
}

/** The section whose bytes (header included) contain `offset`, or `null` (the 8-byte header, or past the last section). */
export function sectionAt(sections: readonly Section[], offset: number): Section | null {
  for (const section of sections) {
    if (offset >= section.start && offset < section.end) return section;
  }
  return null;
}

/**
 * The offset where the code section starts (or the end of the module if it has none): the
 * bytes before it are the module's "headers", the part the library reads itself.
 */
export function headersEnd(sections: readonly Section[], length: number): number {
  return sections.find((s) => s.id === 10)?.start ?? length;
}
