/**
 * The code rewriter: one pass over a module's code that rewrites instructions, written by hand
 * so that it costs little more than reading the code and writing the result (westend's 6.3 MB:
 * 33–88 ms once the JIT has compiled the rewriter, 75–180 ms as the first work of a fresh
 * process, on this project's machines) and needs no Binaryen (the JSPI backend has none, and
 * must create a prototype in milliseconds).
 *
 * Four rewrites, each independent, any combination applied in the same pass:
 *
 * | option | what the guest gets | file |
 * |---|---|---|
 * | `memoryBase: K` | its memory moved up by K pages, the pages below out of its reach; it cannot tell | `memory-shift.ts` |
 * | `canonicalizeNaNs` | every NaN an engine may choose the bits of replaced by the canonical NaN | `nan-canonicalization.ts` |
 * | `fuel` | a fuel counter paid per block, and a pause (an import call) when it runs out | `fuel-metering.ts` |
 * | `maxStackHeight: N` | a logical stack height counted at every call, a trap past N | `stack-limit.ts` |
 *
 * A fifth, `guardStoresBelow` (`unwind-guard.ts`), is not applied to a guest but to what
 * Binaryen's Asyncify makes of a shifted one, and with no other option: it bounds Asyncify's own
 * stores to the reserved pages.
 *
 * It is a pure function, bytes in, bytes out, with the facts the VM needs to use the result
 * ({@link RewrittenCode}): how function indices moved, what was added and under which names
 * (`abi.ts`), where each function body now starts, and an offset map for backtraces.
 *
 * ## How it works
 *
 * A module is a list of sections; only the code section is large (westend: 6 MB of its 6.3).
 * The rewriter first reads the small sections (types, imports, function types, exports,
 * elements, globals, start) to learn what the pass needs: the parameter and result counts of
 * every type and function. Then it writes the new module section by section, in order:
 *
 * ```text
 * type      + (i64) -> ()  [fuel]   + () -> ()  [stack limit]   + () -> results, for a body's block where no type is one [stack limit]
 * import    memory limits + K        + i.fuel   [fuel]   + i.stack [stack limit]
 * function  + $out_of_fuel [fuel]
 * memory    limits + K
 * global    + $fuel (mut i64) [fuel] + $height (mut i32) [stack limit]
 * export    functions -> their new index; + f [fuel], h [stack limit]
 * start     -> its new index
 * element   functions -> their new index
 * code      every body through the pass (code-pass.ts), then $out_of_fuel
 * data      active offsets + K * 64 KiB
 * name      function indices moved; label names dropped (the rewrite adds blocks); or dropped (`names: false`)
 * ```
 *
 * and drops the custom sections that point into the old code (`.debug_*`, `sourceMappingURL`,
 * `external_debug_info`: the VM reads the guest's own DWARF, through the offset map; and the
 * code annotations, `metadata.code.*`, such as branch hints, whose offsets would be wrong).
 *
 * **Function indices.** The added imports come after the guest's imports, so every function the
 * guest defines moves up by their number ({@link FunctionIndexShift.addedImports}); the guest's
 * imports keep theirs, and the added functions come after the guest's. Calls, `ref.func`,
 * element segments, exports, the start function and the name section are remapped. With neither
 * `fuel` nor `maxStackHeight`, nothing moves.
 *
 * **The pass** (`code-pass.ts`) decodes every instruction once, copies the unchanged ones in
 * runs, and writes each rewrite before, in place of or after its instruction; see there.
 * Sizes it cannot know in advance are patched afterwards: a fuel block's cost when the block
 * ends, a function's stack cost in its own prologue once its body is walked, each section's size
 * (written as a 5-byte LEB128 so that nothing moves).
 *
 * **Offsets.** Engines give a trap's frames as byte offsets in the module they compiled. The
 * rewriter records, for every instruction a frame can point at (calls, and instructions that may
 * trap) and for every call it adds, its offset in the new module and the guest's offset it
 * stands for ({@link RewrittenCode.offsetMap}, shaped as `BacktraceFacts.offsetMap`: the added
 * calls map to the guest instruction they guard), and where each function body starts. The map
 * is made only when asked for (`offsetMap: true`): a VM can ask on the first trap that needs it,
 * since the same input and options always give the same output.
 *
 * **Cost.** One decode of each instruction, a copy of the bytes, no allocation per instruction:
 * `bench/code-rewrite.ts` measures it on westend (the numbers are in `docs/performance.md`).
 *
 * The input uses only the features the VM can allow (`base/feature-set.ts`); what the rewrites
 * add is MVP code (scratch locals, globals, `if`, `select`, calls), and the counters are exported
 * mutable globals as the renaming's are (`rename.ts`), so the output is valid wherever the input
 * is. Anything the rewriter cannot handle is a {@link RewriteError}.
 *
 * **Invalid input.** The input need not have been validated, only its skeleton
 * (`module-skeleton.ts`: every section but the code, the custom ones and, without a data count
 * section, the data): the output of an invalid module is then invalid too, or the rewrite refuses
 * it, never valid. The code is the rewriter's to check: what it copies unchanged stays as invalid
 * as it was, and what it adds could only make an index valid that points past the guest's own
 * locals, globals, types, functions or labels (it would reach a scratch local, a counter, an
 * added type or function, the body's block of the stack limit), so the pass refuses every such
 * index, bodies that do not fill the code section exactly, and bodies larger than engines
 * compile (which the rewrite could shorten)
 * (`spec/code-rewrite-invalid-input.test.ts` checks it on mutated modules). The JSPI pipeline
 * relies on it to compile only the rewritten module.
 *
 * @module
 */

