/**
 * The WebAssembly features a guest uses, and the scan that compares them with the allowed set.
 *
 * The JavaScript engine accepts far more than the MVP (SIMD, threads, reference types, tail
 * calls, ...), and so does Binaryen. A light client, however, must refuse exactly what the
 * reference implementations refuse, or a runtime that works here fails on a validator node.
 * So after the engine has validated the module, {@link scanFeatures} walks every section and
 * every instruction and reports every use of a feature outside the chosen set, grouped by what
 * is used (`memory.copy`, `a passive data segment`) with the first place it is used
 * (`function 25 (exported as "f")`) and how often.
 *
 * The scan decodes every instruction of the features the VM can allow, so that it can go on
 * after a refused one and report them all. Instructions of features it never allows (SIMD,
 * threads, exceptions, GC, tail calls) are reported, and the rest of that function is skipped
 * (their immediates are not decoded): the other functions are still scanned.
 *
 * A pipeline that walks every instruction anyway (the JSPI backend's, when it applies the code
 * rewrite: `load/bounds-rewrite.ts`) may scan the headers only (`{ code: false }`), when what the
 * walk saw of the instructions is within the allowed set: the scan of the code is then repeated
 * only for a module it must refuse, to say precisely why.
 *
 * On the way it records what the VM needs to know about the module's behaviour: the deepest
 * nesting of blocks (the Asyncify transform's cost), and whether the guest can change what a
 * reset cannot put back (tables, dropped segments: see `vm/live-instance.ts`).
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
import type { FeatureName, FeatureSet } from '../base/feature-set.js';

/** What the scan measures on the way, for the checks that follow it. */
export interface ScanStatistics {
  /** The deepest nesting of `block`/`loop`/`if` in any function. */
  maxNesting: number;
  /**
   * The first instruction by which the guest can change a table or drop a segment (e.g.
   * `table.set in function 3`), which a reset cannot undo; `null` if it has none.
   */
  resetBlocker: string | null;
  /**
   * The first function that holds a reference value (`funcref`/`externref`) in a local or makes
   * one (`ref.null`, `ref.func`, `table.get`, a typed `select`), which Binaryen's Asyncify cannot
   * save if the function may pause; `null` if there is none.
   */
  referenceFunction: number | null;
}

/** A use of a feature outside the allowed set, grouped by what is used. */
export interface FeatureViolation {
  /** The feature, as the proposals name it (e.g. `SIMD`, `multi-value`, `bulk memory`). */
  readonly feature: string;
  /** The feature's name in `VmConfig.features`, if the VM can allow it; `null` if it never does. */
  readonly allowable: FeatureName | null;
  /** What is used: an instruction (`memory.copy`) or a construct (`a passive data segment`). */
  readonly what: string;
  /** Where it is first used, e.g. `function 42 (exported as "foo")` or `the type section`. */
  readonly where: string;
  /** The index of the function it is first used in, for instructions; else `null`. */
  readonly functionIndex: number | null;
  /** How many times it is used. */
  readonly uses: number;
  /** In how many functions (0 for constructs outside functions). */
  readonly functions: number;
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
const UNKNOWN = 'an extension the VM does not know';

/** The `VmConfig.features` name of each feature the VM can allow. */
const ALLOWABLE: Readonly<Record<string, FeatureName>> = {
  [SIGN_EXTENSION]: 'sign-extension',
  [SATURATING]: 'non-trapping-float-to-int',
  [MUTABLE_GLOBALS]: 'mutable-globals',
  [BULK_MEMORY]: 'bulk-memory',
  [MULTI_VALUE]: 'multi-value',
  [REFERENCE_TYPES]: 'reference-types',
};

/** Whether `allowed` allows `feature`. */
function allows(allowed: FeatureSet, feature: string): boolean {
  switch (feature) {
    case SIGN_EXTENSION:
      return allowed.signExtension;
    case SATURATING:
      return allowed.saturatingFloatToInt;
    case MUTABLE_GLOBALS:
      return allowed.mutableGlobals;
    case BULK_MEMORY:
      return allowed.bulkMemory;
    case MULTI_VALUE:
      return allowed.multiValue;
    case REFERENCE_TYPES:
      return allowed.referenceTypes;
    default:
      return false;
  }
}

const SIGN_EXTENSION_OPS = ['i32.extend8_s', 'i32.extend16_s', 'i64.extend8_s', 'i64.extend16_s', 'i64.extend32_s'];
const PREFIX_FC_OPS = [
  'i32.trunc_sat_f32_s',
  'i32.trunc_sat_f32_u',
  'i32.trunc_sat_f64_s',
  'i32.trunc_sat_f64_u',
  'i64.trunc_sat_f32_s',
  'i64.trunc_sat_f32_u',
  'i64.trunc_sat_f64_s',
  'i64.trunc_sat_f64_u',
  'memory.init',
  'data.drop',
  'memory.copy',
  'memory.fill',
  'table.init',
  'elem.drop',
  'table.copy',
  'table.grow',
  'table.size',
  'table.fill',
];

/** Stops the scan of one function (an instruction whose immediates the scan does not decode). */
class SkipFunction {}

/** The scan's state: the violations found so far, grouped. */
class Findings {
  readonly groups = new Map<string, { violation: FeatureViolation; lastFunction: number | null; functions: number; uses: number }>();
  /** Export names of each function, filled in lazily (only when a violation is in a function). */
  private exportNames: Map<number, string[]> | null = null;

