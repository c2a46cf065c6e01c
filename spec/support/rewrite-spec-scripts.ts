/**
 * Test helper: runs a WebAssembly spec test script (wast2json JSON, as in `spec/conformance/`)
 * on two worlds at once, with no VM: every module plain, and every module rewritten by the code
 * rewriter. Each command is checked on both: the expected values (by bits; `nan:canonical` and
 * `nan:arithmetic` by class, and with `canonicalizeNaNs` every NaN result must be exactly the
 * canonical NaN), and the rewritten world must do what the plain world does (the same trap
 * message, the same instantiation failure, the same exhaustion).
 *
 * The `spectest` host of each world offers the reference interpreter's functions, globals, table
 * and memory (the memory K pages larger in the rewritten world, as the VM would give an imported
 * memory under the shift). Commands that need what this direct runner cannot give are counted as
 * skipped: modules that must be refused (`assert_invalid`, `assert_malformed`,
 * `assert_unlinkable`: the rewriter's input is a valid module), reference values as arguments or
 * results, and modules the rewriter refuses (a name the rewrite adds already taken: these scripts
 * export functions named `f` and `h`), with the commands that use them.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type CodeRewriteOptions, RewriteError, rewriteCode } from '../../lib/transform/code-rewrite.js';
import type { ScriptValue } from '../conformance/script.js';
import { isSignallingNan, matchValue, toWasmValue } from '../conformance/wasm-values.js';
import { StackLimitExceeded } from './rewrite-harness.js';

/** What running a script found. */
export interface ScriptTally {
  passed: number;
  skipped: number;
  /** Modules the rewriter refused, by reason. */
  refused: string[];
  failures: string[];
}

interface Command {
  readonly type: string;
  readonly line: number;
  readonly filename?: string;
  readonly name?: string;
  readonly as?: string;
  readonly action?: { readonly type: 'invoke' | 'get'; readonly module?: string; readonly field: string; readonly args?: readonly ScriptValue[] };
  readonly expected?: readonly ScriptValue[];
  readonly text?: string;
  readonly module_type?: string;
}

type Exports = WebAssembly.Exports;

/** One world: the modules instantiated so far, by name, and what was registered for import. */
class World {
  readonly registered = new Map<string, Exports>();
  readonly named = new Map<string, Exports | null>();
  current: Exports | null = null;
  readonly spectest: Record<string, WebAssembly.ImportValue>;

  constructor(readonly rewrite: CodeRewriteOptions | null) {
    const pages = rewrite?.memoryBase ?? 0;
    this.spectest = {
      print: () => {},
      print_i32: () => {},
      print_i64: () => {},
      print_f32: () => {},
      print_f64: () => {},
      print_i32_f32: () => {},
      print_f64_f64: () => {},
      global_i32: new WebAssembly.Global({ value: 'i32', mutable: false }, 666),
      global_i64: new WebAssembly.Global({ value: 'i64', mutable: false }, 666n),
      global_f32: new WebAssembly.Global({ value: 'f32', mutable: false }, 666.6),
      global_f64: new WebAssembly.Global({ value: 'f64', mutable: false }, 666.6),
      table: new WebAssembly.Table({ initial: 10, maximum: 20, element: 'anyfunc' }),
      memory: new WebAssembly.Memory({ initial: 1 + pages, maximum: 2 + pages }),
    };
  }

  /** Instantiates `bytes` (rewritten in this world); throws what the engine throws. */
  instantiate(bytes: Uint8Array): Exports {
    // A start function runs inside the instantiation: the counter starts with the fuel.
    const engineBytes = this.rewrite === null ? bytes : rewriteCode(bytes, { ...this.rewrite, initialFuel: 2n ** 60n }).bytes;
    const module = new WebAssembly.Module(engineBytes as Uint8Array<ArrayBuffer>);
    const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {
      spectest: this.spectest,
      i: {
        fuel: () => {
          throw new Error('out of fuel: the script runs with fuel for 2^60 units');
        },
        stack: () => {
          throw new StackLimitExceeded('the logical stack limit was reached');
        },
      },
    };
    for (const [name, exports] of this.registered) imports[name] = exports as Record<string, WebAssembly.ImportValue>;
    return new WebAssembly.Instance(module, imports).exports;
  }

  exportsOf(name: string | undefined): Exports | null {
    return name === undefined ? this.current : (this.named.get(name) ?? null);
  }
}

