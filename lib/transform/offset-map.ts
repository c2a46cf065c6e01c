/**
 * Where the instrumented code came from: for the Asyncify backend, a map from offsets in the
 * compiled (instrumented) module to offsets in the guest's own module, so that a trap's frames
 * can be given the guest's source lines (`vm/backtrace.ts`).
 *
 * Binaryen rewrites every function it instruments, and its post passes rewrite the rest, so no
 * offset survives as such; but Binaryen carries *debug locations* on expressions through its
 * passes and writes them out as a source map. So, before the transform:
 *
 * 1. the guest's function bodies are decoded here, listing the instructions a backtrace can
 *    point at (calls, which are the frames of callers, and the instructions that can trap:
 *    loads, stores, `unreachable`, integer division and remainder, float-to-int truncations,
 *    `call_indirect`, bulk memory operations) with their offsets;
 * 2. Binaryen's IR of each function is walked in execution order, listing the same kinds of
 *    expressions; where the two lists agree (they do for the code compilers emit: measured on
 *    clang output, every function), each expression gets the guest offset as its debug
 *    location (a "line" of a source named after nothing in particular);
 * 3. after the transform, the source map Binaryen writes says, for each of those expressions,
 *    where it ended up.
 *
 * A function whose lists disagree gets no locations (its frames keep `offset: null`). The walk
 * costs time in proportion to the module's code, so the loader asks for it only for modules
 * with DWARF line tables, which are what makes offsets worth having.
 *
 * @module
 */

import { BinaryReader, splitSections } from '../base/binary-reader.js';
import { FC_MEMORY_COPY, FC_MEMORY_FILL, FC_MEMORY_INIT, instructionEnd, readLeb } from '../base/instruction-set.js';
import type { OffsetMap } from '../base/components.js';

type Binaryen = typeof import('binaryen').default;
type BinaryenModule = ReturnType<Binaryen['readBinary']>;

/** One instruction a backtrace can point at: its kind (`call:<index>`, `load`, ...) and offset. */
type Token = readonly [kind: string, at: number];

const DIV_REM_OPCODES = new Set([0x6d, 0x6e, 0x6f, 0x70, 0x7f, 0x80, 0x81, 0x82]);
const TRUNCATION_OPCODES = new Set([0xa8, 0xa9, 0xaa, 0xab, 0xae, 0xaf, 0xb0, 0xb1]);

/** The tokens of every defined function of `bytes`, in order, and the number of imported functions. */
function guestTokens(bytes: Uint8Array): { imported: number; functions: Token[][] } {
  let imported = 0;
  const functions: Token[][] = [];
  for (const section of splitSections(bytes)) {
    const r = new BinaryReader(bytes, section.payloadStart, section.end);
    if (section.id === 2) {
      for (let i = 0, n = r.u32(); i < n; i++) {
        r.name();
        r.name();
        const kind = r.u8();
        r.skipImportDescriptor(kind);
        if (kind === 0) imported++;
      }
    } else if (section.id === 10) {
      for (let i = 0, n = r.u32(); i < n; i++) {
        const size = r.u32();
        const end = r.pos + size;
        functions.push(functionTokens(new BinaryReader(bytes, r.pos, end)));
        r.pos = end;
      }
    }
  }
  return { imported, functions };
}

/** The tokens of one function body (the features the VM can allow; anything else ends the list). */
function functionTokens(b: BinaryReader): Token[] {
  const tokens: Token[] = [];
  for (let groups = b.u32(); groups > 0; groups--) {
    b.u32();
    b.u8();
  }
  const bytes = b.bytes;
  let at = b.pos;
  while (at < b.end) {
    const op = bytes[at]!;
    // The instruction set's tables skip the immediates (base/instruction-set.ts).
    const next = instructionEnd(bytes, at);
    // An instruction the tables do not know: the rest cannot be told apart.
    if (next < 0) return tokens;
    if (op >= 0x28 && op <= 0x3e) tokens.push([op <= 0x35 ? 'load' : 'store', at]);
    else if (DIV_REM_OPCODES.has(op)) tokens.push(['divrem', at]);
    else if (TRUNCATION_OPCODES.has(op)) tokens.push(['trunc', at]);
    else if (op === 0x00) tokens.push(['unreachable', at]);
    else if (op === 0x10) tokens.push([`call:${readLeb(bytes, at + 1)}`, at]);
    else if (op === 0x11) tokens.push(['call_indirect', at]);
    else if (op === 0xfc) {
      const sub = readLeb(bytes, at + 1);
      if (sub === FC_MEMORY_INIT) tokens.push(['memory.init', at]);
      else if (sub === FC_MEMORY_COPY) tokens.push(['memory.copy', at]);
      else if (sub === FC_MEMORY_FILL) tokens.push(['memory.fill', at]);
    }
    at = next;
  }
  return tokens;
}

