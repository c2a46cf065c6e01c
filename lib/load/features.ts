/**
 * The WebAssembly feature sets a guest may use, and the scan that enforces them.
 *
 * The JavaScript engine accepts far more than the MVP (SIMD, threads, reference types, tail
 * calls, ...), and so does Binaryen. A light client, however, must refuse exactly what the
 * reference implementations refuse, or a runtime that works here fails on a validator node.
 * So after the engine has validated the module, {@link findUnsupportedFeature} walks every
 * section and every instruction and reports the first use of a feature outside the chosen set,
 * naming the feature and where it is used.
 *
 * Why a scan of our own rather than Binaryen's validator with a restricted feature set: the
 * validator prints its findings to the console (which a library must not do) and returns only a
 * boolean, so it cannot tell the user *which* feature was refused; and it costs a second full
 * validation on the critical path. The scan is a single linear pass (tens of milliseconds for
 * a 6 MB runtime) that never allocates per instruction.
 *
 * @module
 */

import { BinaryReader, splitSections } from '../base/binary-reader.js';
import type { FeatureSet } from '../base/feature-set.js';

/** What the scan measures on the way, for the checks that follow it. */
export interface ScanStatistics {
  /** The deepest nesting of `block`/`loop`/`if` in any function. */
  maxNesting: number;
}

/** The first use of a feature outside the allowed set. */
export interface FeatureViolation {
  /** The feature, as the proposals name it (e.g. `SIMD`, `multi-value`). */
  readonly feature: string;
  /** Where it is used, e.g. `function 42 (exported as "foo")` or `the type section`. */
  readonly where: string;
}

const SIMD = 'SIMD';
const THREADS = 'threads';
const REFERENCE_TYPES = 'reference types';
const BULK_MEMORY = 'bulk memory';
const MULTI_VALUE = 'multi-value';
const MULTI_MEMORY = 'multi-memory';
const MEMORY64 = 'memory64';
const TAIL_CALLS = 'tail calls';
const EXCEPTIONS = 'exception handling';
const GC = 'garbage collection / typed function references';
const EXTENDED_CONST = 'extended constant expressions';
const SIGN_EXTENSION = 'sign-extension operators';
const SATURATING = 'non-trapping float-to-int conversions';
const MUTABLE_GLOBALS = 'exported mutable globals';

/** Thrown internally to stop the scan at the first violation. */
class Found {
  constructor(
    readonly feature: string,
    readonly functionIndex: number | null,
    readonly where: string,
  ) {}
}

/** The feature behind a value type byte, or `null` for the four number types. */
function valueTypeFeature(byte: number): string | null {
  if (byte >= 0x7c && byte <= 0x7f) return null;
  if (byte === 0x7b) return SIMD;
  if (byte === 0x70 || byte === 0x6f) return REFERENCE_TYPES;
  return GC;
}

/** The feature behind a limits flag byte (memory or table), or `null` for MVP limits. */
function limitsFeature(flags: number): string | null {
  if (flags <= 1) return null;
  if (flags <= 3) return THREADS; // shared
  return MEMORY64; // 64-bit index (and shared 64-bit)
}

/**
 * Returns the first use in `bytes` of a feature outside `allowed`, or `null` if there is none.
 * `bytes` must already be a module the engine validated. Throws {@link BinaryFormatError} for
 * an encoding the engine accepts but the allowed feature set does not (e.g. a memory offset
 * encoded with more than 5 LEB128 bytes, which only 64-bit memories may use).
 */
export function findUnsupportedFeature(
  bytes: Uint8Array,
  allowed: FeatureSet,
  stats: ScanStatistics = { maxNesting: 0 },
): FeatureViolation | null {
  try {
    scanModule(bytes, allowed, stats);
    return null;
  } catch (e) {
    if (!(e instanceof Found)) throw e;
    let where = e.where;
    if (e.functionIndex !== null) {
      const exported = exportNamesOf(bytes, 0, e.functionIndex);
      where = `function ${e.functionIndex}`;
      if (exported.length > 0) where += ` (exported as ${exported.map((n) => JSON.stringify(n)).join(', ')})`;
    }
    return { feature: e.feature, where };
  }
}

