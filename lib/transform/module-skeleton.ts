/**
 * A module's *skeleton*: the module with every function body replaced by `unreachable`, and its
 * custom sections (and its data, unless a data count section needs it) left out; and whether the
 * engine accepts it ({@link skeletonValid}). What the JSPI backend has the engine validate of a
 * guest whose bytes it does not compile as they are.
 *
 * The JSPI pipeline compiles other bytes than the guest's own where it renames the module's
 * imports and exports (`rename.ts`) or rewrites its code (`code-rewrite.ts`), and neither makes
 * an invalid module valid given a valid skeleton: the renaming rebuilds only sections the
 * skeleton holds as the guest wrote them (imports, exports, memory, start) and copies the rest,
 * the code unchanged (but it exports a start function, which declares it, so that a `ref.func`
 * of it would become valid: such a module is validated whole); the rewrite copies what it does
 * not change and refuses every index its additions could bring into range, and bodies that do
 * not fill the code section exactly (see there). The engine then judges the guest's code in the
 * compiled module, and the rest here: the header, the order and uniqueness of the sections, the
 * types, imports, functions, tables, memories, globals, exports, start and elements, as the
 * guest wrote them, and a code section of the guest's number of bodies in the guest's place.
 * Validating it costs microseconds and copies tens of kilobytes, where validating the whole
 * module costs the engine a copy of it (westend: 6.3 MB, about 20 ms on the main thread) and a
 * second full validation.
 *
 * What the skeleton leaves out is judged elsewhere: the data section is compiled as it is (both
 * passes copy it; what they add cannot make it valid: a segment's offset may read only an
 * immutable global, and the globals the rewrite adds are mutable), as are the custom sections
 * the passes keep; the names of those the rewrite drops (debug sections, and the name section
 * for the JSPI backend) are read strictly by the rewriter. Two limits of the engines' JavaScript
 * API could still be hidden by a pass that shortens the module (dropped sections, shorter names
 * and indices): the size of a module, which {@link skeletonValid} checks itself, and the size of
 * a function body, which the rewrite checks.
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
/** The largest module the engines' JavaScript API compiles (its implementation limits: 1 GiB). */
export const MAX_MODULE_BYTES = 1024 * 1024 * 1024;

/**
 * Whether the engine accepts the skeleton of `bytes` (see the module documentation); `false` too
 * for a module larger than {@link MAX_MODULE_BYTES}, which a shorter compiled module would hide.
 */
export function skeletonValid(bytes: Uint8Array): boolean {
  if (bytes.length > MAX_MODULE_BYTES) return false;
  try {
    return WebAssembly.validate(moduleSkeleton(bytes));
  } catch {
    return false;
  }
}

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
