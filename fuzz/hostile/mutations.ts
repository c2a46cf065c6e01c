/**
 * Byte-level and section-level mutations, and truncations, of a well-formed module.
 *
 * The operators are the usual ones of mutation fuzzers (overwrite, bit flip, small arithmetic,
 * "interesting" values, insertion, deletion, chunk copy) plus three that work on whole sections
 * (drop, duplicate, swap), which produce modules the engine still accepts far more often than
 * byte noise does: a module without its export section, or without its memory section, is
 * valid, and exercises the module rules rather than the engine's validator.
 *
 * Where a mutation lands is chosen by {@link MutationTarget}: uniformly over the module, or only
 * in its headers (everything before the code section), which a uniform choice almost never hits
 * in a multi-megabyte runtime (see `wasm-sections.ts`).
 *
 * @module
 */

import { concat } from './module-builder.js';
import type { Prng } from './prng.js';
import { type Section, headersEnd, scanSections, sectionAt, sectionName } from './wasm-sections.js';

/** Where a byte mutation may land. */
export type MutationTarget = 'anywhere' | 'headers';

/** One applied mutation, for the case description and for "which section did it hit". */
export interface MutationRecord {
  readonly op: string;
  /** Offset in the module as it was when the operator ran. */
  readonly offset: number;
  /** The name of the section that contained `offset` in the original module. */
  readonly section: string;
}

/** A mutated module and what was done to it. */
export interface Mutant {
  readonly bytes: Uint8Array;
  readonly records: readonly MutationRecord[];
}

/** Byte values that often change the meaning of an encoding: LEB continuation bits, opcodes, limits. */
const INTERESTING = [0x00, 0x01, 0x02, 0x0b, 0x10, 0x11, 0x20, 0x41, 0x7f, 0x80, 0xff, 0x40, 0x60, 0x70, 0xfc, 0xfd];

const BYTE_OPS = ['set', 'flip', 'add', 'interesting', 'insert', 'delete', 'copy'] as const;

/**
 * Operators aimed at the code section that usually keep a module valid, so that mutants reach
 * the transform and run: a new one-byte `i32.const` immediate, or one binary operator of a
 * family replaced by another of the same type (`i32.add` by `i32.div_s`, `i64.mul` by
 * `i64.rem_u`, ...), which brings traps into code that had none.
 */
const CODE_OPS = ['const', 'binop'] as const;

/** Opcode ranges of binary operators that share a type: i32 (add .. rotr), i64, i32 and i64 comparisons. */
const BINOP_FAMILIES: readonly (readonly [number, number])[] = [
  [0x6a, 0x78],
  [0x7c, 0x8a],
  [0x46, 0x4f],
  [0x51, 0x5a],
];
const SECTION_OPS = ['drop-section', 'duplicate-section', 'swap-sections'] as const;

/**
 * Applies `count` mutations to a copy of `original`. `sectionOps` is the probability that one
 * mutation is a whole-section operator, `codeOps` that it is a code operator (used only while
 * the module still has its original layout), instead of a byte operator.
 */
export function mutate(prng: Prng, original: Uint8Array, count: number, target: MutationTarget, sectionOps = 0.1, codeOps = 0): Mutant {
  const sections = scanSections(original);
  const headerEnd = headersEnd(sections, original.length);
  let bytes: Uint8Array = original.slice();
  const records: MutationRecord[] = [];
  for (let n = 0; n < count; n++) {
    if (prng.chance(sectionOps) && sections.length > 1) {
      const op = prng.pick(SECTION_OPS);
      const result = sectionOp(prng, bytes, op);
      if (result !== null) {
        bytes = result.bytes;
        records.push({ op, offset: result.offset, section: result.section });
        continue;
      }
    }
    const code = sections.find((x) => x.id === 10);
    if (code !== undefined && bytes.length === original.length && prng.chance(codeOps)) {
      const op = prng.pick(CODE_OPS);
      const offset = codeOp(prng, bytes, op, code.payloadStart, code.end);
      if (offset !== null) {
        records.push({ op, offset, section: 'code' });
        continue;
      }
    }
    if (bytes.length === 0) break;
    const limit = target === 'headers' ? Math.min(headerEnd, bytes.length) : bytes.length;
    const offset = prng.below(Math.max(limit, 1));
    const op = prng.pick(BYTE_OPS);
    const hit = sectionAt(sections, offset);
    const section = hit === null ? 'header' : sectionName(hit.id);
    records.push({ op, offset, section });
    bytes = byteOp(prng, bytes, op, offset);
  }
  return { bytes, records };
}