import { BinaryReader, MODULE_HEADER, type SectionSpan, splitSections } from '../base/binary-reader.js';
import type { OffsetMap } from '../base/components.js';
import { FUEL_EXPORT, FUEL_IMPORT, STACK_HEIGHT_EXPORT, STACK_LIMIT_IMPORT, globalExportName } from './abi.js';
import { ByteWriter, IntList, u32Length } from './byte-writer.js';
import { CODE_OTHER, CodePass, type PassModule } from './code-pass.js';
import { outOfFuelBody } from './fuel-metering.js';
import { MAX_TOTAL_PAGES, PAGE_BYTES, shiftedSegmentOffset } from './memory-shift.js';
import type { FunctionIndexShift } from './function-shift.js';
import { RewriteError } from './rewrite-error.js';
import { MAX_LIMIT, costWidth } from './stack-limit.js';

export { RewriteError };

/** Which rewrites to apply; each is off unless given. */
export interface CodeRewriteOptions {
  /** Shift the guest's memory up by this many pages (`memory-shift.ts`); 0 or absent: no shift. */
  readonly memoryBase?: number;
  /** Canonicalize NaN results (`nan-canonicalization.ts`). */
  readonly canonicalizeNaNs?: boolean;
  /** Meter fuel, pausing through an import when it runs out (`fuel-metering.ts`). */
  readonly fuel?: boolean;
  /**
   * The fuel counter's initial value (default 0): what guest code run by the instantiation (a
   * start function left in place) has to spend. The VM sets the counter before each call.
   */
  readonly initialFuel?: bigint;
  /** The logical stack limit (`stack-limit.ts`), in its units; `null` or absent: none. */
  readonly maxStackHeight?: number | null;
  /**
   * For Asyncify's output in a shifted module (`unwind-guard.ts`), not with the other options:
   * bound every store whose static offset is below this many bytes (`memoryBase * 65536`) to end
   * at or below it, so that an unwind too deep for the reserved pages traps instead of writing
   * into the guest's memory. 0 or absent: off.
   */
  readonly guardStoresBelow?: number;
  /**
   * Globals (indices in the guest's global index space) to export as well, under the names the
   * renaming gives them (`globalExportName`, `abi.ts`): a pipeline that keeps the guest's own
   * import and export names, and needs its mutable globals exported (a reset restores them),
   * gets them from this pass instead of a renaming pass over the whole module. A guest export
   * already named so is a {@link RewriteError}.
   */
  readonly exportGlobals?: readonly number[];
  /**
   * Keep the `name` section, its function indices moved (default `true`). A VM names a trap's
   * frames from the guest's own sections (`load/debug-info.ts`), not from the engine's: without
   * it the rewrite writes less (westend: 676 KB, about 12 ms of a cold rewrite) and the engine
   * copies less. Only the engine's own stack traces then show no names.
   */
  readonly names?: boolean;
  /**
   * Record the offset map (default `false`: it costs a few percent of the rewrite's time, and a
   * backtrace needs it only once a trap happens; the rewrite being deterministic, the same
   * options give the same bytes and the map can be made then, by rewriting again with this on).
   */
  readonly offsetMap?: boolean;
}

export { type FunctionIndexShift, guestFunctionIndex, rewrittenFunctionIndex } from './function-shift.js';

/** The memory after a shift. */
export interface ShiftedMemory {
  /** `memoryBase`: the reserved pages below the guest's memory. */
  readonly pages: number;
  /** The same in bytes: the real address of the guest's byte 0. */
  readonly bytes: number;
  /** Whether the memory is imported (the host must then create it with these limits). */
  readonly imported: boolean;
  /** The limits the guest declares. */
  readonly guestLimits: { readonly initial: number; readonly maximum: number | null };
  /** The limits of the real memory. */
  readonly limits: { readonly initial: number; readonly maximum: number };
}

/** What the fuel rewrite added. */
export interface FuelFacts {
  /** The import called when a block cannot be paid (`(i64 cost) -> ()`), and its function index. */
  readonly import: { readonly module: string; readonly name: string };
  readonly importIndex: number;
  /** The counter (a mutable i64 global: fuel left), its export name and global index. */
  readonly counterExport: string;
  readonly counterGlobal: number;
  /** The appended function that calls the import until the block is paid. */
  readonly helperIndex: number;
}

/** What the stack limit added. */
export interface StackLimitFacts {
  readonly limit: number;
  /** The import called when the limit would be passed (`() -> ()`, must throw), and its index. */
  readonly import: { readonly module: string; readonly name: string };
  readonly importIndex: number;
  /** The height (a mutable i32 global), its export name and global index. */
  readonly heightExport: string;
  readonly heightGlobal: number;
  /** The cost of each guest function, by guest function index (imports: 0). */
  readonly costs: Int32Array;
}