  constructor(
    private readonly bytes: Uint8Array,
    readonly allowed: FeatureSet,
  ) {}

  /** Records a use of `feature` (if the set does not allow it): `what`, at `where` or in `functionIndex`. */
  use(feature: string, what: string, functionIndex: number | null, where = ''): void {
    if (allows(this.allowed, feature)) return;
    const key = `${feature}\u0000${what}`;
    const group = this.groups.get(key);
    if (group !== undefined) {
      group.uses++;
      if (functionIndex !== null && functionIndex !== group.lastFunction) {
        group.functions++;
        group.lastFunction = functionIndex;
      }
      return;
    }
    this.groups.set(key, {
      violation: {
        feature,
        allowable: ALLOWABLE[feature] ?? null,
        what,
        where: functionIndex === null ? where : this.functionWhere(functionIndex),
        functionIndex,
        uses: 1,
        functions: functionIndex === null ? 0 : 1,
      },
      lastFunction: functionIndex,
      functions: functionIndex === null ? 0 : 1,
      uses: 1,
    });
  }

  /** `function 42 (exported as "foo")`. */
  private functionWhere(index: number): string {
    this.exportNames ??= exportNamesByFunction(this.bytes);
    const names = this.exportNames.get(index) ?? [];
    return `function ${index}${names.length > 0 ? ` (exported as ${names.map((n) => JSON.stringify(n)).join(', ')})` : ''}`;
  }

