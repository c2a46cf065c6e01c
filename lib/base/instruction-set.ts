/**
 * The instruction set as data: for every opcode of the features the VM can allow (the MVP,
 * sign-extension, non-trapping float-to-int, bulk memory, multi-value, reference types), the
 * shape of its immediates and its effect on the operand stack.
 *
 * Code that walks function bodies (the code rewriter in `transform/code-rewrite.ts`; the
 * feature scan in `load/features.ts` and the offset map's decoder decode the same encoding with
 * their own per-feature switches) looks an opcode up here instead of knowing every instruction
 * itself:
 *
 * - {@link IMMEDIATES} says how to read (or skip) what follows the opcode byte;
 * - {@link POPS} and {@link PUSHES} say how many values it takes from and leaves on the operand
 *   stack, or {@link VARIES} for the instructions whose effect depends on a type (calls, blocks)
 *   or that end a path (`br`, `return`, ...);
 * - {@link TRAPS_OR_CALLS} marks the instructions a stack trace can point at: the ones that may
 *   trap (loads, stores, division, truncation, `unreachable`, bulk memory and table accesses) and
 *   the calls (a caller's frame points at its call).
 *
 * Opcodes prefixed by `0xfc` are looked up by their sub-opcode in the `FC_` tables. An opcode
 * outside the allowed features has {@link IMM_UNKNOWN}: its immediates cannot be skipped, so a
 * walker must stop there.
 *
 * @module
 */

/** No immediate. */
export const IMM_NONE = 0;
/** A block type: `0x40`, a value type, or (multi-value) a type index as an s33. */
export const IMM_BLOCK = 1;
/** One u32: a label, function, local, global, table, segment or memory index. */
export const IMM_U32 = 2;
/** `br_table`: a vector of labels, then the default label. */
export const IMM_BR_TABLE = 3;
/** Two u32s (`call_indirect`: type and table; `memory.init`, `table.copy`, ...). */
export const IMM_U32_U32 = 4;
/** A memory argument: alignment (bit 6: an explicit memory index follows), then offset. */
export const IMM_MEMARG = 5;
/** An s32 (`i32.const`). */
export const IMM_S32 = 6;
/** An s64 (`i64.const`). */
export const IMM_S64 = 7;
/** Four bytes (`f32.const`). */
export const IMM_F32 = 8;
/** Eight bytes (`f64.const`). */
export const IMM_F64 = 9;
/** A vector of value types (`select` with types). */
export const IMM_TYPES = 10;
/** One byte: a reference type (`ref.null`). */
export const IMM_BYTE = 11;
/** The `0xfc` prefix: a u32 sub-opcode, then that instruction's immediates (the `FC_` tables). */
export const IMM_PREFIX_FC = 12;
/** An opcode outside the features the VM can allow. */
export const IMM_UNKNOWN = 255;

/** {@link POPS}/{@link PUSHES}: the effect depends on a type, or the instruction ends its path. */
export const VARIES = -1;

function table(fill: number, entries: readonly (readonly [from: number, to: number, value: number])[]): Uint8Array {
  const t = new Uint8Array(256).fill(fill);
  for (const [from, to, value] of entries) t.fill(value, from, to + 1);
  return t;
}

function effects(entries: readonly (readonly [from: number, to: number, pops: number, pushes: number])[]): [Int8Array, Int8Array] {
  const pops = new Int8Array(256).fill(VARIES);
  const pushes = new Int8Array(256).fill(VARIES);
  for (const [from, to, pop, push] of entries) {
    pops.fill(pop, from, to + 1);
    pushes.fill(push, from, to + 1);
  }
  return [pops, pushes];
}

/** The immediates of each single-byte opcode. */
export const IMMEDIATES: Uint8Array = table(IMM_UNKNOWN, [
  [0x00, 0x01, IMM_NONE], // unreachable, nop
  [0x02, 0x04, IMM_BLOCK], // block, loop, if
  [0x05, 0x05, IMM_NONE], // else
  [0x0b, 0x0b, IMM_NONE], // end
  [0x0c, 0x0d, IMM_U32], // br, br_if
  [0x0e, 0x0e, IMM_BR_TABLE],
  [0x0f, 0x0f, IMM_NONE], // return
  [0x10, 0x10, IMM_U32], // call
  [0x11, 0x11, IMM_U32_U32], // call_indirect
  [0x1a, 0x1b, IMM_NONE], // drop, select
  [0x1c, 0x1c, IMM_TYPES], // select t*
  [0x20, 0x26, IMM_U32], // local.get/set/tee, global.get/set, table.get/set
  [0x28, 0x3e, IMM_MEMARG], // loads and stores
  [0x3f, 0x40, IMM_U32], // memory.size, memory.grow (memory index)
  [0x41, 0x41, IMM_S32],
  [0x42, 0x42, IMM_S64],
  [0x43, 0x43, IMM_F32],
  [0x44, 0x44, IMM_F64],
  [0x45, 0xc4, IMM_NONE], // numeric, sign-extension
  [0xd0, 0xd0, IMM_BYTE], // ref.null
  [0xd1, 0xd1, IMM_NONE], // ref.is_null
  [0xd2, 0xd2, IMM_U32], // ref.func
  [0xfc, 0xfc, IMM_PREFIX_FC],
]);