function scanModule(bytes: Uint8Array, allowed: FeatureSet, stats: ScanStatistics): void {
  let importedFunctions = 0;
  // Tables imported or defined: more than one is reference types.
  let tables = 0;
  // Mutability of every global in index order (imports first), for the export check.
  const globalIsMutable: boolean[] = [];
  for (const section of splitSections(bytes)) {
    const r = new BinaryReader(bytes, section.payloadStart, section.end);
    switch (section.id) {
      case 0: // custom
      case 3: // function
      case 8: // start
        break;
      case 1: // type
        for (let i = 0, n = r.u32(); i < n; i++) {
          const form = r.u8();
          if (form !== 0x60) throw new Found(GC, null, 'the type section');
          for (let k = 0, params = r.u32(); k < params; k++) checkValueType(r.u8(), 'the type section');
          const results = r.u32();
          if (results > 1) {
            throw new Found(MULTI_VALUE, null, `the type section (type ${i} has ${results} results)`);
          }
          for (let k = 0; k < results; k++) checkValueType(r.u8(), 'the type section');
        }
        break;
      case 2: // import
        for (let i = 0, n = r.u32(); i < n; i++) {
          const moduleName = r.name();
          const fieldName = r.name();
          const where = `the import "${moduleName}"."${fieldName}"`;
          const kind = r.u8();
          if (kind === 0) {
            r.u32();
            importedFunctions++;
          } else if (kind === 1) {
            if (tables++ > 0) throw new Found(REFERENCE_TYPES, null, `${where} (more than one table)`);
            tableType(r, where);
          } else if (kind === 2) {
            memoryType(r, where);
          } else if (kind === 3) {
            checkValueType(r.u8(), where);
            globalIsMutable.push(r.u8() === 1);
          } else {
            throw new Found(kind === 4 ? EXCEPTIONS : GC, null, where);
          }
        }
        break;
      case 4: // table
        for (let i = 0, n = r.u32(); i < n; i++) {
          if (tables++ > 0) throw new Found(REFERENCE_TYPES, null, 'the table section (more than one table)');
          tableType(r, 'the table section');
        }
        break;
      case 5: // memory
        for (let i = 0, n = r.u32(); i < n; i++) memoryType(r, 'the memory section');
        break;
      case 6: // global
        for (let i = 0, n = r.u32(); i < n; i++) {
          checkValueType(r.u8(), 'the global section');
          globalIsMutable.push(r.u8() === 1);
          constantExpression(r, `the initializer of global ${globalIsMutable.length - 1}`);
        }
        break;
      case 7: // export
        for (let i = 0, n = r.u32(); i < n; i++) {
          const name = r.name();
          const kind = r.u8();
          const index = r.u32();
          if (kind === 3 && globalIsMutable[index] === true && !allowed.mutableGlobals) {
            throw new Found(MUTABLE_GLOBALS, null, `the export "${name}"`);
          }
          if (kind > 3) throw new Found(EXCEPTIONS, null, `the export "${name}"`);
        }
        break;
      case 9: // element
        for (let i = 0, n = r.u32(); i < n; i++) {
          const flags = r.u32();
          if (flags !== 0) {
            throw new Found(flags === 1 ? BULK_MEMORY : REFERENCE_TYPES, null, `element segment ${i}`);
          }
          constantExpression(r, `the offset of element segment ${i}`);
          for (let k = 0, count = r.u32(); k < count; k++) r.u32();
        }
        break;
      case 10: // code
        for (let i = 0, n = r.u32(); i < n; i++) {
          const size = r.u32();
          const end = r.pos + size;
          scanFunctionBody(new BinaryReader(bytes, r.pos, end), importedFunctions + i, allowed, stats);
          r.pos = end;
        }
        break;
      case 11: // data
        for (let i = 0, n = r.u32(); i < n; i++) {
          const flags = r.u32();
          if (flags === 1) throw new Found(BULK_MEMORY, null, `data segment ${i} (passive)`);
          if (flags === 2) {
            const memory = r.u32();
            if (memory !== 0) throw new Found(MULTI_MEMORY, null, `data segment ${i}`);
          } else if (flags !== 0) {
            throw new Found(BULK_MEMORY, null, `data segment ${i}`);
          }
          constantExpression(r, `the offset of data segment ${i}`);
          r.skip(r.u32());
        }
        break;
      case 12:
        throw new Found(BULK_MEMORY, null, 'the data count section');
      case 13:
        throw new Found(EXCEPTIONS, null, 'the tag section');
      default:
        throw new Found(`an unknown extension (section id ${section.id})`, null, `section ${section.id}`);
    }
  }
}