/** The rewritten module and what its user needs to know about it (plain data). */
export interface RewrittenCode {
  readonly bytes: Uint8Array;
  readonly functions: FunctionIndexShift;
  /** `null`: no shift (not asked, or the module has no memory). */
  readonly memory: ShiftedMemory | null;
  readonly fuel: FuelFacts | null;
  readonly stack: StackLimitFacts | null;
  /**
   * Offsets in the new module of the instructions a stack trace can point at, and the guest
   * offsets (in the input) they come from, as `BacktraceFacts.offsetMap`; `null` if not asked.
   */
  readonly offsetMap: OffsetMap | null;
  /**
   * Where each defined function's body starts in the new module (the offset of its size), in
   * function index order, as `BacktraceFacts.engineFunctions.bodyStarts`.
   */
  readonly bodyStarts: Uint32Array;
  /**
   * What the guest's code uses beyond the MVP, seen on the way (`code-pass.ts`'s `CODE_*` bits,
   * with non-number local types as `CODE_OTHER`), and its first `data.drop`: so that a caller
   * can skip a scan of the code of its own (`load/features.ts`) when nothing else is used.
   */
  readonly codeFeatures: { readonly bits: number; readonly dataDrop: string | null };
}

/** V8's limit on a function's locals, parameters included. */
const MAX_LOCALS = 50_000;
/**
 * The largest function body the engines' JavaScript API compiles (its implementation limits):
 * a larger one is refused before the rewrite, which could make it smaller (a `call` index
 * written in five bytes is rewritten in one) and so hide it.
 */
const MAX_BODY_BYTES = 7_654_321;
/** The canonical order of the known sections (by id), custom sections aside. */
const SECTION_RANK: Readonly<Record<number, number>> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9, 12: 10, 10: 11, 11: 12 };

/** What the rewriter reads from the small sections before writing anything. */
interface Layout {
  readonly sections: SectionSpan[];
  readonly typeParams: Int32Array;
  readonly typeResults: Int32Array;
  /** Where each type's result types are in the input (for a block of the function's results). */
  readonly typeResultsAt: Int32Array;
  readonly importedFunctions: number;
  readonly importedGlobals: number;
  readonly functionTypes: Int32Array;
  readonly definedFunctions: number;
  readonly definedGlobals: number;
  readonly memory: { readonly imported: boolean; readonly initial: number; readonly maximum: number | null } | null;
  readonly importNames: Set<string>;
  readonly exportNames: Set<string>;
}

/**
 * Rewrites `input` (a module whose skeleton is valid, see the module documentation) as
 * `options` say. Throws {@link RewriteError} for a module it cannot rewrite so.
 */
