/**
 * The one pass over a function body that applies every code rewrite at once (see
 * `code-rewrite.ts` for the whole picture, and `memory-shift.ts`, `nan-canonicalization.ts`,
 * `fuel-metering.ts`, `stack-limit.ts` for what each rewrite emits and why).
 *
 * The walk decodes each instruction once, with the tables of `base/instruction-set.ts`, and
 * keeps, as it goes:
 *
 * - **a copy cursor**: the guest's bytes are copied in runs; a rewrite first copies the run up
 *   to where it writes (before an instruction, in place of it, or after it), so the unchanged
 *   majority of the code costs one `set` per run, not a write per byte;
 * - **the control stack** (kind, operand height at entry, parameters, results, whether entered
 *   in unreachable code) and the operand stack height, for the function's stack cost and to know
 *   which code is unreachable (after `br`, `br_table`, `return`, `unreachable`, up to the next
 *   `else` or `end`);
 * - **the open fuel block**: where its charge's cost placeholders are and what it has cost so
 *   far; a charge is written lazily, just before the block's first instruction that costs
 *   something, and patched when the block ends;
 * - **the scratch locals** the rewrites asked for, numbered after the function's own locals and
 *   declared when the body is done;
 * - **the offset map's entries** for the instructions a stack trace can point at (calls and
 *   instructions that may trap, plus the calls the rewrites add), as positions in the new body
 *   and in the guest's module;
 * - **the function's stack cost** (its operand stack's greatest height so far), written into
 *   its prologue once the body is walked.
 *
 * **Shaped for the JIT.** A rewrite runs once per module, usually as the first work of a
 * process, so most of its time is spent before the engine has optimized it. The walk is
 * therefore a small loop that handles in place the instructions making up 85% of real code
 * (local and global accesses, constants, numeric instructions, loads and stores: on westend 2.1
 * of its 2.5 million instructions), with one-byte LEB128s read inline, and calls out of line for
 * everything else (`#control`, with the walk's state in fields) and for every rewrite; the
 * sequences a rewrite repeats (a block's charge, a function's prologue) are built once per
 * module and copied. A large loop with everything in it took twice as long in a fresh process.
 *
 * @module
 */

import {
  ACCESS_SIZE,
  FC_COUNT,
  FC_IMMEDIATES,
  FC_MEMORY_COPY,
  FC_MEMORY_FILL,
  FC_MEMORY_INIT,
  FC_POPS,
  FC_PUSHES,
  FC_TABLE_COPY,
  FC_TABLE_FILL,
  FC_TABLE_GROW,
  FC_TABLE_INIT,
  FC_TRAPS,
  IMM_U32,
  IMM_U32_U32,
  POPS,
  PUSHES,
  STORE_VALUE_TYPE,
  TRAPS_OR_CALLS,
} from '../base/instruction-set.js';
import { ByteWriter } from './byte-writer.js';
import {
  BYTES_PER_UNIT,
  ENTRIES_PER_UNIT,
  MAX_BLOCK_COST,
  STATIC_COST,
  ChargeTemplate,
  emitSizeCharge,
} from './fuel-metering.js';
import { emitGrowAdjustment, emitShiftBulkOperands, emitSizeAdjustment, shiftedOffset, PAGE_BYTES } from './memory-shift.js';
import { NAN_RESULT, emitCanonicalize } from './nan-canonicalization.js';
import { RewriteError } from './rewrite-error.js';
import { FRAME_COST, PrologueTemplate, chargedCost, emitLeave } from './stack-limit.js';
import { emitStoreGuard } from './unwind-guard.js';

/** What the pass knows of the module, and which rewrites it applies. */
export interface PassModule {
  readonly bytes: Uint8Array;
  /** Parameter and result counts of each type. */
  readonly typeParams: Int32Array;
  readonly typeResults: Int32Array;
  /** The type of each function, in the guest's function index space. */
  readonly functionTypes: Int32Array;
  readonly importedFunctions: number;
  /** Imports the rewrite adds after the guest's: every defined function's index moves by this. */
  readonly addedImports: number;
  /** `memoryBase`, in pages (0: no shift). */
  readonly memoryPages: number;
  readonly canonicalizeNaNs: boolean;
  /** The fuel counter's global index and `$out_of_fuel`'s function index, or `null`. */
  readonly fuel: { readonly counter: number; readonly helper: number } | null;
  /**
   * The height global, the limit, the trap import, the cost placeholder's width and, by type
   * index, the block type of a body of that type (its results), or `null`.
   */
  readonly stack: {
    readonly height: number;
    readonly limit: number;
    readonly trapImport: number;
    readonly width: number;
    readonly bodyTypes: readonly Uint8Array[];
  } | null;
  /** `guardStoresBelow` (`unwind-guard.ts`): stores with a static offset below it are bounded by it (0: off). */
  readonly guardStoresBelow: number;
  /** The guest's globals, imported and defined: an index past them is refused (the rewrite adds its own after them). */
  readonly globals: number;
  /** Whether to record offset map entries. */
  readonly offsets: boolean;
  /** Each guest function's stack cost once walked (-1 before); filled by the pass. */
  readonly costs: Int32Array;
}