/** What an action did, comparable between the worlds. */
type ActionOutcome = { type: 'returned'; values: unknown[] } | { type: 'trapped'; message: string } | { type: 'exhausted' } | { type: 'error'; message: string };

function perform(world: World, action: NonNullable<Command['action']>, args: readonly unknown[]): ActionOutcome {
  const exports = world.exportsOf(action.module);
  if (exports === null) return { type: 'error', message: `no module ${action.module ?? '(current)'}` };
  try {
    if (action.type === 'get') return { type: 'returned', values: [(exports[action.field] as WebAssembly.Global).value] };
    const result = (exports[action.field] as (...a: unknown[]) => unknown)(...args);
    return { type: 'returned', values: result === undefined ? [] : Array.isArray(result) ? result : [result] };
  } catch (e) {
    if (e instanceof StackLimitExceeded) return { type: 'exhausted' };
    if (e instanceof RangeError && /call stack/i.test(e.message)) return { type: 'exhausted' };
    if (e instanceof WebAssembly.RuntimeError) return { type: 'trapped', message: e.message };
    return { type: 'error', message: String(e) };
  }
}

const NUMBER_TYPES = new Set(['i32', 'i64', 'f32', 'f64']);
const F32_CANONICAL_BITS = 0x7fc0_0000;
const F64_CANONICAL_BITS = 0x7ff8_0000_0000_0000n;
const scratch = new DataView(new ArrayBuffer(8));

/** Whether `value` (of script type `type`) is a NaN other than the canonical one. */
function nonCanonicalNan(type: string, value: unknown): boolean {
  if (typeof value !== 'number' || !Number.isNaN(value)) return false;
  if (type === 'f32') {
    scratch.setFloat32(0, value);
    return scratch.getUint32(0) !== F32_CANONICAL_BITS;
  }
  scratch.setFloat64(0, value);
  return scratch.getBigUint64(0) !== F64_CANONICAL_BITS;
}

/** For JSON.stringify: values by bits (NaNs included). */
function bits(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return `i64:${value}`;
  if (typeof value === 'number') {
    scratch.setFloat64(0, value);
    return `n:${scratch.getBigUint64(0)}`;
  }
  return value;
}