  list(): FeatureViolation[] {
    const list: FeatureViolation[] = [];
    const instructionFeatures = new Set<string>();
    for (const { violation } of this.groups.values()) if (violation.functionIndex !== null) instructionFeatures.add(violation.feature);
    for (const { violation, uses, functions } of this.groups.values()) {
      // The data count section only serves memory.init and data.drop: named with them, it adds nothing.
      if (violation.what === 'the data count section' && instructionFeatures.has(violation.feature)) continue;
      list.push({ ...violation, uses, functions });
    }
    return list;
  }
}

/**
 * Every use in `bytes` of a feature outside `allowed`, grouped (see {@link FeatureViolation}),
 * in the order they are first met; empty if there is none. `bytes` must already be a module the
 * engine validated. Throws {@link BinaryFormatError} for an encoding the engine accepts but the
 * allowed feature set does not (e.g. a memory offset encoded with more than 5 LEB128 bytes,
 * which only 64-bit memories may use).
 */
export function scanFeatures(
  bytes: Uint8Array,
  allowed: FeatureSet,
  stats: ScanStatistics = { maxNesting: 0, resetBlocker: null, referenceFunction: null },
  options: { readonly code?: boolean } = {},
): FeatureViolation[] {
  const findings = new Findings(bytes, allowed);
  scanModule(bytes, findings, stats, options.code ?? true);
  return findings.list();
}

/** The first violation {@link scanFeatures} reports, or `null`. */
export function findUnsupportedFeature(bytes: Uint8Array, allowed: FeatureSet): FeatureViolation | null {
  return scanFeatures(bytes, allowed)[0] ?? null;
}

/** The feature behind a value type byte, or `null` for the four number types. */
function valueTypeFeature(byte: number): string | null {
  if (byte >= 0x7c && byte <= 0x7f) return null;
  if (byte === 0x7b) return SIMD;
  if (byte === 0x70 || byte === 0x6f) return REFERENCE_TYPES;
  return GC;
}

function valueTypeName(byte: number): string {
  return byte === 0x7b ? 'v128' : byte === 0x70 ? 'funcref' : byte === 0x6f ? 'externref' : `value type 0x${byte.toString(16)}`;
}

/** The feature behind a limits flag byte (memory or table), or `null` for MVP limits. */
function limitsFeature(flags: number): string | null {
  if (flags <= 1) return null;
  if (flags <= 3) return THREADS; // shared
  return MEMORY64; // 64-bit index (and shared 64-bit)
}

/** The scan; `code`: the code section's instructions too (else a caller that walked them itself vouches for them). */
function scanModule(bytes: Uint8Array, findings: Findings, stats: ScanStatistics, code: boolean): void {
  let importedFunctions = 0;
  // Tables imported or defined: more than one is reference types.
  let tables = 0;
  // Mutability of every global in index order (imports first), for the export check.
  const globalIsMutable: boolean[] = [];
  const use = findings.use.bind(findings);
  const valueType = (byte: number, where: string): void => {
    const feature = valueTypeFeature(byte);
    if (feature !== null) use(feature, `a ${valueTypeName(byte)} value`, null, where);
  };
  const limits = (r: BinaryReader, what: string, where: string): void => {
    const flags = r.u8();
    const feature = limitsFeature(flags);
    if (feature !== null) use(feature, feature === THREADS ? `a shared ${what}` : `a 64-bit ${what}`, null, where);
    if (flags >= 4) {
      r.skipLeb();
      if ((flags & 1) !== 0) r.skipLeb();
      return;
    }
    r.u32();
    if ((flags & 1) !== 0) r.u32();
  };
  const tableType = (r: BinaryReader, where: string): void => {
    const elementType = r.u8();
    if (elementType !== 0x70) {
      const feature = elementType === 0x6f ? REFERENCE_TYPES : GC;
      use(feature, `a table of ${valueTypeName(elementType)}`, null, where);
      if (feature === GC) throw new SkipFunction(); // a typed reference: not decoded further
    }
    limits(r, 'table', where);
  };
  const moreThanOneTable = (where: string): void => {
    if (tables++ > 0) use(REFERENCE_TYPES, 'more than one table', null, `${where} (more than one table)`);
  };

  for (const section of splitSections(bytes)) {
    const r = new BinaryReader(bytes, section.payloadStart, section.end);
    try {
      switch (section.id) {
        case 0: // custom
        case 3: // function
        case 8: // start
          break;
        case 1: // type
          for (let i = 0, n = r.u32(); i < n; i++) {
            const form = r.u8();
            if (form !== 0x60) {
              use(GC, 'a type that is not a function type', null, 'the type section');
              throw new SkipFunction();
            }
            for (let k = 0, params = r.u32(); k < params; k++) valueType(r.u8(), 'the type section');
            const results = r.u32();
            if (results > 1) use(MULTI_VALUE, 'a function type with several results', null, `the type section (type ${i} has ${results} results)`);
            for (let k = 0; k < results; k++) valueType(r.u8(), 'the type section');
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
              moreThanOneTable(where);
              tableType(r, where);
            } else if (kind === 2) {
              limits(r, 'memory', where);
            } else if (kind === 3) {
              valueType(r.u8(), where);
              globalIsMutable.push(r.u8() === 1);
            } else {
              use(kind === 4 ? EXCEPTIONS : GC, kind === 4 ? 'an imported tag' : `an import of kind ${kind}`, null, where);
              throw new SkipFunction();
            }
          }
          break;
        case 4: // table
          for (let i = 0, n = r.u32(); i < n; i++) {
            moreThanOneTable('the table section');
            tableType(r, 'the table section');
          }
          break;
        case 5: // memory
          for (let i = 0, n = r.u32(); i < n; i++) limits(r, 'memory', 'the memory section');
          break;
        case 6: // global
          for (let i = 0, n = r.u32(); i < n; i++) {
            valueType(r.u8(), 'the global section');
            globalIsMutable.push(r.u8() === 1);
            constantExpression(r, `the initializer of global ${globalIsMutable.length - 1}`, findings, false);
          }
          break;
        case 7: // export
          for (let i = 0, n = r.u32(); i < n; i++) {
            const name = r.name();
            const kind = r.u8();
            const index = r.u32();
            if (kind === 3 && globalIsMutable[index] === true) use(MUTABLE_GLOBALS, 'an exported mutable global', null, `the export "${name}"`);
            if (kind > 3) use(EXCEPTIONS, 'an exported tag', null, `the export "${name}"`);
          }
          break;
        case 9: // element
          for (let i = 0, n = r.u32(); i < n; i++) elementSegment(r, i, findings);
          break;
        case 10: // code
          if (!code) break;
          for (let i = 0, n = r.u32(); i < n; i++) {
            const size = r.u32();
            const end = r.pos + size;
            try {
              scanFunctionBody(new BinaryReader(bytes, r.pos, end), importedFunctions + i, findings, stats);
            } catch (e) {
              if (!(e instanceof SkipFunction)) throw e;
            }
            r.pos = end;
          }
          break;
        case 11: // data
          for (let i = 0, n = r.u32(); i < n; i++) {
            const flags = r.u32();
            const where = `data segment ${i}`;
            if (flags === 1) {
              use(BULK_MEMORY, 'a passive data segment', null, `${where} (passive)`);
            } else if (flags === 2) {
              const memory = r.u32();
              if (memory !== 0) use(MULTI_MEMORY, 'a data segment for another memory than 0', null, where);
            } else if (flags !== 0) {
              use(UNKNOWN, `a data segment with flags ${flags}`, null, where);
              throw new SkipFunction();
            }
            if (flags !== 1) constantExpression(r, `the offset of data segment ${i}`, findings, false);
            r.skip(r.u32());
          }
          break;
        case 12:
          use(BULK_MEMORY, 'the data count section', null, 'the data count section');
          break;
        case 13:
          use(EXCEPTIONS, 'the tag section', null, 'the tag section');
          break;
        default:
          use(`${UNKNOWN} (section id ${section.id})`, `section ${section.id}`, null, `section ${section.id}`);
      }
    } catch (e) {
      // The rest of a section the scan cannot decode (it already reported why) is skipped.
      if (!(e instanceof SkipFunction)) throw e;
    }
  }
}