/** Values each single-byte opcode pops and pushes ({@link VARIES} for control and calls). */
export const [POPS, PUSHES]: [Int8Array, Int8Array] = effects([
  [0x01, 0x01, 0, 0], // nop
  [0x1a, 0x1a, 1, 0], // drop
  [0x1b, 0x1c, 3, 1], // select
  [0x20, 0x20, 0, 1], // local.get
  [0x21, 0x21, 1, 0], // local.set
  [0x22, 0x22, 1, 1], // local.tee
  [0x23, 0x23, 0, 1], // global.get
  [0x24, 0x24, 1, 0], // global.set
  [0x25, 0x25, 1, 1], // table.get
  [0x26, 0x26, 2, 0], // table.set
  [0x28, 0x35, 1, 1], // loads
  [0x36, 0x3e, 2, 0], // stores
  [0x3f, 0x3f, 0, 1], // memory.size
  [0x40, 0x40, 1, 1], // memory.grow
  [0x41, 0x44, 0, 1], // constants
  [0x45, 0x45, 1, 1], // i32.eqz
  [0x46, 0x4f, 2, 1], // i32 comparisons
  [0x50, 0x50, 1, 1], // i64.eqz
  [0x51, 0x66, 2, 1], // i64, f32, f64 comparisons
  [0x67, 0x69, 1, 1], // i32 clz, ctz, popcnt
  [0x6a, 0x78, 2, 1], // i32 binary
  [0x79, 0x7b, 1, 1], // i64 clz, ctz, popcnt
  [0x7c, 0x8a, 2, 1], // i64 binary
  [0x8b, 0x91, 1, 1], // f32 unary
  [0x92, 0x98, 2, 1], // f32 binary
  [0x99, 0x9f, 1, 1], // f64 unary
  [0xa0, 0xa6, 2, 1], // f64 binary
  [0xa7, 0xc4, 1, 1], // conversions, reinterpretations, sign-extension
  [0xd0, 0xd0, 0, 1], // ref.null
  [0xd1, 0xd1, 1, 1], // ref.is_null
  [0xd2, 0xd2, 0, 1], // ref.func
]);

/** Whether a single-byte opcode may trap or is a call (1), else 0. */
export const TRAPS_OR_CALLS: Uint8Array = table(0, [
  [0x00, 0x00, 1], // unreachable
  [0x10, 0x11, 1], // call, call_indirect
  [0x25, 0x26, 1], // table.get, table.set
  [0x28, 0x3e, 1], // loads, stores
  [0x6d, 0x70, 1], // i32 div, rem
  [0x7f, 0x82, 1], // i64 div, rem
  [0xa8, 0xab, 1], // i32.trunc_f32/f64
  [0xae, 0xb1, 1], // i64.trunc_f32/f64
]);

/** The number of `0xfc` sub-opcodes the VM can allow (0 to 17). */
export const FC_COUNT = 18;
/** Immediates of each `0xfc` sub-opcode. */
export const FC_IMMEDIATES: Uint8Array = Uint8Array.from([
  // i32/i64.trunc_sat_f32/f64_s/u
  IMM_NONE, IMM_NONE, IMM_NONE, IMM_NONE, IMM_NONE, IMM_NONE, IMM_NONE, IMM_NONE,
  IMM_U32_U32, // 8 memory.init segment memory
  IMM_U32, // 9 data.drop segment
  IMM_U32_U32, // 10 memory.copy memory memory
  IMM_U32, // 11 memory.fill memory
  IMM_U32_U32, // 12 table.init segment table
  IMM_U32, // 13 elem.drop segment
  IMM_U32_U32, // 14 table.copy table table
  IMM_U32, // 15 table.grow table
  IMM_U32, // 16 table.size table
  IMM_U32, // 17 table.fill table
]);
/** Values each `0xfc` sub-opcode pops. */
export const FC_POPS: Int8Array = Int8Array.from([1, 1, 1, 1, 1, 1, 1, 1, 3, 0, 3, 3, 3, 0, 3, 2, 0, 3]);
/** Values each `0xfc` sub-opcode pushes. */
export const FC_PUSHES: Int8Array = Int8Array.from([1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0]);
/** Whether a `0xfc` sub-opcode may trap (the bulk accesses: init, copy, fill of memory and tables). */
export const FC_TRAPS: Uint8Array = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1, 0, 0, 1]);