/** The fields of each Binaryen expression kind that hold its children, in evaluation order. */
function childFields(b: Binaryen): ReadonlyMap<number, readonly string[]> {
  return new Map<number, readonly string[]>([
    [b.BlockId, ['children']],
    [b.IfId, ['condition', 'ifTrue', 'ifFalse']],
    [b.LoopId, ['body']],
    [b.BreakId, ['value', 'condition']],
    [b.SwitchId, ['value', 'condition']],
    [b.CallId, ['operands']],
    [b.CallIndirectId, ['operands', 'target']],
    [b.LocalSetId, ['value']],
    [b.GlobalSetId, ['value']],
    [b.LoadId, ['ptr']],
    [b.StoreId, ['ptr', 'value']],
    [b.UnaryId, ['value']],
    [b.BinaryId, ['left', 'right']],
    [b.SelectId, ['ifTrue', 'ifFalse', 'condition']],
    [b.DropId, ['value']],
    [b.ReturnId, ['value']],
    [b.MemoryGrowId, ['delta']],
    [b.MemoryInitId, ['dest', 'offset', 'size']],
    [b.MemoryCopyId, ['dest', 'source', 'size']],
    [b.MemoryFillId, ['dest', 'value', 'size']],
    [b.RefIsNullId, ['value']],
    [b.TableGetId, ['index']],
    [b.TableSetId, ['index', 'value']],
    [b.TableGrowId, ['value', 'delta']],
    [b.TableFillId, ['dest', 'value', 'size']],
    [b.TableCopyId, ['dest', 'source', 'size']],
    [b.TableInitId, ['dest', 'offset', 'size']],
    [b.TupleMakeId, ['operands']],
    [b.TupleExtractId, ['tuple']],
  ]);
}

/**
 * Gives the expressions of `module` (read from `bytes`, not transformed yet) that match the
 * guest's instructions their guest offset as debug location: `bytes`' offset plus `delta`, or,
 * where `bytes` are the output of a code rewrite (`code-rewrite.ts`), the offset its offset map
 * `rewritten` gives, plus `delta` (an instruction the map does not know gets none). Returns how
 * many got one.
 */
export function annotateGuestOffsets(
  binaryen: Binaryen,
  module: BinaryenModule,
  bytes: Uint8Array,
  delta: number,
  rewritten: OffsetMap | null = null,
): number {
  const { imported, functions } = guestTokens(bytes);
  if (module.getNumFunctions() !== imported + functions.length) return 0;
  const b = binaryen;
  const children = childFields(b);
  const divRem = new Set([b.DivSInt32, b.DivUInt32, b.RemSInt32, b.RemUInt32, b.DivSInt64, b.DivUInt64, b.RemSInt64, b.RemUInt64]);
  const truncations = new Set([
    b.TruncSFloat32ToInt32,
    b.TruncSFloat32ToInt64,
    b.TruncUFloat32ToInt32,
    b.TruncUFloat32ToInt64,
    b.TruncSFloat64ToInt32,
    b.TruncSFloat64ToInt64,
    b.TruncUFloat64ToInt32,
    b.TruncUFloat64ToInt64,
  ]);
  const indexByName = new Map<string, number>();
  for (let i = 0; i < module.getNumFunctions(); i++) indexByName.set(b.getFunctionInfo(module.getFunctionByIndex(i)).name, i);

  const tokenOf = (id: number, info: Record<string, unknown>): string | null => {
    switch (id) {
      case b.CallId:
        return `call:${indexByName.get(info['target'] as string) ?? -1}`;
      case b.CallIndirectId:
        return 'call_indirect';
      case b.LoadId:
        return 'load';
      case b.StoreId:
        return 'store';
      case b.BinaryId:
        return divRem.has(info['op'] as number) ? 'divrem' : null;
      case b.UnaryId:
        return truncations.has(info['op'] as number) ? 'trunc' : null;
      case b.MemoryInitId:
        return 'memory.init';
      case b.MemoryCopyId:
        return 'memory.copy';
      case b.MemoryFillId:
        return 'memory.fill';
      default:
        return null;
    }
  };
  /** The expressions of a function body that are tokens, in execution order (an explicit stack: bodies nest deeply). */
  const irTokens = (body: number): [string, number][] => {
    const out: [string, number][] = [];
    const stack: [number, boolean][] = [[body, false]];
    while (stack.length > 0) {
      const [expr, visited] = stack.pop()!;
      if (expr === 0) continue;
      const id = b.getExpressionId(expr);
      if (id === b.UnreachableId) {
        out.push(['unreachable', expr]);
        continue;
      }
      const fields = children.get(id);
      if (fields === undefined) continue;
      const info = b.getExpressionInfo(expr) as unknown as Record<string, unknown>;
      if (visited) {
        const token = tokenOf(id, info);
        if (token !== null) out.push([token, expr]);
        continue;
      }
      stack.push([expr, true]);
      const kids: number[] = [];
      for (const field of fields) {
        const value = info[field];
        if (Array.isArray(value)) kids.push(...(value as number[]));
        else if (typeof value === 'number') kids.push(value);
      }
      for (let k = kids.length - 1; k >= 0; k--) stack.push([kids[k]!, false]);
    }
    return out;
  };

  const file = module.addDebugInfoFileName('guest');
  let annotated = 0;
  functions.forEach((guest, i) => {
    const fn = module.getFunctionByIndex(imported + i);
    const ir = irTokens(b.getFunctionInfo(fn).body);
    if (ir.length !== guest.length || ir.some(([kind], k) => kind !== guest[k]![0])) return;
    ir.forEach(([, expr], k) => {
      const at = rewritten === null ? guest[k]![1] : lookupOffset(rewritten, guest[k]![1]);
      if (at === null) return;
      module.setDebugLocation(fn, expr, file, at + delta + 1, 0);
      annotated++;
    });
  });
  return annotated;
}

