/**
 * Modules that are valid but extreme in one dimension: the "resource" case class.
 *
 * Random bytes and mutations almost never produce a module that is both valid and huge in some
 * direction, yet those are exactly the inputs that stress a transform written in C++ and run
 * as WebAssembly (Binaryen's recursive walkers, on a fixed-size stack) and the engine's
 * allocation limits: deeply nested blocks, a long chain of operands, tens of thousands of
 * locals, functions or imports, a 4 GiB memory, a ten-million-entry table, a huge `br_table`.
 * Each shape calls a pausing import somewhere, so the transform has work to do, and exports
 * `run` for the harness to start.
 *
 * Sizes straddle the engine's own limits (V8: 50,000 locals per function, 100,000 imports,
 * 10,000,000 table entries, 65,536 memory pages), so that some are refused by the engine and
 * some are accepted and must then be transformed, instantiated and run.
 *
 * @module
 */

import { I32, I64, type ModuleSpec, buildModule, bytesOf, repeat, s32, u32 } from './module-builder.js';
import type { Prng } from './prng.js';

/** The shapes, by name. */
export const RESOURCE_SHAPES = [
  'memory-limits',
  'nested-blocks',
  'nested-ifs',
  'many-locals',
  'many-functions',
  'operand-chain',
  'operand-stack',
  'br-table',
  'big-table',
  'many-imports',
  'big-data',
] as const;

/** One of {@link RESOURCE_SHAPES}. */
export type ResourceShape = (typeof RESOURCE_SHAPES)[number];

const CALL_IMPORT = [0x10, 0x00]; // call 0 (the import, `() -> i32`)
const DROP = [0x1a];
const END = [0x0b];

/** Types shared by every shape: 0 is the import's `() -> i32`, 1 is `run`'s `() -> ()`. */
const TYPES = [
  { params: [], results: [I32] },
  { params: [], results: [] },
];
const IMPORT: readonly [string, string, number] = ['env', 'next', 0];

/**
 * A module of `shape` with a size drawn from `prng`, and a short description of it. With
 * `smallest`, each shape uses its first (smallest) size, which transforms in well under a
 * second: the Jest slice uses that.
 */
export function resourceModule(prng: Prng, shape: ResourceShape, smallest = false): { bytes: Uint8Array; description: string } {
  const pick = <T>(sizes: readonly T[]): T => (smallest ? sizes[0]! : prng.pick(sizes));
  const base = (functions: ModuleSpec['functions'], extra: Partial<ModuleSpec> = {}): Uint8Array =>
    buildModule({
      types: TYPES,
      imports: [IMPORT],
      functions,
      memory: { initial: 1 },
      exports: [['run', 1]],
      ...extra,
    });
  switch (shape) {
    case 'memory-limits': {
      // Cheap at every size: drawn freely even for the smallest variant.
      const initial = prng.pick([0, 1, 16384, 65535, 65536, 65537]);
      const maximum = prng.pick([undefined, initial, 65536, 65537, Math.max(initial - 1, 0)]);
      // run: grow by the whole address space, pause, report the size.
      const body = bytesOf([0x41, ...s32(65536), 0x40, 0x00, ...DROP], CALL_IMPORT, DROP, [0x3f, 0x00, ...DROP]);
      return {
        bytes: base([{ type: 1, body }], { memory: maximum === undefined ? { initial } : { initial, maximum } }),
        description: `memory ${initial}..${maximum ?? 'none'} pages`,
      };
    }
    case 'nested-blocks': {
      const depth = pick([1000, 5000, 20000, 60000]);
      const body = bytesOf(repeat([0x02, 0x40], depth), CALL_IMPORT, DROP, repeat(END, depth));
      return { bytes: base([{ type: 1, body }]), description: `${depth} nested blocks around a pause` };
    }
    case 'nested-ifs': {
      const depth = pick([500, 2000, 5000, 20000]);
      // Each level: (if (call next) (then ...)): a pause in every condition.
      const body = bytesOf(repeat([...CALL_IMPORT, 0x04, 0x40], depth), repeat(END, depth));
      return { bytes: base([{ type: 1, body }]), description: `${depth} nested ifs, each conditioned on a pause` };
    }
    case 'many-locals': {
      const count = pick([1000, 10000, 49990, 50001]);
      // Touch the last local after the pause, so that every local is live across it.
      const last = count - 1;
      const body = bytesOf([0x42, 0x07, 0x21, ...u32(last)], CALL_IMPORT, DROP, [0x20, ...u32(last), ...DROP]);
      return { bytes: base([{ type: 1, locals: [[count, I64]], body }]), description: `${count} i64 locals live across a pause` };
    }
    case 'many-functions': {
      const count = pick([1000, 10000, 40000]);
      // Function i calls function i+1; the last one pauses: a call chain of `count` frames.
      const functions = Array.from({ length: count }, (_, i) => ({
        type: 1,
        body: i === count - 1 ? bytesOf(CALL_IMPORT, DROP) : bytesOf([0x10, ...u32(i + 2)]),
      }));
      return { bytes: base(functions), description: `${count} functions calling each other, the last one pauses` };
    }
    case 'operand-chain': {
      const length = pick([1000, 10000, 50000]);
      // next() + next() + ... : a left-deep expression tree `length` levels deep.
      const body = bytesOf(CALL_IMPORT, repeat([...CALL_IMPORT, 0x6a], length - 1), DROP);
      return { bytes: base([{ type: 1, body }]), description: `a chain of ${length} additions of pauses` };
    }
    case 'operand-stack': {
      const depth = pick([1000, 10000, 50000]);
      // Push `depth` pause results, then add them all: `depth` values live on the operand stack.
      const body = bytesOf(repeat(CALL_IMPORT, depth), repeat([0x6a], depth - 1), DROP);
      return { bytes: base([{ type: 1, body }]), description: `${depth} pause results on the operand stack` };
    }
    case 'br-table': {
      const targets = pick([1000, 100000, 1000000]);
      const body = bytesOf([0x02, 0x40], CALL_IMPORT, [0x0e, ...u32(targets)], repeat([0x00], targets), [0x00], END);
      return { bytes: base([{ type: 1, body }]), description: `a br_table of ${targets} targets on a pause's result` };
    }
    case 'big-table': {
      const size = pick([100000, 10000000, 10000001]);
      return { bytes: base([{ type: 1, body: bytesOf(CALL_IMPORT, DROP) }], { table: size }), description: `a table of ${size} entries` };
    }
    case 'many-imports': {
      const count = pick([1000, 20000, 100000, 100001]);
      const imports = Array.from({ length: count }, (_, i) => ['env', `f${i}`, 0] as const);
      // run calls the last import.
      const body = bytesOf([0x10, ...u32(count - 1)], DROP);
      return {
        bytes: buildModule({ types: TYPES, imports, functions: [{ type: 1, body }], memory: { initial: 1 }, exports: [['run', count]] }),
        description: `${count} function imports`,
      };
    }
    case 'big-data': {
      const size = pick([1 << 16, 1 << 20, 1 << 22]);
      const pages = Math.ceil(size / 65536) + pick([0, 1]);
      const data = new Uint8Array(size).fill(0xab);
      // An offset that makes the segment end exactly at, or one byte past, the memory's end.
      const offset = pages * 65536 - size + pick([0, 1]);
      return {
        bytes: base([{ type: 1, body: bytesOf(CALL_IMPORT, DROP) }], { memory: { initial: pages }, data: [[offset, data]] }),
        description: `a ${size}-byte data segment at ${offset} in ${pages} pages`,
      };
    }
  }
}