export function rewriteCode(input: Uint8Array, options: CodeRewriteOptions): RewrittenCode {
  const memoryPages = options.memoryBase ?? 0;
  if (!Number.isInteger(memoryPages) || memoryPages < 0 || memoryPages >= MAX_TOTAL_PAGES) {
    throw new RangeError(`memoryBase must be a whole number of pages below ${MAX_TOTAL_PAGES}, not ${memoryPages}`);
  }
  const limit = options.maxStackHeight ?? null;
  if (limit !== null && (!Number.isInteger(limit) || limit < 0 || limit > MAX_LIMIT)) {
    throw new RangeError(`maxStackHeight must be a whole number from 0 to ${MAX_LIMIT}, not ${limit}`);
  }
  const fuel = options.fuel === true;
  const layout = readLayout(input);
  const I = layout.importedFunctions;
  const defined = layout.definedFunctions;
  const shiftMemory = memoryPages > 0 && layout.memory !== null;
  const base = memoryPages * PAGE_BYTES;

  for (const [on, pair] of [
    [fuel, FUEL_IMPORT],
    [limit !== null, STACK_LIMIT_IMPORT],
  ] as const) {
    if (on && layout.importNames.has(`${pair.module}\0${pair.name}`)) {
      throw new RewriteError(`the module already imports "${pair.module}"."${pair.name}", which the rewrite adds`);
    }
  }
  const exportGlobals = options.exportGlobals ?? [];
  for (const [on, name] of [
    [fuel, FUEL_EXPORT],
    [limit !== null, STACK_HEIGHT_EXPORT],
    ...exportGlobals.map((index) => [true, globalExportName(index)] as const),
  ] as const) {
    if (on && layout.exportNames.has(name)) throw new RewriteError(`the module already exports "${name}", which the rewrite adds`);
  }

  // What is added, and where.
  const typeCount = layout.typeParams.length;
  const guestFunctions = I + defined;
  // With the stack limit, each body runs inside a block of the function's results, so that its
  // `return`s and branches to the function's label reach the height's decrease: a function of
  // several results whose type has parameters needs a type `[] -> results` for it (another type
  // of the guest's may already be one, else one is added after the others).
  const firstResultType = typeCount + (fuel ? 1 : 0) + (limit !== null ? 1 : 0);
  const resultTypesAdded: number[] = [];
  const bodyTypes: Uint8Array[] = [];
  if (limit !== null) {
    const blockType = new ByteWriter(8);
    for (let f = I; f < guestFunctions; f++) {
      const t = layout.functionTypes[f]!;
      if (bodyTypes[t] !== undefined) continue;
      if (t >= typeCount) throw new RewriteError(`function ${f} has type ${t}, which does not exist`);
      const results = layout.typeResults[t]!;
      blockType.pos = 0;
      blockType.ensure(8);
      if (results === 0) blockType.byte(0x40);
      else if (results === 1) blockType.byte(input[layout.typeResultsAt[t]!]!);
      else blockType.signed(resultsOnlyType(input, layout, t) ?? firstResultType + resultTypesAdded.push(t) - 1);
      bodyTypes[t] = blockType.buf.slice(0, blockType.pos);
    }
  }
  const fuelType = typeCount;
  const voidType = typeCount + (fuel ? 1 : 0);
  const addedTypes = (fuel ? 1 : 0) + (limit !== null ? 1 : 0) + resultTypesAdded.length;
  const fuelImport = I;
  const stackImport = I + (fuel ? 1 : 0);
  const addedImports = (fuel ? 1 : 0) + (limit !== null ? 1 : 0);
  const globalCount = layout.importedGlobals + layout.definedGlobals;
  const fuelGlobal = globalCount;
  const heightGlobal = globalCount + (fuel ? 1 : 0);
  const helper = I + addedImports + defined;

  const remap = (f: number): number => (f < I ? f : f + addedImports);
  const remapping = addedImports > 0;
  // Fuel and the stack limit add blocks (`if`, the body's block), which renumbers the guest's labels.
  const blocksAdded = fuel || limit !== null;

  const costs = new Int32Array(guestFunctions).fill(-1);
  for (let f = 0; f < I; f++) costs[f] = 0;
  const width = limit === null ? 0 : costWidth(limit);
  const passModule: PassModule = {
    bytes: input,
    typeParams: layout.typeParams,
    typeResults: layout.typeResults,
    functionTypes: layout.functionTypes,
    importedFunctions: I,
    addedImports,
    memoryPages: shiftMemory ? memoryPages : 0,
    canonicalizeNaNs: options.canonicalizeNaNs === true,
    fuel: fuel ? { counter: fuelGlobal, helper } : null,
    stack: limit === null ? null : { height: heightGlobal, limit, trapImport: stackImport, width, bodyTypes },
    guardStoresBelow: options.guardStoresBelow ?? 0,
    globals: globalCount,
    offsets: options.offsetMap === true,
    costs,
  };

  // Room for the usual growth (measured on real runtimes), so that the buffer rarely moves: fresh
  // memory costs a page fault per 4 KiB touched, which is most of the rewrite's time on some machines.
  const growth = 1.05 + (memoryPages > 0 ? 0.15 : 0) + (options.canonicalizeNaNs === true ? 0.05 : 0) + (fuel ? 0.4 : 0) + (limit !== null ? 0.05 : 0);
  const out = new ByteWriter(Math.ceil(input.length * growth) + 4096);
  out.append(MODULE_HEADER);
  const section = (id: number, payload: () => void): void => {
    out.ensure(1);
    out.byte(id);
    const sizeAt = out.reserveU32();
    const start = out.pos;
    payload();
    out.patchU32(sizeAt, out.pos - start);
  };
  const copySection = (s: SectionSpan): void => out.copy(input, s.start, s.end);

  let shiftedMemory: ShiftedMemory | null = null;
  const shiftLimits = (r: BinaryReader, imported: boolean): void => {
    const flags = r.u8();
    if (flags > 1) throw new RewriteError('the memory is shared or 64-bit, which the memory shift does not support');
    const initial = r.u32();
    const maximum = (flags & 1) !== 0 ? r.u32() : null;
    const newInitial = initial + memoryPages;
    if (newInitial > MAX_TOTAL_PAGES) {
      throw new RewriteError(
        `the memory starts with ${initial} pages: shifted by ${memoryPages} pages it would pass ${MAX_TOTAL_PAGES} pages`,
      );
    }
    const newMaximum = maximum === null ? MAX_TOTAL_PAGES : Math.min(maximum + memoryPages, MAX_TOTAL_PAGES);
    out.ensure(11);
    out.byte(0x01);
    out.u32(newInitial);
    out.u32(newMaximum);
    shiftedMemory = {
      pages: memoryPages,
      bytes: base,
      imported,
      guestLimits: { initial, maximum },
      limits: { initial: newInitial, maximum: newMaximum },
    };
  };

  // Where each body starts, and the offset map's entries, in new-module positions.
  const offsets = passModule.offsets;
  const bodyStarts: number[] = [];

  const writeBody = (emit: (w: ByteWriter) => void, scratch: ByteWriter): void => {
    scratch.pos = 0;
    emit(scratch);
    bodyStarts.push(out.pos);
    out.ensure(5 + scratch.pos);
    out.u32(scratch.pos);
    out.append(scratch.buf.subarray(0, scratch.pos));
  };

  let pass: CodePass | null = null;
  let codeOther = false;
  /** For each function: its first offset map entry and where its body starts in the module. */
  const bodyTokens = new IntList(offsets ? 2 * defined + 2 : 4);
  const writeCode = (s: SectionSpan | null): void => {
    section(10, () => {
      const r = s === null ? null : new BinaryReader(input, s.payloadStart, s.end);
      const count = r === null ? 0 : r.u32();
      if (count !== defined) throw new RewriteError(`the code section has ${count} bodies for ${defined} functions`);
      out.ensure(5);
      out.u32(count + (fuel ? 1 : 0));
      pass = new CodePass(passModule);
      for (let j = 0; j < count; j++) {
        const size = r!.u32();
        if (size > MAX_BODY_BYTES) throw new RewriteError(`the body of function ${I + j} is ${size} bytes, more than engines compile (${MAX_BODY_BYTES})`);
        const end = r!.pos + size;
        if (end > r!.end) throw new RewriteError(`the body of function ${I + j} ends past the code section`);
        const groups = r!.u32();
        const groupsAt = r!.pos;
        let declared = 0;
        for (let g = 0; g < groups; g++) {
          declared += r!.u32();
          const type = r!.u8();
          if (type < 0x7c || type > 0x7f) codeOther = true;
        }
        const localsEnd = r!.pos;
        const index = I + j;
        const params = layout.typeParams[layout.functionTypes[index]!]!;
        const firstToken = pass.tokens;
        pass.rewrite(index, params, declared, localsEnd, end);
        const scratch = pass.scratchTypes;
        if (params + declared + scratch.length > MAX_LOCALS) {
          throw new RewriteError(`function ${index} has too many locals to add the rewrite's ${scratch.length} scratch locals`);
        }
        const newGroups = groups + scratch.length;
        const body = pass.body;
        const bodySize = u32Length(newGroups) + (localsEnd - groupsAt) + scratch.length * 2 + body.pos;
        bodyStarts.push(out.pos);
        out.ensure(10 + bodySize);
        out.u32(bodySize);
        out.u32(newGroups);
        out.copy(input, groupsAt, localsEnd);
        for (const type of scratch) out.bytes2(1, type);
        const at = out.pos;
        out.append(body.buf.subarray(0, body.pos));
        // The function's offset map entries are positions in its body: moved to the module's at the end.
        if (offsets) {
          bodyTokens.push(firstToken);
          bodyTokens.push(at);
        }
        r!.pos = end;
      }
      if (r !== null && !r.done) throw new RewriteError('the code section has bytes after its last body');
      if (fuel) writeBody((w) => outOfFuelBody(w, fuelGlobal, fuelImport), new ByteWriter(256));
    });
  };

  // The sections, in order; a section the rewrite needs but the module lacks is written where it belongs.
  const needed = new Map<number, () => void>();
  if (addedTypes > 0) needed.set(1, () => section(1, () => writeTypes(null)));
  if (addedImports > 0) needed.set(2, () => section(2, () => writeImports(null)));
  if (fuel) {
    needed.set(3, () => section(3, () => writeFunctions(null)));
    needed.set(10, () => writeCode(null));
  }
  if (fuel || limit !== null) needed.set(6, () => section(6, () => writeGlobals(null)));
  if (fuel || limit !== null || exportGlobals.length > 0) needed.set(7, () => section(7, () => writeExports(null)));
  const writeMissingBefore = (rank: number): void => {
    const ids = [...needed.keys()].filter((id) => SECTION_RANK[id]! < rank).sort((a, b) => SECTION_RANK[a]! - SECTION_RANK[b]!);
    for (const id of ids) {
      needed.get(id)!();
      needed.delete(id);
    }
  };

  const writeTypes = (r: BinaryReader | null): void => {
    const count = r === null ? 0 : r.u32();
    out.ensure(5);
    out.u32(count + addedTypes);
    if (r !== null) out.copy(input, r.pos, r.end);
    out.ensure(8);
    if (fuel) out.append([0x60, 1, 0x7e, 0]); // (i64) -> ()
    if (limit !== null) out.append([0x60, 0, 0]); // () -> ()
    for (const t of resultTypesAdded) {
      // () -> the results of type t
      const results = layout.typeResults[t]!;
      out.ensure(7);
      out.bytes2(0x60, 0);
      out.u32(results);
      out.copy(input, layout.typeResultsAt[t]!, layout.typeResultsAt[t]! + results);
    }
  };
  const writeImports = (r: BinaryReader | null): void => {
    const count = r === null ? 0 : r.u32();
    out.ensure(5);
    out.u32(count + addedImports);
    for (let i = 0; i < count; i++) {
      const entryStart = r!.pos;
      r!.name();
      r!.name();
      const kind = r!.u8();
      if (kind === 2 && shiftMemory) {
        out.copy(input, entryStart, r!.pos);
        shiftLimits(r!, true);
      } else {
        r!.skipImportDescriptor(kind);
        out.copy(input, entryStart, r!.pos);
      }
    }
    const addImport = (pair: { module: string; name: string }, type: number): void => {
      const encoder = new TextEncoder();
      for (const text of [pair.module, pair.name]) {
        const bytes = encoder.encode(text);
        out.ensure(5 + bytes.length);
        out.u32(bytes.length);
        out.append(bytes);
      }
      out.ensure(6);
      out.byte(0x00);
      out.u32(type);
    };
    if (fuel) addImport(FUEL_IMPORT, fuelType);
    if (limit !== null) addImport(STACK_LIMIT_IMPORT, voidType);
  };
  const writeFunctions = (r: BinaryReader | null): void => {
    const count = r === null ? 0 : r.u32();
    out.ensure(5);
    out.u32(count + (fuel ? 1 : 0));
    if (r !== null) out.copy(input, r.pos, r.end);
    out.ensure(5);
    if (fuel) out.u32(fuelType);
  };
  const writeGlobals = (r: BinaryReader | null): void => {
    const count = r === null ? 0 : r.u32();
    out.ensure(5);
    out.u32(count + (fuel ? 1 : 0) + (limit !== null ? 1 : 0));
    if (r !== null) {
      if (remapping) {
        for (let i = 0; i < count; i++) {
          out.ensure(2);
          out.byte(r.u8()); // value type
          out.byte(r.u8()); // mutability
          copyConstantExpression(r, out, remap);
        }
      } else {
        out.copy(input, r.pos, r.end);
      }
    }
    if (fuel) {
      // (mut i64) i64.const initialFuel
      out.ensure(16);
      out.bytes2(0x7e, 0x01);
      out.byte(0x42);
      signedLeb64(out, BigInt.asIntN(64, options.initialFuel ?? 0n));
      out.byte(0x0b);
    }
    if (limit !== null) out.append([0x7f, 0x01, 0x41, 0x00, 0x0b]); // (mut i32) i32.const 0
  };
  const writeExports = (r: BinaryReader | null): void => {
    const count = r === null ? 0 : r.u32();
    out.ensure(5);
    out.u32(count + (fuel ? 1 : 0) + (limit !== null ? 1 : 0) + exportGlobals.length);
    for (let i = 0; i < count; i++) {
      const nameStart = r!.pos;
      r!.name();
      out.copy(input, nameStart, r!.pos);
      const kind = r!.u8();
      const index = r!.u32();
      out.ensure(6);
      out.byte(kind);
      out.u32(kind === 0 ? remap(index) : index);
    }
    const addExport = (name: string, index: number): void => {
      out.ensure(name.length + 7);
      out.byte(name.length);
      for (let k = 0; k < name.length; k++) out.byte(name.charCodeAt(k));
      out.byte(0x03);
      out.u32(index);
    };
    if (fuel) addExport(FUEL_EXPORT, fuelGlobal);
    if (limit !== null) addExport(STACK_HEIGHT_EXPORT, heightGlobal);
    for (const index of exportGlobals) addExport(globalExportName(index), index);
  };

  for (const s of layout.sections) {
    const r = new BinaryReader(input, s.payloadStart, s.end);
    if (s.id === 0) {
      const name = r.name();
      if (name.startsWith('.debug_') || name.startsWith('metadata.code.') || name === 'sourceMappingURL' || name === 'external_debug_info') continue;
      if (name === 'name' && options.names === false) continue;
      if (name === 'name' && (remapping || blocksAdded)) {
        const payload = rewriteNameSection(input, r.pos, s.end, remap, blocksAdded);
        if (payload !== null) {
          section(0, () => {
            out.append([4, 0x6e, 0x61, 0x6d, 0x65]); // "name"
            out.append(payload);
          });
        }
        continue;
      }
      copySection(s);
      continue;
    }
    const rank = SECTION_RANK[s.id];
    if (rank === undefined) throw new RewriteError(`unknown section ${s.id}`);
    writeMissingBefore(rank);
    needed.delete(s.id);
    switch (s.id) {
      case 1:
        if (addedTypes === 0) copySection(s);
        else section(1, () => writeTypes(r));
        break;
      case 2:
        if (addedImports === 0 && !(shiftMemory && layout.memory!.imported)) copySection(s);
        else section(2, () => writeImports(r));
        break;
      case 3:
        if (!fuel) copySection(s);
        else section(3, () => writeFunctions(r));
        break;
      case 5:
        if (!shiftMemory || layout.memory!.imported) {
          copySection(s);
        } else {
          section(5, () => {
            const count = r.u32();
            if (count !== 1) throw new RewriteError(`the module defines ${count} memories; the memory shift needs one`);
            out.ensure(1);
            out.byte(1);
            shiftLimits(r, false);
          });
        }
        break;
      case 6:
        if (!remapping && !fuel && limit === null) copySection(s);
        else section(6, () => writeGlobals(r));
        break;
      case 7:
        if (!remapping && !fuel && limit === null && exportGlobals.length === 0) copySection(s);
        else section(7, () => writeExports(r));
        break;
      case 8:
        if (!remapping) {
          copySection(s);
        } else {
          section(8, () => {
            out.ensure(5);
            out.u32(remap(r.u32()));
          });
        }
        break;
      case 9:
        if (!remapping) copySection(s);
        else section(9, () => rewriteElements(r, out, remap));
        break;
      case 10:
        writeCode(s);
        break;
      case 11:
        if (!shiftMemory) copySection(s);
        else section(11, () => shiftDataSegments(r, out, base));
        break;
      default:
        copySection(s);
    }
  }
  writeMissingBefore(Infinity);

  const shift: FunctionIndexShift = {
    guestImports: I,
    addedImports,
    guestFunctions,
    functions: guestFunctions + addedImports + (fuel ? 1 : 0),
  };
  for (let f = I; f < guestFunctions; f++) if (costs[f]! < 0) costs[f] = 0;
  return {
    bytes: out.buf.subarray(0, out.pos),
    functions: shift,
    memory: shiftedMemory,
    fuel: fuel
      ? { import: { ...FUEL_IMPORT }, importIndex: fuelImport, counterExport: FUEL_EXPORT, counterGlobal: fuelGlobal, helperIndex: helper }
      : null,
    stack:
      limit === null
        ? null
        : {
            limit,
            import: { ...STACK_LIMIT_IMPORT },
            importIndex: stackImport,
            heightExport: STACK_HEIGHT_EXPORT,
            heightGlobal,
            costs,
          },
    offsetMap: offsets ? offsetMapOf(pass as CodePass | null, bodyTokens) : null,
    bodyStarts: Uint32Array.from(bodyStarts),
    codeFeatures: {
      bits: ((pass as CodePass | null)?.features ?? 0) | (codeOther ? CODE_OTHER : 0),
      dataDrop: (pass as CodePass | null)?.dataDrop ?? null,
    },
  };
}