/**
 * What the code uses beyond the MVP, as {@link CodePass.features} records it on the way (bits):
 * enough for a caller that knows the allowed feature set to skip a scan of the code of its own
 * when the code uses nothing else (`load/features.ts`: the scan of the headers is then enough).
 * `OTHER` is anything else (bulk table operations, references, block types by index, typed
 * `select`, `call_indirect` through a table index that is not a one-byte 0): the caller then
 * scans the code to say precisely what.
 */
export const CODE_SIGN_EXTENSION = 1;
export const CODE_SATURATING = 2;
/** `memory.init`, `data.drop`, `memory.copy`, `memory.fill`. */
export const CODE_BULK_MEMORY = 4;
export const CODE_OTHER = 8;

/** Scratch local kinds and their types. */
const T = 0;
const A = 1;
const B = 2;
const D = 3;
const F32 = 4;
const F64 = 5;
const SCRATCH_TYPES: readonly number[] = [0x7f, 0x7f, 0x7f, 0x7e, 0x7d, 0x7c];

/** The net effect of each single-byte opcode of fixed effect on the operand stack's height. */
const NET: Int8Array = Int8Array.from(PUSHES, (push, op) => push - POPS[op]!);

/** The position after the last LEB128 {@link leb} read. */
let next = 0;

/** An unsigned LEB128 of at most 32 bits at `p` (sets {@link next}). */
function leb(bytes: Uint8Array, p: number): number {
  let b = bytes[p]!;
  if (b < 0x80) {
    next = p + 1;
    return b;
  }
  let result = b & 0x7f;
  let scale = 0x80;
  for (let i = 1; i < 5; i++) {
    b = bytes[p + i]!;
    result += (b & 0x7f) * scale;
    if (b < 0x80) {
      next = p + i + 1;
      return result;
    }
    scale *= 0x80;
  }
  throw new RewriteError(`malformed LEB128 at byte ${p}`);
}

/** The position after the LEB128 at `p`. */
function skipLeb(bytes: Uint8Array, p: number): number {
  while (bytes[p++]! >= 0x80) {
    // continuation bytes
  }
  return p;
}

/** Rewrites function bodies one at a time; see the module documentation. */
export class CodePass {
  readonly m: PassModule;
  /** The rewritten body of the last function (instructions only: no size, no locals). */
  readonly body = new ByteWriter(1 << 16);
  /**
   * Offset map entries of every function so far, {@link tokens} of them: the last function's as
   * positions in {@link body} (the caller moves them to the module's positions), and the guest
   * offsets they come from. Grown before each function, never during one.
   */
  tokenAt: Int32Array;
  tokenGuest: Int32Array;
  tokens = 0;
  /** Types of the scratch locals the last function needs, in local index order. */
  readonly scratchTypes: number[] = [];
  /** What the code walked so far uses beyond the MVP ({@link CODE_OTHER} and its siblings). */
  features = 0;
  /**
   * The first `data.drop` (`data.drop in function 7`), which a reset cannot undo (as the feature
   * scan's `resetBlocker`; the other blockers are {@link CODE_OTHER}).
   */
  dataDrop: string | null = null;