/**
 * An element segment. Flags (bulk memory and reference types): bit 0 passive or declarative,
 * bit 1 an explicit table index (active) or declarative (with bit 0), bit 2 expressions instead
 * of function indices.
 */
function elementSegment(r: BinaryReader, i: number, findings: Findings): void {
  const where = `element segment ${i}`;
  const flags = r.u32();
  if (flags > 7) {
    findings.use(UNKNOWN, `an element segment with flags ${flags}`, null, where);
    throw new SkipFunction();
  }
  const active = (flags & 1) === 0;
  const explicitTable = (flags & 2) !== 0;
  const expressions = (flags & 4) !== 0;
  if (!active) {
    if (explicitTable) findings.use(REFERENCE_TYPES, 'a declarative element segment', null, `${where} (declarative)`);
    else findings.use(BULK_MEMORY, 'a passive element segment', null, `${where} (passive)`);
  }
  if (active && explicitTable) {
    const table = r.u32();
    if (table !== 0) findings.use(REFERENCE_TYPES, 'an element segment for another table than 0', null, where);
    else findings.use(BULK_MEMORY, 'an element segment with an explicit table index', null, where);
  }
  if (active) constantExpression(r, `the offset of ${where}`, findings, false);
  if (active && !explicitTable && expressions) findings.use(BULK_MEMORY, 'an element segment of expressions', null, where);
  if (!active || explicitTable) {
    // The element kind (0x00: funcref) or the reference type.
    const type = r.u8();
    if (expressions && type !== 0x70) {
      findings.use(type === 0x6f ? REFERENCE_TYPES : GC, `an element segment of ${valueTypeName(type)}`, null, where);
      if (type !== 0x6f) throw new SkipFunction();
    }
  }
  for (let k = 0, count = r.u32(); k < count; k++) {
    if (expressions) constantExpression(r, `an element of ${where}`, findings, true);
    else r.u32();
  }
}