/**
 * The offset map the pass recorded, its positions moved from each body's to the module's
 * (`bodies`: pairs of a function's first entry and its body's position). A small function of
 * its own, so that the JIT optimizes its loop at once.
 */
function offsetMapOf(pass: CodePass | null, bodies: IntList): OffsetMap {
  if (pass === null) return { engine: new Uint32Array(0), guest: new Int32Array(0) };
  const positions = pass.tokenAt;
  const count = pass.tokens;
  const pairs = bodies.data;
  for (let f = 0; f < bodies.length; f += 2) {
    const first = pairs[f]!;
    const last = f + 2 < bodies.length ? pairs[f + 2]! : count;
    const at = pairs[f + 1]!;
    for (let k = first; k < last; k++) positions[k]! += at;
  }
  return { engine: new Uint32Array(positions.buffer, 0, count), guest: pass.tokenGuest.subarray(0, count) };
}

/** A signed LEB128 of an i64 given as a bigint (room: 10 bytes). */
function signedLeb64(out: ByteWriter, value: bigint): void {
  let v = value;
  for (;;) {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && low < 0x40) || (v === -1n && low >= 0x40)) {
      out.byte(low);
      return;
    }
    out.byte(low | 0x80);
  }
}

/**
 * A type of the guest's with no parameters and the same results as type `t`, which a block of
 * `t`'s results can name; `null` if there is none.
 */