  readonly #scratchIndex = new Int32Array(6);
  #localCount = 0;
  /** The first guest byte not yet copied. */
  #from = 0;
  /** The open fuel block's first placeholder (-1: none open) and its cost so far. */
  #fuelAt = -1;
  #fuelCost = 0;
  /** A block's charge, built once (fuel). */
  readonly #charge: ChargeTemplate | null;
  /** A function's prologue, built once (stack limit). */
  readonly #prologue: PrologueTemplate | null;
  /** The sub-opcode of the last `0xfc` instruction. */
  #sub = 0;
  /** The walk's state while {@link #control} runs: nesting depth, operand height and its maximum, unreachable code, the final `end` seen. */
  #depth = 0;
  #height = 0;
  #max = 0;
  #dead = false;
  #done = false;
  // The control stack, indexed by depth (0: the function).
  readonly #base: number[] = [0];
  readonly #params: number[] = [0];
  readonly #results: number[] = [0];
  readonly #deadAtEntry: boolean[] = [false];
  /** The frame's opcode (`block`, `loop`, `if`), and whether a branch targets it (its `end` is then a join). */
  readonly #kind: number[] = [0];
  readonly #targeted: boolean[] = [false];

  constructor(module: PassModule) {
    this.m = module;
    this.#charge = module.fuel === null ? null : new ChargeTemplate(module.fuel.counter, module.fuel.helper);
    const stack = module.stack;
    this.#prologue = stack === null ? null : new PrologueTemplate(stack.height, stack.width, stack.limit, stack.trapImport);
    // About one entry per 10 bytes of code on real runtimes: room for 1 in 4, so that the arrays
    // rarely grow (untouched room costs no memory, only address space).
    const capacity = module.offsets ? Math.max(1 << 16, module.bytes.length >> 2) : 16;
    this.tokenAt = new Int32Array(capacity);
    this.tokenGuest = new Int32Array(capacity);
  }

