/**
 * A module's *skeleton*: the module with every function body replaced by `unreachable`, and its
 * custom sections (and its data, unless a data count section needs it) left out. What the code
 * rewriter needs validated besides the code it walks.
 *
 * The code rewriter (`code-rewrite.ts`) does not need a valid input to be safe: it must never
 * make an invalid module valid, and for the code it guarantees that itself (every index it could
 * bring into range by what it adds is checked, the bodies must fill the code section exactly, see
 * `code-pass.ts`). For the rest of the module it relies on the engine, through this skeleton:
 * the header, the order and uniqueness of the sections, the types, imports, functions, tables,
 * memories, globals, exports, start and elements are the guest's own bytes, and the skeleton's
 * code section keeps the guest's number of bodies in the guest's place. Validating it costs
 * microseconds and copies tens of kilobytes, where validating the whole module costs the engine a
 * copy of it (westend: 6.3 MB, about 20 ms on the main thread) and a full validation.
 *
 * What the skeleton leaves out is still validated, in the rewritten module: custom sections are
 * copied (or dropped: debug sections; or rewritten: the name section, which engines do not
 * validate), the data section is copied unchanged.
 *
 * @module
 */

import { BinaryReader, type SectionSpan, splitSections, writeU32 } from '../base/binary-reader.js';

/** The code section id, the data section id, the data count section id. */
const CODE = 10;
const DATA = 11;
const DATA_COUNT = 12;
/** A body of no locals and `unreachable end`: valid for any function type. */
const STUB_BODY = [3, 0x00, 0x00, 0x0b];

/**
 * The skeleton of `bytes` (see the module documentation). Throws `BinaryFormatError` if the
 * sections cannot be told apart (the module is then invalid).
 */
export function moduleSkeleton(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const sections = splitSections(bytes);
  const keepData = sections.some((s) => s.id === DATA_COUNT);
  const parts: (SectionSpan | Uint8Array)[] = [];
  let size = 8;
  for (const s of sections) {
    if (s.id === 0 || (s.id === DATA && !keepData)) continue;
    if (s.id !== CODE) {
      parts.push(s);
      size += s.end - s.start;
      continue;
    }
    // The guest's number of bodies, each a stub. A count that cannot be read, or that more bodies
    // than the section has bytes could not fill, is replaced by one the engine refuses as well.
    let count: number;
    try {
      count = new BinaryReader(bytes, s.payloadStart, s.end).u32();
    } catch {
      count = -1;
    }
    const readable = count >= 0 && count <= s.end - s.payloadStart;
    const stubs = readable ? count : 0;
    const countBytes: number[] = [];
    if (readable) writeU32(countBytes, count);
    else countBytes.push(0x80, 0x80, 0x80, 0x80, 0x80, 0x80);
    const header: number[] = [CODE];
    const payloadSize = countBytes.length + stubs * STUB_BODY.length;
    writeU32(header, payloadSize);
    const section = new Uint8Array(header.length + payloadSize);
    section.set(header);
    section.set(countBytes, header.length);
    for (let i = 0, at = header.length + countBytes.length; i < stubs; i++, at += STUB_BODY.length) section.set(STUB_BODY, at);
    parts.push(section);
    size += section.length;
  }
  const skeleton = new Uint8Array(size);
  skeleton.set(bytes.subarray(0, 8));
  let at = 8;
  for (const part of parts) {
    if (part instanceof Uint8Array) {
      skeleton.set(part, at);
      at += part.length;
    } else {
      skeleton.set(bytes.subarray(part.start, part.end), at);
      at += part.end - part.start;
    }
  }
  return skeleton;
}