function resultsOnlyType(input: Uint8Array, layout: Layout, t: number): number | null {
  const count = layout.typeResults[t]!;
  const at = layout.typeResultsAt[t]!;
  search: for (let u = 0; u < layout.typeParams.length; u++) {
    if (layout.typeParams[u] !== 0 || layout.typeResults[u] !== count) continue;
    const from = layout.typeResultsAt[u]!;
    for (let k = 0; k < count; k++) if (input[from + k] !== input[at + k]) continue search;
    return u;
  }
  return null;
}

/** Reads the small sections; see {@link Layout}. */
function readLayout(input: Uint8Array): Layout {
  const sections = splitSections(input);
  const typeParams: number[] = [];
  const typeResults: number[] = [];
  const typeResultsAt: number[] = [];
  const importTypes: number[] = [];
  const definedTypes: number[] = [];
  let importedGlobals = 0;
  let definedGlobals = 0;
  let memory: Layout['memory'] = null;
  const importNames = new Set<string>();
  const exportNames = new Set<string>();
  for (const s of sections) {
    const r = new BinaryReader(input, s.payloadStart, s.end);
    switch (s.id) {
      case 1:
        for (let i = 0, n = r.u32(); i < n; i++) {
          if (r.u8() !== 0x60) throw new RewriteError(`type ${i} is not a function type`);
          const params = r.u32();
          r.skip(params);
          const results = r.u32();
          typeResultsAt.push(r.pos);
          r.skip(results);
          typeParams.push(params);
          typeResults.push(results);
        }
        break;
      case 2:
        for (let i = 0, n = r.u32(); i < n; i++) {
          const module = r.name();
          const name = r.name();
          importNames.add(`${module}\0${name}`);
          const kind = r.u8();
          if (kind === 0) {
            importTypes.push(r.u32());
          } else if (kind === 2) {
            const flags = r.u8();
            const initial = r.u32();
            memory = { imported: true, initial, maximum: (flags & 1) !== 0 ? r.u32() : null };
          } else {
            if (kind === 3) importedGlobals++;
            r.skipImportDescriptor(kind);
          }
        }
        break;
      case 3:
        for (let i = 0, n = r.u32(); i < n; i++) definedTypes.push(r.u32());
        break;
      case 5:
        if (r.u32() > 0) {
          const flags = r.u8();
          const initial = r.u32();
          memory = { imported: false, initial, maximum: (flags & 1) !== 0 ? r.u32() : null };
        }
        break;
      case 6:
        definedGlobals = r.u32();
        break;
      case 7:
        for (let i = 0, n = r.u32(); i < n; i++) {
          exportNames.add(r.name());
          r.u8();
          r.u32();
        }
        break;
    }
  }
  return {
    sections,
    typeParams: Int32Array.from(typeParams),
    typeResults: Int32Array.from(typeResults),
    typeResultsAt: Int32Array.from(typeResultsAt),
    importedFunctions: importTypes.length,
    importedGlobals,
    functionTypes: Int32Array.from([...importTypes, ...definedTypes]),
    definedFunctions: definedTypes.length,
    definedGlobals,
    memory,
    importNames,
    exportNames,
  };
}

