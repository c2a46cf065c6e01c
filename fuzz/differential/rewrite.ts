/**
 * Small, semantics-preserving rewrites of a generated module.
 *
 * `wasm-opt -ttf` always defines its memory and exports it (as `memory`) only some of the time.
 * The VM has three ways of reaching a guest memory (imported as `env`.`memory`, exported as
 * `memory`, or defined and unexported, which `requireMemory: false` allows), so the generator
 * rewrites some modules into the first form ({@link importMemory}) to cover it.
 *
 * The plain side needs to read the memory after every call, which the JavaScript API only allows
 * for an exported or imported memory: {@link exposeMemory} adds an export for it. An extra export
 * changes nothing the guest can observe (the harness's `call-export` imports do not index the
 * export list, see `host.ts`), so the plain side still runs the same code as the VM.
 *
 * @module
 */

import { type MemoryLimits, readModuleShape } from './module-shape.js';
import {
  ByteReader,
  MODULE_HEADER,
  SectionId,
  concatBytes,
  encodeSection,
  pushName,
  pushU32,
  splitSections,
} from './wasm-binary.js';

/** The bytes of an import or export section with `extra` entries appended (the count is fixed up). */
function appendEntries(bytes: Uint8Array, payloadStart: number, end: number, extra: readonly number[][]): number[] {
  const reader = new ByteReader(bytes, payloadStart, end);
  const count = reader.u32();
  const payload: number[] = [];
  pushU32(payload, count + extra.length);
  for (let i = reader.pos; i < end; i++) payload.push(bytes[i]!);
  for (const entry of extra) payload.push(...entry);
  return payload;
}

function limitsBytes(limits: MemoryLimits): number[] {
  const out: number[] = [limits.maximum === null ? 0 : 1];
  pushU32(out, limits.initial);
  if (limits.maximum !== null) pushU32(out, limits.maximum);
  return out;
}

/**
 * Returns `bytes` with a section of id `id` made of the original entries plus `entries`;
 * the section is created (at its canonical position) if the module has none. `before` lists
 * the ids of the non-custom sections that must come after it.
 */
function withEntries(bytes: Uint8Array, id: number, entries: readonly number[][], before: (id: number) => boolean, drop = -1): Uint8Array {
  const chunks: Uint8Array[] = [MODULE_HEADER];
  let written = false;
  for (const section of splitSections(bytes)) {
    if (section.id === drop) continue;
    if (section.id === id) {
      chunks.push(encodeSection(id, appendEntries(bytes, section.payloadStart, section.end, entries)));
      written = true;
      continue;
    }
    if (!written && section.id !== SectionId.custom && before(section.id)) {
      chunks.push(encodeSection(id, appendEntries(Uint8Array.of(0), 0, 1, entries)));
      written = true;
    }
    chunks.push(bytes.subarray(section.start, section.end));
  }
  if (!written) chunks.push(encodeSection(id, appendEntries(Uint8Array.of(0), 0, 1, entries)));
  return concatBytes(chunks);
}

/**
 * `bytes` with an export named `name` for memory 0 added. The caller makes sure the module has
 * a memory and that the name is free.
 */
export function exposeMemory(bytes: Uint8Array, name: string): Uint8Array {
  const entry: number[] = [];
  pushName(entry, name);
  entry.push(0x02);
  pushU32(entry, 0);
  // The export section comes after the global section and before start, element, data count,
  // code and data (ids 8, 9, 12, 10, 11).
  return withEntries(bytes, SectionId.export, [entry], (id) => id > SectionId.export);
}

/**
 * `bytes` with its defined memory turned into an import of `env`.`memory` with the same limits.
 * Data segments then initialise the imported memory during instantiation, exactly as they
 * initialised the defined one. Returns `null` if the module has no single defined, unexported
 * memory (re-exporting an imported memory is something the VM refuses by design).
 */
export function importMemory(bytes: Uint8Array): Uint8Array | null {
  const shape = readModuleShape(bytes);
  const memory = shape.memory;
  if (memory === null || memory.imported || shape.memoryCount !== 1) return null;
  if (shape.exports.some((e) => e.kind === 'memory')) return null;
  const entry: number[] = [];
  pushName(entry, 'env');
  pushName(entry, 'memory');
  entry.push(0x02, ...limitsBytes(memory));
  // Memory imports do not shift the function index space, and memory 0 stays memory 0.
  return withEntries(bytes, SectionId.import, [entry], (id) => id > SectionId.import, SectionId.memory);
}