/** `memory.init` (after the `0xfc` prefix). */
export const FC_MEMORY_INIT = 8;
/** `memory.copy`. */
export const FC_MEMORY_COPY = 10;
/** `memory.fill`. */
export const FC_MEMORY_FILL = 11;
/** `table.init`. */
export const FC_TABLE_INIT = 12;
/** `table.copy`. */
export const FC_TABLE_COPY = 14;
/** `table.grow`. */
export const FC_TABLE_GROW = 15;
/** `table.fill`. */
export const FC_TABLE_FILL = 17;

/** The byte size of the value a load or store (opcodes 0x28 to 0x3e) accesses. */
export const ACCESS_SIZE: Uint8Array = (() => {
  const sizes = new Uint8Array(256);
  const list: readonly (readonly [number, number])[] = [
    [0x28, 4], [0x29, 8], [0x2a, 4], [0x2b, 8],
    [0x2c, 1], [0x2d, 1], [0x2e, 2], [0x2f, 2],
    [0x30, 1], [0x31, 1], [0x32, 2], [0x33, 2], [0x34, 4], [0x35, 4],
    [0x36, 4], [0x37, 8], [0x38, 4], [0x39, 8],
    [0x3a, 1], [0x3b, 2], [0x3c, 1], [0x3d, 2], [0x3e, 4],
  ];
  for (const [op, size] of list) sizes[op] = size;
  return sizes;
})();

/**
 * The value type a store (opcodes 0x36 to 0x3e) takes as its value: `0x7f` i32, `0x7e` i64,
 * `0x7d` f32, `0x7c` f64; 0 for other opcodes.
 */
export const STORE_VALUE_TYPE: Uint8Array = (() => {
  const types = new Uint8Array(256);
  const list: readonly (readonly [number, number])[] = [
    [0x36, 0x7f], [0x37, 0x7e], [0x38, 0x7d], [0x39, 0x7c],
    [0x3a, 0x7f], [0x3b, 0x7f], [0x3c, 0x7e], [0x3d, 0x7e], [0x3e, 0x7e],
  ];
  for (const [op, type] of list) types[op] = type;
  return types;
})();

/** The end of the LEB128 at `pos` (of any width). */
function lebEnd(bytes: Uint8Array, pos: number): number {
  let p = pos;
  while (p < bytes.length && bytes[p]! >= 0x80) p++;
  return p + 1;
}

/** The unsigned LEB128 (at most 32 bits) at `pos`. */
export function readLeb(bytes: Uint8Array, pos: number): number {
  let result = 0;
  let scale = 1;
  for (let p = pos; p < pos + 5; p++) {
    const b = bytes[p]!;
    result += (b & 0x7f) * scale;
    if (b < 0x80) return result;
    scale *= 0x80;
  }
  return result;
}

/**
 * The position right after the instruction whose opcode is at `pos`, from {@link IMMEDIATES}
 * (and {@link FC_IMMEDIATES}); -1 for an opcode outside the features the tables know. A memory
 * argument with an explicit memory index (multi-memory) is skipped whole.
 */
export function instructionEnd(bytes: Uint8Array, pos: number): number {
  const op = bytes[pos]!;
  const p = pos + 1;
  switch (IMMEDIATES[op]) {
    case IMM_NONE:
      return p;
    case IMM_BLOCK: {
      const b = bytes[p]!;
      return b === 0x40 || (b & 0xc0) === 0x40 ? p + 1 : lebEnd(bytes, p);
    }
    case IMM_U32:
    case IMM_S32:
    case IMM_S64:
      return lebEnd(bytes, p);
    case IMM_U32_U32:
      return lebEnd(bytes, lebEnd(bytes, p));
    case IMM_MEMARG: {
      const memoryIndex = (readLeb(bytes, p) & 0x40) !== 0;
      const afterAlign = lebEnd(bytes, p);
      return lebEnd(bytes, memoryIndex ? lebEnd(bytes, afterAlign) : afterAlign);
    }
    case IMM_BR_TABLE: {
      let q = lebEnd(bytes, p);
      for (let k = readLeb(bytes, p); k >= 0; k--) q = lebEnd(bytes, q);
      return q;
    }
    case IMM_F32:
      return p + 4;
    case IMM_F64:
      return p + 8;
    case IMM_TYPES:
      return lebEnd(bytes, p) + readLeb(bytes, p);
    case IMM_BYTE:
      return p + 1;
    case IMM_PREFIX_FC: {
      const sub = readLeb(bytes, p);
      const q = lebEnd(bytes, p);
      if (sub >= FC_COUNT) return -1;
      const immediates = FC_IMMEDIATES[sub];
      return immediates === IMM_NONE ? q : immediates === IMM_U32 ? lebEnd(bytes, q) : lebEnd(bytes, lebEnd(bytes, q));
    }
    default:
      return -1;
  }
}