/**
 * Copies a constant expression from `r` to `out`, with the function index of every `ref.func`
 * through `remap`.
 */
function copyConstantExpression(r: BinaryReader, out: ByteWriter, remap: (f: number) => number): void {
  for (;;) {
    const start = r.pos;
    const op = r.u8();
    if (op === 0xd2) {
      const f = remap(r.u32());
      out.ensure(6);
      out.byte(0xd2);
      out.u32(f);
      continue;
    }
    if (op === 0x41 || op === 0x42) r.skipLeb();
    else if (op === 0x43) r.skip(4);
    else if (op === 0x44) r.skip(8);
    else if (op === 0x23) r.u32();
    else if (op === 0xd0) r.u8();
    // Anything else in a valid constant expression has no immediates (extended constants).
    out.copy(r.bytes, start, r.pos);
    if (op === 0x0b) return;
  }
}

/** The element section's payload with every function index through `remap`. */
function rewriteElements(r: BinaryReader, out: ByteWriter, remap: (f: number) => number): void {
  const count = r.u32();
  out.ensure(5);
  out.u32(count);
  for (let i = 0; i < count; i++) {
    const flags = r.u32();
    out.ensure(5);
    out.u32(flags);
    const expressions = (flags & 4) !== 0;
    if ((flags & 1) === 0) {
      // Active: (table index), offset.
      if ((flags & 2) !== 0) {
        out.ensure(5);
        out.u32(r.u32());
      }
      copyConstantExpression(r, out, remap);
    }
    if ((flags & 3) !== 0) {
      // Element kind or reference type.
      out.ensure(1);
      out.byte(r.u8());
    }
    const n = r.u32();
    out.ensure(5);
    out.u32(n);
    for (let k = 0; k < n; k++) {
      if (expressions) {
        copyConstantExpression(r, out, remap);
      } else {
        out.ensure(5);
        out.u32(remap(r.u32()));
      }
    }
  }
}