function checkValueType(byte: number, where: string): void {
  const feature = valueTypeFeature(byte);
  if (feature !== null) throw new Found(feature, null, where);
}

function tableType(r: BinaryReader, where: string): void {
  const elementType = r.u8();
  if (elementType !== 0x70) throw new Found(elementType === 0x6f ? REFERENCE_TYPES : GC, null, where);
  limits(r, where);
}

function memoryType(r: BinaryReader, where: string): void {
  limits(r, where);
}

function limits(r: BinaryReader, where: string): void {
  const flags = r.u8();
  const feature = limitsFeature(flags);
  if (feature !== null) throw new Found(feature, null, where);
  r.u32();
  if (flags === 1) r.u32();
}

/** An MVP constant expression: one `*.const` or `global.get`, then `end`. */
function constantExpression(r: BinaryReader, where: string): void {
  const op = r.u8();
  switch (op) {
    case 0x41: // i32.const
    case 0x42: // i64.const
      r.skipLeb();
      break;
    case 0x43: // f32.const
      r.skip(4);
      break;
    case 0x44: // f64.const
      r.skip(8);
      break;
    case 0x23: // global.get
      r.u32();
      break;
    case 0xd0: // ref.null
    case 0xd2: // ref.func
      throw new Found(REFERENCE_TYPES, null, where);
    default:
      throw new Found(op === 0xfd ? SIMD : GC, null, where);
  }
  const end = r.u8();
  if (end !== 0x0b) throw new Found(EXTENDED_CONST, null, where);
}

/** Block types: empty, one number type, or (multi-value) a type index. */
function blockType(r: BinaryReader, functionIndex: number): void {
  const byte = r.bytes[r.pos]!;
  if (byte === 0x40) {
    r.pos++;
    return;
  }
  if ((byte & 0xc0) === 0x40) {
    // A one-byte negative s33: a value type.
    r.pos++;
    const feature = valueTypeFeature(byte);
    if (feature !== null) throw new Found(feature, functionIndex, '');
    return;
  }
  throw new Found(MULTI_VALUE, functionIndex, '');
}

/** A memory immediate; bit 6 of the alignment announces an explicit memory index. */
function memoryArgument(r: BinaryReader, functionIndex: number): void {
  const align = r.u32();
  if ((align & 0x40) !== 0) throw new Found(MULTI_MEMORY, functionIndex, '');
  r.u32();
}