/**
 * A constant expression: one `*.const`, `global.get`, `ref.null` or `ref.func`, then `end`.
 * `inElement`: in an element segment, where `ref.func` and `ref.null func` came with bulk
 * memory (elsewhere they are reference types).
 */
function constantExpression(r: BinaryReader, where: string, findings: Findings, inElement: boolean): void {
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
    case 0xd0: {
      const type = r.u8();
      findings.use(inElement && type === 0x70 ? BULK_MEMORY : REFERENCE_TYPES, `ref.null ${valueTypeName(type)}`, null, where);
      break;
    }
    case 0xd2: // ref.func
      r.u32();
      findings.use(inElement ? BULK_MEMORY : REFERENCE_TYPES, 'ref.func', null, where);
      break;
    default:
      findings.use(op === 0xfd ? SIMD : GC, op === 0xfd ? 'v128.const' : `instruction 0x${op.toString(16)}`, null, where);
      throw new SkipFunction();
  }
  const end = r.u8();
  if (end !== 0x0b) {
    findings.use(EXTENDED_CONST, 'a constant expression of several instructions', null, where);
    throw new SkipFunction();
  }
}

/** The opcodes (outside prefixes) of features the VM never allows, with the feature and the instruction's name. */
const NEVER: ReadonlyMap<number, readonly [string, string]> = new Map([
  [0x12, [TAIL_CALLS, 'return_call']],
  [0x13, [TAIL_CALLS, 'return_call_indirect']],
  [0x06, [EXCEPTIONS, 'try']],
  [0x07, [EXCEPTIONS, 'catch']],
  [0x08, [EXCEPTIONS, 'throw']],
  [0x09, [EXCEPTIONS, 'rethrow']],
  [0x0a, [EXCEPTIONS, 'throw_ref']],
  [0x18, [EXCEPTIONS, 'delegate']],
  [0x19, [EXCEPTIONS, 'catch_all']],
  [0x1f, [EXCEPTIONS, 'try_table']],
]);