function byteOp(prng: Prng, bytes: Uint8Array, op: (typeof BYTE_OPS)[number], offset: number): Uint8Array {
  switch (op) {
    case 'set':
      bytes[offset] = prng.below(256);
      return bytes;
    case 'flip':
      bytes[offset]! ^= 1 << prng.below(8);
      return bytes;
    case 'add':
      bytes[offset] = (bytes[offset]! + prng.between(-16, 16)) & 0xff;
      return bytes;
    case 'interesting':
      bytes[offset] = prng.pick(INTERESTING);
      return bytes;
    case 'insert': {
      const out = new Uint8Array(bytes.length + 1);
      out.set(bytes.subarray(0, offset));
      out[offset] = prng.below(256);
      out.set(bytes.subarray(offset), offset + 1);
      return out;
    }
    case 'delete': {
      const out = new Uint8Array(bytes.length - 1);
      out.set(bytes.subarray(0, offset));
      out.set(bytes.subarray(offset + 1), offset);
      return out;
    }
    case 'copy': {
      const length = Math.min(prng.between(1, 16), bytes.length - offset);
      const from = prng.below(Math.max(bytes.length - length, 1));
      bytes.copyWithin(offset, from, from + length);
      return bytes;
    }
  }
}

/** Applies a code operator at a matching byte of `bytes[start..end)`; the offset, or `null` if none matched. */
function codeOp(prng: Prng, bytes: Uint8Array, op: (typeof CODE_OPS)[number], start: number, end: number): number | null {
  const matches: number[] = [];
  for (let i = start; i < end - 1; i++) {
    const b = bytes[i]!;
    if (op === 'const' ? b === 0x41 && bytes[i + 1]! < 0x80 : BINOP_FAMILIES.some(([lo, hi]) => b >= lo && b <= hi)) matches.push(i);
  }
  if (matches.length === 0) return null;
  const at = prng.pick(matches);
  if (op === 'const') {
    bytes[at + 1] = prng.below(128);
    return at + 1;
  }
  const [lo, hi] = BINOP_FAMILIES.find(([l, h]) => bytes[at]! >= l && bytes[at]! <= h)!;
  bytes[at] = prng.between(lo, hi);
  return at;
}

function sectionOp(
  prng: Prng,
  bytes: Uint8Array,
  op: (typeof SECTION_OPS)[number],
): { bytes: Uint8Array; offset: number; section: string } | null {
  const sections = scanSections(bytes);
  if (sections.length === 0) return null;
  const a = prng.pick(sections);
  const piece = (s: Section): Uint8Array => bytes.subarray(s.start, s.end);
  switch (op) {
    case 'drop-section':
      return { bytes: concat(bytes.subarray(0, a.start), bytes.subarray(a.end)), offset: a.start, section: sectionName(a.id) };
    case 'duplicate-section':
      return { bytes: concat(bytes.subarray(0, a.end), piece(a), bytes.subarray(a.end)), offset: a.end, section: sectionName(a.id) };
    case 'swap-sections': {
      const index = sections.indexOf(a);
      const b = sections[index + 1];
      if (b === undefined) return null;
      return {
        bytes: concat(bytes.subarray(0, a.start), piece(b), piece(a), bytes.subarray(b.end)),
        offset: a.start,
        section: `${sectionName(a.id)}<>${sectionName(b.id)}`,
      };
    }
  }
}

/** How a truncation point is chosen. */
export type TruncationPoint = 'random' | 'boundary' | 'headers';

/**
 * The first `n` bytes of `original`, for an `n` chosen by `how`: uniformly, exactly at a section
 * boundary (a valid module when the remaining sections are consistent), or inside the headers.
 */
export function truncate(prng: Prng, original: Uint8Array, how: TruncationPoint): { bytes: Uint8Array; at: number; section: string } {
  const sections = scanSections(original);
  let at: number;
  if (how === 'boundary' && sections.length > 0) {
    // Section starts, plus the very end minus nothing (the whole module would not be a truncation).
    at = prng.pick(sections).start;
  } else if (how === 'headers') {
    at = prng.below(Math.max(headersEnd(sections, original.length), 1));
  } else {
    at = prng.below(Math.max(original.length, 1));
  }
  const hit = sectionAt(sections, at);
  const section = hit === null ? 'header' : at === hit.start ? `before ${sectionName(hit.id)}` : sectionName(hit.id);
  return { bytes: original.slice(0, at), at, section };
}