/** Runs the script at `path` on the plain world and the world rewritten with `rewrite`. */
export function runScriptBothWays(path: string, rewrite: CodeRewriteOptions): ScriptTally {
  const script = JSON.parse(readFileSync(path, 'utf8')) as { commands: Command[] };
  const dir = dirname(path);
  const plain = new World(null);
  const rewritten = new World(rewrite);
  const tally: ScriptTally = { passed: 0, skipped: 0, refused: [], failures: [] };
  const refusedNames = new Set<string>();
  const fail = (command: Command, what: string): void => {
    tally.failures.push(`${path.split('/').slice(-2).join('/')}:${command.line}: ${command.type}: ${what}`);
  };
  for (const command of script.commands) {
    switch (command.type) {
      case 'module': {
        const bytes = new Uint8Array(readFileSync(join(dir, command.filename!)));
        let plainExports: Exports | null = null;
        let rewrittenExports: Exports | null = null;
        let plainError: string | null = null;
        let rewrittenError: string | null = null;
        try {
          plainExports = plain.instantiate(bytes);
        } catch (e) {
          plainError = String(e);
        }
        try {
          rewrittenExports = rewritten.instantiate(bytes);
        } catch (e) {
          const importsRefused = [...refusedNames].some((name) => String(e).includes(`"${name}": module is not an object`));
          if (e instanceof RewriteError || importsRefused) {
            tally.refused.push(`${command.filename}: ${(e as Error).message}`);
            rewrittenError = 'refused';
          } else {
            rewrittenError = String(e);
          }
        }
        if (plainError !== null) fail(command, `the plain module failed: ${plainError}`);
        else if (rewrittenError !== null && rewrittenError !== 'refused') fail(command, `the rewritten module failed: ${rewrittenError}`);
        else tally.passed++;
        plain.current = plainExports;
        rewritten.current = rewrittenExports;
        if (command.name !== undefined) {
          plain.named.set(command.name, plainExports);
          rewritten.named.set(command.name, rewrittenExports);
        }
        break;
      }
      case 'register': {
        const p = plain.exportsOf(command.name);
        const r = rewritten.exportsOf(command.name);
        if (p !== null) plain.registered.set(command.as!, p);
        if (r !== null) rewritten.registered.set(command.as!, r);
        // A module importing from a refused one cannot be instantiated either: it is refused too.
        else refusedNames.add(command.as!);
        break;
      }
      case 'action':
      case 'assert_return':
      case 'assert_trap':
      case 'assert_exhaustion': {
        const action = command.action!;
        const values = [...(action.args ?? []), ...(command.expected ?? [])];
        if (values.some((v) => !NUMBER_TYPES.has(v.type))) {
          tally.skipped++;
          break;
        }
        if (rewritten.exportsOf(action.module) === null) {
          // Its module was refused by the rewriter (counted there) or failed (reported there).
          tally.skipped++;
          break;
        }
        const args = (action.args ?? []).map((a) => toWasmValue(a).value);
        const p = perform(plain, action, args);
        const r = perform(rewritten, action, args);
        if (command.type === 'assert_return' || command.type === 'action') {
          if (p.type !== 'returned') {
            fail(command, `the plain module did not return: ${JSON.stringify(p)}`);
            break;
          }
          if (r.type !== 'returned') {
            fail(command, `the rewritten module did not return: ${JSON.stringify(r)}`);
            break;
          }
          const ignoreQuietBit = (action.args ?? []).some(isSignallingNan);
          const problems: string[] = [];
          const plainMatches = (command.expected ?? []).every(
            (expected, i) => matchValue(expected, { type: expected.type, value: p.values[i] } as Parameters<typeof matchValue>[1], { ignoreQuietBit }) === null,
          );
          if (!plainMatches) {
            // The plain world cannot reach the expectation (a command this runner skipped, with
            // reference values, changed the state): the rewritten world must then do as the plain one.
            if (!Object.is(JSON.stringify(r.values, bits), JSON.stringify(p.values, bits))) fail(command, `plain ${JSON.stringify(p.values, bits)}, rewritten ${JSON.stringify(r.values, bits)}`);
            else tally.passed++;
            break;
          }
          (command.expected ?? []).forEach((expected, i) => {
            const actual = { type: expected.type, value: r.values[i] } as Parameters<typeof matchValue>[1];
            const mismatch = matchValue(expected, actual, { ignoreQuietBit });
            if (mismatch !== null) problems.push(`result ${i}: ${mismatch}`);
            // A NaN the script leaves to the engine (`nan:canonical`, `nan:arithmetic`: made by
            // arithmetic) must be exactly the canonical NaN; a NaN given by bits (moved by an exact
            // instruction) is checked bit for bit by matchValue.
            if (rewrite.canonicalizeNaNs === true && expected.value?.startsWith('nan:') === true && nonCanonicalNan(expected.type, r.values[i])) {
              problems.push(`result ${i}: a NaN that is not the canonical one`);
            }
          });
          if (problems.length > 0) fail(command, problems.join('; '));
          else tally.passed++;
        } else if (command.type === 'assert_trap') {
          if (p.type !== 'trapped') fail(command, `the plain module did not trap: ${JSON.stringify(p)}`);
          else if (r.type !== 'trapped' || r.message !== p.message) fail(command, `plain trapped with "${p.message}", rewritten: ${JSON.stringify(r)}`);
          else tally.passed++;
        } else {
          if (p.type !== 'exhausted' || r.type !== 'exhausted') fail(command, `plain: ${JSON.stringify(p)}, rewritten: ${JSON.stringify(r)}`);
          else tally.passed++;
        }
        break;
      }
      case 'assert_uninstantiable': {
        const bytes = new Uint8Array(readFileSync(join(dir, command.filename!)));
        const attempt = (world: World): string | null => {
          try {
            world.instantiate(bytes);
            return null;
          } catch (e) {
            return e instanceof RewriteError ? 'refused' : String(e);
          }
        };
        const p = attempt(plain);
        const r = attempt(rewritten);
        if (p === null) fail(command, 'the plain module instantiated');
        else if (r === null) fail(command, `the rewritten module instantiated (plain: ${p})`);
        else tally.passed++;
        break;
      }
      default:
        // assert_invalid, assert_malformed, assert_unlinkable: modules the rewriter never sees.
        tally.skipped++;
    }
  }
  return tally;
}