  /**
   * Rewrites the instructions `bytes[start .. end)` of guest function `index` (with `locals`
   * locals, parameters included) into {@link body}; returns its stack cost.
   */
  rewrite(index: number, params: number, declaredLocals: number, start: number, end: number): number {
    const m = this.m;
    const bytes = m.bytes;
    const w = this.body;
    w.pos = 0;
    // At most one entry per instruction byte, plus the calls the rewrites add (one per charge,
    // size charge and the prologue): three per byte is always enough.
    if (m.offsets && this.tokens + 3 * (end - start) + 16 > this.tokenAt.length) {
      const size = Math.max(this.tokenAt.length * 2, this.tokens + 3 * (end - start) + 16);
      const at = new Int32Array(size);
      at.set(this.tokenAt.subarray(0, this.tokens));
      const guest = new Int32Array(size);
      guest.set(this.tokenGuest.subarray(0, this.tokens));
      this.tokenAt = at;
      this.tokenGuest = guest;
    }
    this.scratchTypes.length = 0;
    this.#scratchIndex.fill(-1);
    this.#localCount = params + declaredLocals;
    const locals = this.#localCount;
    const globals = m.globals;
    this.#from = start;
    this.#fuelAt = -1;
    this.#fuelCost = 0;

    const metering = m.fuel !== null;
    const nan = m.canonicalizeNaNs;
    const shift = m.memoryPages > 0;
    const guard = m.guardStoresBelow;
    const offsets = m.offsets;
    const tokenAt = this.tokenAt;
    const tokenGuest = this.tokenGuest;
    this.#depth = 0;
    this.#done = false;
    let height = 0;
    let max = 0;
    let dead = false;
    let p = start;
    // The stack limit: the prologue (its cost written at the end) and the body's block.
    const prologue = this.#prologue;
    let prologueAt = -1;
    if (prologue !== null) {
      prologueAt = w.template(prologue.bytes);
      if (offsets) this.#token(prologueAt + prologue.trapCall, start);
      const blockType = m.stack!.bodyTypes[m.functionTypes[index]!]!;
      w.ensure(1 + blockType.length);
      w.byte(0x02);
      for (let k = 0; k < blockType.length; k++) w.byte(blockType[k]!);
    }

    // The hot loop: the instructions that make up 85% of real code (local and global accesses,
    // constants, numeric instructions, loads and stores) are handled here; the others, in
    // #control, with the state passed through fields. A small loop is one the JIT optimizes soon.
    while (p < end) {
      const at = p;
      const op = bytes[p++]!;
      if (metering && !dead && STATIC_COST[op] === 1) {
        if (this.#fuelAt >= 0 && this.#fuelCost < MAX_BLOCK_COST) this.#fuelCost++;
        else this.#pay(at);
      }
      if (op >= 0x45 && op <= 0xc4) {
        // Numeric: no immediates, never a net push.
        if (!dead) height += NET[op]!;
        if (op >= 0xc0) this.features |= CODE_SIGN_EXTENSION;
        if (offsets && TRAPS_OR_CALLS[op] === 1) {
          const n = this.tokens;
          tokenAt[n] = w.pos + at - this.#from;
          tokenGuest[n] = at;
          this.tokens = n + 1;
        }
        if (nan && NAN_RESULT[op] !== 0) this.#canonicalize(op, p);
      } else if (op >= 0x20 && op <= 0x24) {
        // local.get/set/tee, global.get/set: an index past the guest's could reach what the rewrite adds.
        let local = bytes[p]!;
        if (local < 0x80) p++;
        else {
          local = leb(bytes, p);
          p = next;
        }
        if (local >= (op <= 0x22 ? locals : globals)) this.#outOfRange(index, op <= 0x22 ? 'local' : 'global', local, at);
        if (!dead && (height += NET[op]!) > max) max = height;
      } else if (op >= 0x41 && op <= 0x44) {
        // Constants.
        p = op === 0x43 ? p + 4 : op === 0x44 ? p + 8 : bytes[p]! < 0x80 ? p + 1 : skipLeb(bytes, p);
        if (!dead && ++height > max) max = height;
      } else if (op >= 0x28 && op <= 0x3e) {
        // Loads and stores.
        let align = bytes[p]!;
        if (align < 0x80) p++;
        else {
          align = leb(bytes, p);
          p = next;
        }
        if ((align & 0x40) !== 0) throw new RewriteError(`function ${index}: a load or store on another memory than 0`);
        let offset = bytes[p]!;
        if (offset < 0x80) p++;
        else {
          offset = leb(bytes, p);
          p = next;
        }
        if (!dead) height += NET[op]!;
        if (shift || (op >= 0x36 && offset < guard)) {
          this.#access(op, at, p, align, offset);
        } else if (offsets) {
          const n = this.tokens;
          tokenAt[n] = w.pos + at - this.#from;
          tokenGuest[n] = at;
          this.tokens = n + 1;
        }
      } else {
        this.#height = height;
        this.#max = max;
        this.#dead = dead;
        p = this.#control(index, op, at, p, end);
        height = this.#height;
        max = this.#max;
        dead = this.#dead;
      }
    }
    if (!this.#done) throw new RewriteError(`function ${index}: its code does not end with end`);
    this.#flush(end);
    const cost = FRAME_COST + this.#localCount + max;
    m.costs[index] = cost;
    if (prologue !== null) {
      // The guest's final `end` closed the body's block: the height is taken back, and the function ends.
      const stack = m.stack!;
      const charged = chargedCost(cost, stack.limit);
      w.patchSigned(prologueAt + prologue.cost, charged, stack.width);
      emitLeave(w, stack.height, charged);
      w.ensure(1);
      w.byte(0x0b);
    }
    return cost;
  }

  /**
   * Every instruction the hot loop leaves out (control, calls, parametric, table, memory size,
   * references, `0xfc`), at `at` (its immediates start at `p`); the operand height, its maximum
   * and whether the code is unreachable are read from and written to the fields. Returns the
   * position after the instruction.
   */
  #control(index: number, op: number, at: number, p: number, end: number): number {
    const m = this.m;
    const bytes = m.bytes;
    const base = this.#base;
    const blockParams = this.#params;
    const blockResults = this.#results;
    const deadAtEntry = this.#deadAtEntry;
    const kind = this.#kind;
    const targeted = this.#targeted;
    const { typeParams, typeResults } = m;
    let depth = this.#depth;
    let height = this.#height;
    let max = this.#max;
    let dead = this.#dead;
    switch (op) {
      case 0x00: // unreachable
        if (m.offsets) this.#tokenHere(at);
        dead = true;
        this.#closeFuel();
        break;
      case 0x01: // nop
        break;
      case 0x02: // block
      case 0x03: // loop
      case 0x04: {
        // if
        let entryParams = 0;
        let entryResults = 0;
        const b = bytes[p]!;
        if (b === 0x40) {
          p++;
        } else if ((b & 0xc0) === 0x40) {
          p++;
          entryResults = 1;
          if (b < 0x7c) this.features |= CODE_OTHER;
        } else {
          this.features |= CODE_OTHER;
          const type = leb(bytes, p);
          p = next;
          if (type >= typeParams.length) this.#outOfRange(index, 'type', type, at);
          entryParams = typeParams[type]!;
          entryResults = typeResults[type]!;
        }
        if (op === 0x04 && !dead) height--;
        depth++;
        base[depth] = height - entryParams;
        blockParams[depth] = entryParams;
        blockResults[depth] = entryResults;
        deadAtEntry[depth] = dead;
        kind[depth] = op;
        targeted[depth] = false;
        // A loop's body is a branch target, an if's arm is entered from the condition.
        if (op !== 0x02) this.#closeFuel();
        break;
      }
      case 0x05: // else
        height = base[depth]! + blockParams[depth]!;
        dead = deadAtEntry[depth]!;
        this.#closeFuel();
        break;
      case 0x0b: // end
        if (depth === 0) {
          if (at + 1 !== end) throw new RewriteError(`function ${index}: code after its final end`);
          this.#done = true;
          this.#closeFuel();
          break;
        }
        height = base[depth]! + blockResults[depth]!;
        if (kind[depth] === 0x02 && !targeted[depth]) {
          // A block no branch targets: its end is reached only by going on, so the fuel block goes on.
          dead ||= deadAtEntry[depth]!;
        } else {
          // A join (an if's end, a targeted block's end), or a loop's end (not to pay the code
          // after the loop at every iteration).
          dead = deadAtEntry[depth]!;
          this.#closeFuel();
        }
        depth--;
        if (!dead && height > max) max = height;
        break;
      case 0x0c: {
        // br
        const label = leb(bytes, p);
        p = next;
        if (label > depth) this.#outOfRange(index, 'label', label, at);
        if (label < depth) targeted[depth - label] = true;
        dead = true;
        this.#closeFuel();
        break;
      }
      case 0x0d: {
        // br_if (its fall-through goes on with the same fuel block)
        const label = leb(bytes, p);
        p = next;
        if (label > depth) this.#outOfRange(index, 'label', label, at);
        if (label < depth) targeted[depth - label] = true;
        if (!dead) height--;
        break;
      }
      case 0x0e: {
        // br_table
        const count = leb(bytes, p);
        p = next;
        for (let k = 0; k <= count; k++) {
          const label = leb(bytes, p);
          p = next;
          if (label > depth) this.#outOfRange(index, 'label', label, at);
          if (label < depth) targeted[depth - label] = true;
        }
        dead = true;
        this.#closeFuel();
        break;
      }
      case 0x0f: // return
        // With the stack limit, a branch to the body's block instead, where the height is taken back.
        if (m.stack !== null) this.#branchOut(at, depth);
        dead = true;
        this.#closeFuel();
        break;
      case 0x10: {
        // call
        const callee = leb(bytes, p);
        p = next;
        const type = m.functionTypes[callee];
        if (type === undefined) this.#outOfRange(index, 'function', callee, at);
        if (!dead) {
          height += typeResults[type]! - typeParams[type]!;
          if (height > max) max = height;
        }
        this.#call(at, p, callee);
        break;
      }
      case 0x11: {
        // call_indirect
        const type = leb(bytes, p);
        if (type >= typeParams.length) this.#outOfRange(index, 'type', type, at);
        if (bytes[next] !== 0) this.features |= CODE_OTHER;
        p = skipLeb(bytes, next);
        if (!dead) {
          height += typeResults[type]! - typeParams[type]! - 1;
          if (height > max) max = height;
        }
        if (m.offsets) this.#tokenHere(at);
        break;
      }
      case 0x1a: // drop
      case 0x1b: // select
        if (!dead) height += NET[op]!;
        break;
      case 0x1c: {
        // select with types (one value type byte each: the VM allows no typed references)
        this.features |= CODE_OTHER;
        const count = leb(bytes, p);
        p = next + count;
        if (!dead) height -= 2;
        break;
      }
      case 0x25: // table.get
      case 0x26: // table.set
        this.features |= CODE_OTHER;
        p = skipLeb(bytes, p);
        if (!dead) height += NET[op]!;
        if (m.offsets) this.#tokenHere(at);
        break;
      case 0x3f: // memory.size
      case 0x40: {
        // memory.grow
        if (leb(bytes, p) !== 0) throw new RewriteError(`function ${index}: ${op === 0x3f ? 'memory.size' : 'memory.grow'} of another memory than 0`);
        p = next;
        if (!dead && op === 0x3f && ++height > max) max = height;
        if (m.memoryPages > 0) this.#sizeOrGrow(op, p);
        break;
      }
      case 0xd0: // ref.null
        this.features |= CODE_OTHER;
        p++;
        if (!dead && ++height > max) max = height;
        break;
      case 0xd1: // ref.is_null
        this.features |= CODE_OTHER;
        break;
      case 0xd2: {
        // ref.func
        this.features |= CODE_OTHER;
        const target = leb(bytes, p);
        p = next;
        if (target >= m.functionTypes.length) this.#outOfRange(index, 'function', target, at);
        if (!dead && ++height > max) max = height;
        if (target >= m.importedFunctions && m.addedImports > 0) this.#refFunc(at, p, target);
        break;
      }
      case 0xfc:
        p = this.#prefixed(index, at, p, dead);
        if (!dead) {
          height += FC_PUSHES[this.#sub]! - FC_POPS[this.#sub]!;
          if (height > max) max = height;
        }
        break;
      default:
        throw new RewriteError(`function ${index}: unknown instruction 0x${op.toString(16)} at byte ${at}`);
    }
    this.#depth = depth;
    this.#height = height;
    this.#max = max;
    this.#dead = dead;
    return p;
  }

  /**
   * Refuses an index past the guest's own: the module is invalid, and the rewrite could make it
   * valid (the index would reach a local, global, type or function it adds, or, for a label, the
   * body's block of the stack limit).
   */
  #outOfRange(index: number, kind: string, value: number, at: number): never {
    throw new RewriteError(`function ${index}: ${kind} ${value} does not exist (at byte ${at})`);
  }

  /** An instruction prefixed by `0xfc` at `at` (its sub-opcode at `p`); returns the position after it, the sub-opcode in {@link #sub}. */
  #prefixed(index: number, at: number, p: number, dead: boolean): number {
    const m = this.m;
    const bytes = m.bytes;
    const w = this.body;
    const sub = leb(bytes, p);
    p = next;
    if (sub >= FC_COUNT) throw new RewriteError(`function ${index}: unknown instruction 0xfc ${sub} at byte ${at}`);
    this.#sub = sub;
    this.features |= sub <= 7 ? CODE_SATURATING : sub <= 11 ? CODE_BULK_MEMORY : CODE_OTHER;
    if (sub === 9) this.dataDrop ??= `data.drop in function ${index}`;
    const immediates = FC_IMMEDIATES[sub]!;
    if (immediates === IMM_U32) {
      const value = leb(bytes, p);
      p = next;
      if (sub === FC_MEMORY_FILL && value !== 0) throw new RewriteError(`function ${index}: memory.fill of another memory than 0`);
    } else if (immediates === IMM_U32_U32) {
      const first = leb(bytes, p);
      const second = leb(bytes, next);
      p = next;
      if ((sub === FC_MEMORY_INIT && second !== 0) || (sub === FC_MEMORY_COPY && (first | second) !== 0)) {
        throw new RewriteError(`function ${index}: a bulk memory instruction on another memory than 0`);
      }
    }
    const memoryBulk = sub === FC_MEMORY_INIT || sub === FC_MEMORY_COPY || sub === FC_MEMORY_FILL;
    if (m.fuel !== null && !dead && (memoryBulk || sub === FC_TABLE_INIT || sub === FC_TABLE_COPY || sub === FC_TABLE_FILL || sub === FC_TABLE_GROW)) {
      this.#flush(at);
      const call = emitSizeCharge(w, memoryBulk ? BYTES_PER_UNIT : ENTRIES_PER_UNIT, m.fuel.counter, m.fuel.helper, this.#scratch(A), this.#scratch(D));
      if (m.offsets) this.#token(call, at);
    }
    if (m.memoryPages > 0 && memoryBulk) {
      this.#flush(at);
      emitShiftBulkOperands(w, sub, m.memoryPages * PAGE_BYTES, this.#scratch(T), this.#scratch(A), this.#scratch(B));
    }
    if (m.offsets && FC_TRAPS[sub] === 1) this.#tokenHere(at);
    return p;
  }

  /** A load or store at `at` (its immediates end at `after`) that the shift or the unwind guard rewrites. */
  #access(op: number, at: number, after: number, align: number, offset: number): void {
    const m = this.m;
    const w = this.body;
    if (op >= 0x36 && offset < m.guardStoresBelow) {
      this.#flush(at);
      const type = STORE_VALUE_TYPE[op]!;
      const value = this.#scratch(type === 0x7f ? A : type === 0x7e ? D : type === 0x7d ? F32 : F64);
      emitStoreGuard(w, offset, ACCESS_SIZE[op]!, m.guardStoresBelow, this.#scratch(T), value);
    }
    if (m.memoryPages > 0) {
      this.#flush(at);
      w.ensure(12);
      if (m.offsets) this.#token(w.pos, at);
      w.byte(op);
      w.u32(align);
      w.u32(shiftedOffset(offset, m.memoryPages * PAGE_BYTES));
      this.#from = after;
    } else if (m.offsets) {
      this.#tokenHere(at);
    }
  }

  /** `ref.func target` at `at` (ending at `after`): the target's new index. */
  #refFunc(at: number, after: number, target: number): void {
    const w = this.body;
    this.#flush(at);
    w.ensure(6);
    w.byte(0xd2);
    w.u32(target + this.m.addedImports);
    this.#from = after;
  }

  /** `return` at `at`, `depth` blocks deep: `br depth`, to the end of the body's block (stack limit). */
  #branchOut(at: number, depth: number): void {
    const w = this.body;
    this.#flush(at);
    w.ensure(6);
    w.byte(0x0c);
    w.u32(depth);
    this.#from = at + 1;
  }

