/**
 * Which exported functions of a module may change its instance when called: store to memory,
 * grow it, fill or copy it, set a global, change a table, drop a segment, or call a function
 * that may (an indirect call, or an import other than the `spectest` prints, counts as one).
 *
 * The harness uses it when it must skip a call the host cannot make (a function with several
 * results, or with reference-typed values): if the skipped function may change the instance,
 * the commands after it on the same module could see another state than the script expects,
 * and are skipped too; if it cannot, they run.
 *
 * Like `module-header.ts`, this is a reader of its own, independent of the library's.
 *
 * @module
 */

import { Cursor } from './cursor.js';

/** One defined function: whether it writes state itself, and whom it calls. */
interface FunctionEffects {
  writes: boolean;
  calls: number[];
}

/**
 * The names of the exported functions of `bytes` that may change the instance, or `null` if
 * the module cannot be read (then every call must be assumed to).
 */
export function mutatingExports(bytes: Uint8Array): Set<string> | null {
  try {
    return read(bytes);
  } catch {
    return null;
  }
}

function read(bytes: Uint8Array): Set<string> {
  /** For imported functions: whether calling them may change state (anything but a spectest print). */
  const importWrites: boolean[] = [];
  const defined: FunctionEffects[] = [];
  const exports: [string, number][] = [];
  const top = new Cursor(bytes, 8, bytes.length);
  while (top.pos < top.end) {
    const id = top.byte();
    const size = top.u32();
    const end = top.pos + size;
    const r = new Cursor(bytes, top.pos, end);
    if (id === 2) {
      for (let i = 0, n = r.u32(); i < n; i++) {
        const moduleStart = r.pos;
        r.skipName();
        const isSpectest = new TextDecoder().decode(bytes.subarray(moduleStart + 1, r.pos)) === 'spectest';
        r.skipName();
        const kind = r.byte();
        if (kind === 0) {
          r.u32();
          importWrites.push(!isSpectest);
        } else if (kind === 1) {
          r.byte();
          r.limits();
        } else if (kind === 2) {
          r.limits();
        } else {
          r.byte();
          r.byte();
        }
      }
    } else if (id === 7) {
      for (let i = 0, n = r.u32(); i < n; i++) {
        const length = r.u32();
        const name = new TextDecoder().decode(bytes.subarray(r.pos, r.pos + length));
        r.skip(length);
        const kind = r.byte();
        const index = r.u32();
        if (kind === 0) exports.push([name, index]);
      }
    } else if (id === 10) {
      for (let i = 0, n = r.u32(); i < n; i++) {
        const bodySize = r.u32();
        const bodyEnd = r.pos + bodySize;
        defined.push(functionEffects(new Cursor(bytes, r.pos, bodyEnd)));
        r.pos = bodyEnd;
      }
    }
    top.pos = end;
  }

  // Propagate through calls until nothing changes.
  const imported = importWrites.length;
  const writes = (index: number): boolean => (index < imported ? importWrites[index]! : defined[index - imported]?.writes ?? true);
  for (let changed = true; changed; ) {
    changed = false;
    for (const f of defined) {
      if (!f.writes && f.calls.some(writes)) {
        f.writes = true;
        changed = true;
      }
    }
  }
  return new Set(exports.filter(([, index]) => writes(index)).map(([name]) => name));
}

/** Decodes one function body: whether it writes state itself, and which functions it calls. */
function functionEffects(r: Cursor): FunctionEffects {
  const effects: FunctionEffects = { writes: false, calls: [] };
  for (let i = 0, n = r.u32(); i < n; i++) {
    r.u32();
    r.byte();
  }
  while (r.pos < r.end) {
    const op = r.byte();
    if (op >= 0x36 && op <= 0x3e) effects.writes = true; // stores
    switch (op) {
      case 0x02: // block, loop, if: a block type (one byte, or an s33 type index)
      case 0x03:
      case 0x04:
        r.leb();
        break;
      case 0x0c: // br, br_if
      case 0x0d:
      case 0x20: // local.get/set/tee, global.get
      case 0x21:
      case 0x22:
      case 0x23:
      case 0x25: // table.get
        r.u32();
        break;
      case 0x24: // global.set
      case 0x26: // table.set
        r.u32();
        effects.writes = true;
        break;
      case 0x0e: // br_table
        for (let k = 0, n = r.u32(); k <= n; k++) r.u32();
        break;
      case 0x10: // call
        effects.calls.push(r.u32());
        break;
      case 0x11: // call_indirect: any callee
        r.u32();
        r.u32();
        effects.writes = true;
        break;
      case 0x1c: // select with types
        for (let k = 0, n = r.u32(); k < n; k++) r.byte();
        break;
      case 0x3f: // memory.size
        r.u32();
        break;
      case 0x40: // memory.grow
        r.u32();
        effects.writes = true;
        break;
      case 0x41: // i32.const, i64.const
      case 0x42:
        r.leb();
        break;
      case 0x43:
        r.skip(4);
        break;
      case 0x44:
        r.skip(8);
        break;
      case 0xd0: // ref.null t
        r.byte();
        break;
      case 0xd2: // ref.func
        r.u32();
        break;
      case 0xfc: {
        const sub = r.u32();
        if (sub <= 7) break; // saturating truncations
        if (sub === 16) {
          r.u32(); // table.size
          break;
        }
        effects.writes = true; // memory.init, data.drop, memory.copy/fill, table.init, elem.drop, table.copy/grow/fill
        if (sub === 8 || sub === 12 || sub === 14 || sub === 10) {
          r.u32();
          r.u32();
        } else {
          r.u32();
        }
        break;
      }
      default:
        if (op >= 0x28 && op <= 0x3e) {
          // loads and stores: alignment (with a memory index if bit 6 is set), offset
          const align = r.u32();
          if ((align & 0x40) !== 0) r.u32();
          r.u32();
        }
      // Everything else has no immediates.
    }
  }
  return effects;
}