function scanFunctionBody(r: BinaryReader, functionIndex: number, allowed: FeatureSet, stats: ScanStatistics): void {
  let depth = 0;
  for (let i = 0, groups = r.u32(); i < groups; i++) {
    r.u32();
    const feature = valueTypeFeature(r.u8());
    if (feature !== null) throw new Found(feature, functionIndex, '');
  }
  const bytes = r.bytes;
  while (r.pos < r.end) {
    const op = bytes[r.pos++]!;
    // Numeric instructions without immediates are by far the most common; test them first.
    if (op >= 0x45 && op <= 0xbf) continue;
    switch (op) {
      case 0x0b: // end
        depth--;
        break;
      case 0x00: // unreachable
      case 0x01: // nop
      case 0x05: // else
      case 0x0f: // return
      case 0x1a: // drop
      case 0x1b: // select
        break;
      case 0x02: // block
      case 0x03: // loop
      case 0x04: // if
        blockType(r, functionIndex);
        if (++depth > stats.maxNesting) stats.maxNesting = depth;
        break;
      case 0x0c: // br
      case 0x0d: // br_if
      case 0x10: // call
      case 0x20: // local.get
      case 0x21: // local.set
      case 0x22: // local.tee
      case 0x23: // global.get
      case 0x24: // global.set
        r.u32();
        break;
      case 0x0e: // br_table
        for (let k = 0, n = r.u32(); k <= n; k++) r.u32();
        break;
      case 0x11: // call_indirect
        r.u32();
        if (r.u32() !== 0) throw new Found(REFERENCE_TYPES, functionIndex, '');
        break;
      case 0x3f: // memory.size
      case 0x40: // memory.grow
        if (r.u32() !== 0) throw new Found(MULTI_MEMORY, functionIndex, '');
        break;
      case 0x41: // i32.const
      case 0x42: // i64.const
        r.skipLeb();
        break;
      case 0x43: // f32.const
        r.skip(4);
        break;
      case 0x44: // f64.const
        r.skip(8);
        break;
      case 0xc0: // i32.extend8_s
      case 0xc1: // i32.extend16_s
      case 0xc2: // i64.extend8_s
      case 0xc3: // i64.extend16_s
      case 0xc4: // i64.extend32_s
        if (!allowed.signExtension) throw new Found(SIGN_EXTENSION, functionIndex, '');
        break;
      case 0xfc: {
        const sub = r.u32();
        if (sub <= 7) {
          if (!allowed.saturatingFloatToInt) throw new Found(SATURATING, functionIndex, '');
        } else if (sub <= 14) {
          throw new Found(BULK_MEMORY, functionIndex, '');
        } else if (sub <= 17) {
          throw new Found(REFERENCE_TYPES, functionIndex, '');
        } else {
          throw new Found(GC, functionIndex, '');
        }
        break;
      }
      case 0x12: // return_call
      case 0x13: // return_call_indirect
        throw new Found(TAIL_CALLS, functionIndex, '');
      case 0x06: // try
      case 0x07: // catch
      case 0x08: // throw
      case 0x09: // rethrow
      case 0x0a: // throw_ref
      case 0x18: // delegate
      case 0x19: // catch_all
      case 0x1f: // try_table
        throw new Found(EXCEPTIONS, functionIndex, '');
      case 0x1c: // select with types
      case 0x25: // table.get
      case 0x26: // table.set
      case 0xd0: // ref.null
      case 0xd1: // ref.is_null
      case 0xd2: // ref.func
        throw new Found(REFERENCE_TYPES, functionIndex, '');
      case 0xfd:
        throw new Found(SIMD, functionIndex, '');
      case 0xfe:
        throw new Found(THREADS, functionIndex, '');
      default:
        if (op >= 0x28 && op <= 0x3e) {
          memoryArgument(r, functionIndex); // loads and stores
          break;
        }
        throw new Found(GC, functionIndex, '');
    }
  }
}

/** The names under which the item of export kind `kind` and index `index` is exported. */
function exportNamesOf(bytes: Uint8Array, kind: number, index: number): string[] {
  const names: string[] = [];
  for (const section of splitSections(bytes)) {
    if (section.id !== 7) continue;
    const r = new BinaryReader(bytes, section.payloadStart, section.end);
    for (let i = 0, n = r.u32(); i < n; i++) {
      const name = r.name();
      const k = r.u8();
      const idx = r.u32();
      if (k === kind && idx === index) names.push(name);
    }
  }
  return names;
}