  /** After `memory.size` or `memory.grow` (ending at `after`), under the shift: the guest's view. */
  #sizeOrGrow(op: number, after: number): void {
    this.#flush(after);
    if (op === 0x3f) emitSizeAdjustment(this.body, this.m.memoryPages);
    else emitGrowAdjustment(this.body, this.m.memoryPages, this.#scratch(T));
  }

  /** After a float instruction `op` (ending at `after`) whose NaN the engine chooses: the canonical NaN instead. */
  #canonicalize(op: number, after: number): void {
    const kind = NAN_RESULT[op]!;
    this.#flush(after);
    emitCanonicalize(this.body, kind, this.#scratch(kind === 1 ? F32 : F64));
  }

  /** Copies the guest's bytes up to `to`. */
  #flush(to: number): void {
    if (to > this.#from) this.body.copy(this.m.bytes, this.#from, to);
    this.#from = to;
  }

  /** The index of the scratch local of `kind`, declared on first use. */
  #scratch(kind: number): number {
    let index = this.#scratchIndex[kind]!;
    if (index < 0) {
      index = this.#localCount + this.scratchTypes.length;
      this.scratchTypes.push(SCRATCH_TYPES[kind]!);
      this.#scratchIndex[kind] = index;
    }
    return index;
  }

  /** Records an offset map entry: `at` in the new body comes from guest offset `guest`. */
  #token(at: number, guest: number): void {
    const n = this.tokens;
    this.tokenAt[n] = at;
    this.tokenGuest[n] = guest;
    this.tokens = n + 1;
  }

  /** Records the entry of the guest instruction at `at`, not yet copied. */
  #tokenHere(at: number): void {
    const n = this.tokens;
    this.tokenAt[n] = this.body.pos + (at - this.#from);
    this.tokenGuest[n] = at;
    this.tokens = n + 1;
  }

  /** Charges one more unit for the instruction at `at`, opening a fuel block if none is. */
  #pay(at: number): void {
    if (this.#fuelAt >= 0) {
      if (this.#fuelCost < MAX_BLOCK_COST) {
        this.#fuelCost++;
        return;
      }
      this.#closeFuel();
    }
    this.#flush(at);
    const charge = this.#charge!;
    this.#fuelAt = charge.emit(this.body);
    if (this.m.offsets) this.#token(this.#fuelAt + charge.call, at);
    this.#fuelCost = 1;
  }

  /** Ends the open fuel block, if any: its cost goes into its charge. */
  #closeFuel(): void {
    if (this.#fuelAt < 0) return;
    this.#charge!.patch(this.body, this.#fuelAt, this.#fuelCost);
    this.#fuelAt = -1;
    this.#fuelCost = 0;
  }

  /** A `call` of guest function `callee` at `at` (its immediate ends at `after`): its new index. */
  #call(at: number, after: number, callee: number): void {
    const m = this.m;
    if (callee < m.importedFunctions || m.addedImports === 0) {
      if (m.offsets) this.#tokenHere(at);
      return;
    }
    const w = this.body;
    this.#flush(at);
    w.ensure(6);
    if (m.offsets) this.#token(w.pos, at);
    w.byte(0x10);
    w.u32(callee + m.addedImports);
    this.#from = after;
  }
}
