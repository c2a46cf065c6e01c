/**
 * A trap's guest frames (`Trap.frames`), from the engine's stack trace of the error that ended
 * the call.
 *
 * Engines write a WebAssembly frame of their stack traces as `wasm-function[<index>]:0x<offset>`
 * (V8: `at name (wasm://wasm/<hash>:wasm-function[3]:0x8b)`; SpiderMonkey and JavaScriptCore
 * alike), `<index>` in the compiled module's function index space and `<offset>` the byte offset
 * of the instruction in the compiled module; a `prepareStackTrace` that formats V8's call sites
 * itself (Jest, source-map-support) writes `wasm://wasm/<hash>:1:<offset + 1>`, and the function
 * is then the one whose body holds the offset. Both are mapped back to the guest's own module:
 *
 * - **JSPI** compiles the guest's own code (its names sometimes rewritten, never its code): the
 *   index is the guest's, and the offset moves by the difference between the two code
 *   sections' starts.
 * - **Asyncify** compiles Binaryen's output: the guest's functions keep their indices (checked
 *   at transform time; the transform's own functions come after them and are left out), but the
 *   code is rewritten, so an offset maps back only through the offset map the transform made
 *   (`BaseComponents.backtrace.offsetMap`, for modules with DWARF line tables); else it is
 *   `null`.
 *
 * With fuel or a stack limit (`VmConfig.fuel`, `VmConfig.maxStackHeight`), the code rewrite
 * adds imports after the guest's, which moves every function the guest defines up by their
 * number, and functions of its own after the guest's: on both backends the index is mapped back
 * through `BacktraceFacts.functionShift` (the rewrite's own functions are left out), and the
 * offset through the rewrite's offset map (made for modules with DWARF line tables only).
 *
 * Then the name section names the function (demangled) and the DWARF line table gives the file
 * and line. All of it is parsed on the first trap that asks, once per module.
 *
 * @module
 */

import type { BacktraceFacts, BaseComponents } from '../base/components.js';
import type { GuestFrame } from '../base/errors.js';
import { LineTable, demangle, parseFunctionNames } from '../load/debug-info.js';
import { guestFunctionIndex } from '../transform/function-shift.js';

/** The parsed debugging sections of a module. */
interface Parsed {
  readonly names: ReadonlyMap<number, string>;
  readonly lines: LineTable | null;
}

const parsedByFacts = new WeakMap<BacktraceFacts, Parsed>();

function parsed(facts: BacktraceFacts): Parsed {
  let result = parsedByFacts.get(facts);
  if (result === undefined) {
    const sections = facts.sections;
    result = {
      names: sections.name === null ? new Map() : parseFunctionNames(sections.name),
      lines: LineTable.parse(sections),
    };
    parsedByFacts.set(facts, result);
  }
  return result;
}

/** `wasm-function[3]:0x8b` in any engine's own stack traces. */
const WASM_FRAME = /wasm-function\[(\d+)\]:0x([0-9a-fA-F]+)/;
/** `wasm://wasm/<hash>:1:<offset + 1>`: V8's frame position, as a `prepareStackTrace` (Jest, source-map-support) writes it. */
const WASM_POSITION = /wasm:\/\/wasm\/[^\s:()]*:1:(\d+)/;

/** The compiled module's function whose body holds `offset`, or `null`. */
function functionAt(facts: BacktraceFacts, offset: number): number | null {
  const { imported, bodyStarts } = facts.engineFunctions;
  let lo = 0;
  let hi = bodyStarts.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (bodyStarts[mid]! <= offset) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found < 0 ? null : imported + found;
}

/** The compiled module's function index and instruction offset of one line of a stack trace, or `null`. */
function parseFrame(line: string, facts: BacktraceFacts): { index: number; offset: number } | null {
  const own = WASM_FRAME.exec(line);
  if (own !== null) return { index: Number(own[1]), offset: parseInt(own[2]!, 16) };
  const position = WASM_POSITION.exec(line);
  if (position === null) return null;
  const offset = Number(position[1]) - 1;
  const index = functionAt(facts, offset);
  return index === null ? null : { index, offset };
}

/** The stack trace text of `error`, or `''`. */
function stackOf(error: unknown): string {
  if (typeof error !== 'object' || error === null) return '';
  try {
    const stack = (error as { stack?: unknown }).stack;
    return typeof stack === 'string' ? stack : '';
  } catch {
    return '';
  }
}

/** The guest offset of the compiled module's offset `engine`, through `map`, or `null`. */
function mapOffset(map: NonNullable<BacktraceFacts['offsetMap']>, engine: number): number | null {
  const { engine: keys, guest } = map;
  let lo = 0;
  let hi = keys.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const key = keys[mid]!;
    if (key === engine) return guest[mid]! < 0 ? null : guest[mid]!;
    if (key < engine) lo = mid + 1;
    else hi = mid - 1;
  }
  return null;
}

/** The guest frames of the error that ended a call of `components`' module, innermost first. */
export function guestFrames(error: unknown, components: BaseComponents): GuestFrame[] {
  const facts = components.backtrace;
  const frames: GuestFrame[] = [];
  for (const line of stackOf(error).split('\n')) {
    const frame = parseFrame(line, facts);
    if (frame === null) continue;
    const { offset: engineOffset } = frame;
    // The code rewrite (fuel, the stack limit) moves the guest's functions up past its own
    // imports and adds functions after them: the index maps back, or is not the guest's.
    const shift = facts.functionShift;
    const index = shift === null ? frame.index : guestFunctionIndex(shift, frame.index);
    // The transform's own functions (and any other module's, which cannot be told apart) are not the guest's.
    if (index === null || index >= facts.functionCount) continue;
    const offset =
      facts.offsetDelta !== null ? engineOffset + facts.offsetDelta : facts.offsetMap !== null ? mapOffset(facts.offsetMap, engineOffset) : null;
    const { names, lines } = parsed(facts);
    const name = names.get(index);
    const codeStart = facts.sections.codeStart;
    const location = offset === null || lines === null || codeStart === null ? null : lines.lookup(offset - codeStart);
    frames.push({
      functionIndex: index,
      functionName: name === undefined ? null : demangle(name),
      offset,
      file: location?.file ?? null,
      line: location?.line ?? null,
      column: location?.column ?? null,
    });
  }
  return frames;
}