function scanFunctionBody(r: BinaryReader, functionIndex: number, findings: Findings, stats: ScanStatistics): void {
  const use = (feature: string, what: string): void => {
    if (feature === REFERENCE_TYPES && holdsReference(what)) stats.referenceFunction ??= functionIndex;
    findings.use(feature, what, functionIndex);
  };
  const never = (feature: string, what: string): never => {
    use(feature, what);
    throw new SkipFunction();
  };
  const blocker = (what: string): void => {
    stats.resetBlocker ??= `${what} in function ${functionIndex}`;
  };
  const memoryIndex = (what: string): void => {
    if (r.u32() !== 0) use(MULTI_MEMORY, `${what} on another memory than 0`);
  };
  let depth = 0;
  for (let i = 0, groups = r.u32(); i < groups; i++) {
    r.u32();
    const type = r.u8();
    const feature = valueTypeFeature(type);
    if (feature !== null) use(feature, `a local of type ${valueTypeName(type)}`);
    if (feature === GC) throw new SkipFunction();
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
        blockType(r, op, use, never);
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
        if (r.u32() !== 0) use(REFERENCE_TYPES, 'call_indirect through another table than 0');
        break;
      case 0x3f: // memory.size
      case 0x40: // memory.grow
        memoryIndex(op === 0x3f ? 'memory.size' : 'memory.grow');
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
        use(SIGN_EXTENSION, SIGN_EXTENSION_OPS[op - 0xc0]!);
        break;
      case 0xfc: {
        const sub = r.u32();
        const name = PREFIX_FC_OPS[sub];
        if (name === undefined) never(UNKNOWN, `instruction 0xfc ${sub}`);
        if (sub <= 7) {
          use(SATURATING, name!);
        } else if (sub <= 14) {
          use(BULK_MEMORY, name!);
          switch (sub) {
            case 8: // memory.init segment memory
              r.u32();
              memoryIndex(name!);
              break;
            case 9: // data.drop segment
              r.u32();
              blocker(name!);
              break;
            case 10: // memory.copy memory memory
              memoryIndex(name!);
              memoryIndex(name!);
              break;
            case 11: // memory.fill memory
              memoryIndex(name!);
              break;
            case 12: // table.init segment table
              r.u32();
              if (r.u32() !== 0) use(REFERENCE_TYPES, 'table.init on another table than 0');
              blocker(name!);
              break;
            case 13: // elem.drop segment
              r.u32();
              blocker(name!);
              break;
            case 14: // table.copy table table
              if ((r.u32() | r.u32()) !== 0) use(REFERENCE_TYPES, 'table.copy on another table than 0');
              blocker(name!);
              break;
          }
        } else {
          use(REFERENCE_TYPES, name!);
          r.u32(); // table
          if (sub !== 16) blocker(name!); // all but table.size
        }
        break;
      }
      case 0x1c: {
        // select with types
        use(REFERENCE_TYPES, 'select with a type');
        for (let k = 0, n = r.u32(); k < n; k++) {
          const type = r.u8();
          const feature = valueTypeFeature(type);
          if (feature !== null) use(feature, `select of ${valueTypeName(type)}`);
          if (feature === GC) throw new SkipFunction();
        }
        break;
      }
      case 0x25: // table.get
        use(REFERENCE_TYPES, 'table.get');
        r.u32();
        break;
      case 0x26: // table.set
        use(REFERENCE_TYPES, 'table.set');
        r.u32();
        blocker('table.set');
        break;
      case 0xd0: {
        // ref.null
        const type = r.u8();
        use(REFERENCE_TYPES, `ref.null ${valueTypeName(type)}`);
        if (type !== 0x70 && type !== 0x6f) never(GC, `ref.null ${valueTypeName(type)}`);
        break;
      }
      case 0xd1: // ref.is_null
        use(REFERENCE_TYPES, 'ref.is_null');
        break;
      case 0xd2: // ref.func
        use(REFERENCE_TYPES, 'ref.func');
        r.u32();
        break;
      case 0xfd:
        never(SIMD, `a SIMD instruction (0xfd ${r.u32()})`);
        break;
      case 0xfe:
        never(THREADS, `an atomic instruction (0xfe ${r.u32()})`);
        break;
      default: {
        if (op >= 0x28 && op <= 0x3e) {
          // Loads and stores; bit 6 of the alignment announces an explicit memory index.
          const align = r.u32();
          if ((align & 0x40) !== 0) {
            use(MULTI_MEMORY, 'a load or store on another memory than 0');
            r.u32();
          }
          r.u32();
          break;
        }
        const known = NEVER.get(op);
        if (known !== undefined) never(known[0], known[1]);
        never(GC, `instruction 0x${op.toString(16)}`);
      }
    }
  }
}

/** Whether the construct `what` (of reference types) holds or makes a reference value. */
function holdsReference(what: string): boolean {
  return (
    what.startsWith('a local of type') ||
    what.startsWith('ref.') ||
    what === 'table.get' ||
    what === 'select with a type' ||
    what.endsWith(' of funcref') ||
    what.endsWith(' of externref')
  );
}

/** Block types: empty, one value type, or (multi-value) a type index. */
function blockType(
  r: BinaryReader,
  op: number,
  use: (feature: string, what: string) => void,
  never: (feature: string, what: string) => never,
): void {
  const name = op === 0x02 ? 'block' : op === 0x03 ? 'loop' : 'if';
  const byte = r.bytes[r.pos]!;
  if (byte === 0x40) {
    r.pos++;
    return;
  }
  if ((byte & 0xc0) === 0x40) {
    // A one-byte negative s33: a value type.
    r.pos++;
    const feature = valueTypeFeature(byte);
    if (feature === GC) never(GC, `${name} of a typed reference`);
    if (feature !== null) use(feature, `${name} of ${valueTypeName(byte)}`);
    return;
  }
  use(MULTI_VALUE, `${name} with a type index (several results or parameters)`);
  r.skipLeb();
}

/** The export names of every exported function, by function index. */
function exportNamesByFunction(bytes: Uint8Array): Map<number, string[]> {
  const names = new Map<number, string[]>();
  for (const section of splitSections(bytes)) {
    if (section.id !== 7) continue;
    const r = new BinaryReader(bytes, section.payloadStart, section.end);
    for (let i = 0, n = r.u32(); i < n; i++) {
      const name = r.name();
      const kind = r.u8();
      const index = r.u32();
      if (kind === 0) {
        const list = names.get(index);
        if (list === undefined) names.set(index, [name]);
        else list.push(name);
      }
    }
  }
  return names;
}