/** The offset `map` gives `engine` (an exact entry), or `null` where it has none or says the instruction was added. */
export function lookupOffset(map: OffsetMap, engine: number): number | null {
  const keys = map.engine;
  let lo = 0;
  let hi = keys.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const key = keys[mid]!;
    if (key === engine) return map.guest[mid]! < 0 ? null : map.guest[mid]!;
    if (key < engine) lo = mid + 1;
    else hi = mid - 1;
  }
  return null;
}

/**
 * The offset map of two rewrites in a row: `outer` maps the final module's offsets to the
 * intermediate module's, `inner` those to the guest's. An entry of `outer` that `inner` does not
 * know is left out.
 */
export function composeOffsetMaps(outer: OffsetMap, inner: OffsetMap): OffsetMap {
  const engine: number[] = [];
  const guest: number[] = [];
  for (let i = 0; i < outer.engine.length; i++) {
    const middle = outer.guest[i]!;
    if (middle < 0) continue;
    const at = lookupOffset(inner, middle);
    if (at === null) continue;
    engine.push(outer.engine[i]!);
    guest.push(at);
  }
  return { engine: Uint32Array.from(engine), guest: Int32Array.from(guest) };
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * The offset map of a source map Binaryen wrote for a module annotated by
 * {@link annotateGuestOffsets}: each mapping's generated column is an offset in the module,
 * its source line (0-based, so the annotation's line minus one) the guest offset.
 */
export function offsetMapFromSourceMap(json: string): OffsetMap {
  const mappings = (JSON.parse(json) as { mappings?: unknown }).mappings;
  const engine: number[] = [];
  const guest: number[] = [];
  if (typeof mappings !== 'string') return { engine: new Uint32Array(0), guest: new Int32Array(0) };
  let column = 0;
  let line = 0;
  for (const segment of mappings.split(/[,;]/)) {
    if (segment === '') continue;
    const fields: number[] = [];
    let value = 0;
    let shift = 0;
    for (const ch of segment) {
      const digit = BASE64.indexOf(ch);
      value += (digit & 31) * 2 ** shift;
      if ((digit & 32) !== 0) {
        shift += 5;
      } else {
        fields.push(value % 2 === 1 ? -(value - 1) / 2 : value / 2);
        value = 0;
        shift = 0;
      }
    }
    column += fields[0] ?? 0;
    if (fields.length >= 4) line += fields[2]!;
    engine.push(column);
    guest.push(fields.length >= 4 ? line : -1);
  }
  // Sorted by engine offset (Binaryen writes them in order; a stable sort keeps it so).
  const order = engine.map((_, i) => i).sort((a, c) => engine[a]! - engine[c]!);
  return { engine: Uint32Array.from(order, (i) => engine[i]!), guest: Int32Array.from(order, (i) => guest[i]!) };
}

/** `binary` without its `sourceMappingURL` custom section (Binaryen adds one when it writes a source map). */
export function withoutSourceMapUrl(binary: Uint8Array): Uint8Array {
  const chunks: Uint8Array[] = [binary.subarray(0, 8)];
  let removed = false;
  for (const section of splitSections(binary)) {
    if (section.id === 0) {
      const r = new BinaryReader(binary, section.payloadStart, section.end);
      if (r.name() === 'sourceMappingURL') {
        removed = true;
        continue;
      }
    }
    chunks.push(binary.subarray(section.start, section.end));
  }
  if (!removed) return binary;
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