/** The data section's payload with every active segment's offset moved by `base` bytes. */
function shiftDataSegments(r: BinaryReader, out: ByteWriter, base: number): void {
  const count = r.u32();
  out.ensure(5);
  out.u32(count);
  for (let i = 0; i < count; i++) {
    const flags = r.u32();
    out.ensure(10);
    out.u32(flags);
    if (flags === 2) {
      const memory = r.u32();
      if (memory !== 0) throw new RewriteError(`data segment ${i} is for memory ${memory}`);
      out.u32(memory);
    }
    if (flags === 0 || flags === 2) {
      if (r.u8() !== 0x41) throw new RewriteError(`data segment ${i}'s offset is not an i32.const, which the memory shift cannot move`);
      const offset = r.s32();
      if (r.u8() !== 0x0b) throw new RewriteError(`data segment ${i}'s offset is not a single i32.const`);
      out.ensure(8);
      out.byte(0x41);
      out.signed(shiftedSegmentOffset(offset, base) | 0);
      out.byte(0x0b);
    } else if (flags !== 1) {
      throw new RewriteError(`data segment ${i} has flags ${flags}`);
    }
    const length = r.u32();
    const start = r.pos;
    r.skip(length);
    out.ensure(5);
    out.u32(length);
    out.copy(r.bytes, start, r.pos);
  }
}

/**
 * The `name` section's payload (after its name) with function indices through `remap`, and
 * label names dropped if `dropLabels` (the rewrite adds blocks, which renumbers them); `null` if
 * the section is malformed (engines ignore a malformed name section: so does the rewrite).
 */
function rewriteNameSection(
  input: Uint8Array,
  start: number,
  end: number,
  remap: (f: number) => number,
  dropLabels: boolean,
): Uint8Array | null {
  const out = new ByteWriter(end - start + 64);
  try {
    const r = new BinaryReader(input, start, end);
    while (!r.done) {
      const id = r.u8();
      const size = r.u32();
      const payloadStart = r.pos;
      r.skip(size);
      if (id === 3 && dropLabels) continue;
      if (id !== 1 && id !== 2) {
        out.ensure(6);
        out.byte(id);
        out.u32(size);
        out.copy(input, payloadStart, r.pos);
        continue;
      }
      // A name map (1: functions) or an indirect name map (2: locals), by function index.
      const sub = new BinaryReader(input, payloadStart, r.pos);
      const body = new ByteWriter(size + 16);
      const count = sub.u32();
      body.ensure(5);
      body.u32(count);
      for (let i = 0; i < count; i++) {
        body.ensure(5);
        body.u32(remap(sub.u32()));
        const rest = sub.pos;
        if (id === 1) {
          sub.skip(sub.u32());
        } else {
          for (let k = 0, n = sub.u32(); k < n; k++) {
            sub.u32();
            sub.skip(sub.u32());
          }
        }
        body.copy(input, rest, sub.pos);
      }
      out.ensure(6);
      out.byte(id);
      out.u32(body.pos);
      out.append(body.buf.subarray(0, body.pos));
    }
  } catch {
    return null;
  }
  return out.toBytes();
}
