/**
 * The determinism and bounds options as a whole (`VmConfig.fuel`, `maxStackHeight`,
 * `canonicalizeNaNs`), on both backends: canonical NaN bits through the VM; the config's
 * checks; artifacts and the cache keyed by the options; a guest whose names collide with what
 * the rewrite adds (JSPI then renames it); refusals and reset facts unchanged by the rewrite's
 * walk standing in for the feature scan's; the Substrate layer's fuel budget; the command line.
 * Fuel and the stack limit each have a file of their own (`fuel.test.ts`, `stack-limit.test.ts`).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { parseCommandLine } from '../lib/cli/args.js';
import { CALL_OPTIONS, callCommand } from '../lib/cli/call.js';
import {
  ArtifactError,
  MemoryArtifactCache,
  NewError,
  UsageError,
  VirtualMachinePrototype,
  type VmConfig,
  WasmValue,
  runToCompletion,
} from '../lib/index.js';
import { RuntimeCallError, SubstrateRuntime, runtimeCall } from '../lib/substrate/index.js';
import { BACKENDS, createOn } from './support/backends.js';
import { guest } from './support/substrate-guest.js';
import { REPO_ROOT } from './support/shared.js';
import { wat } from './support/wat.js';

const execFileAsync = promisify(execFile);

/** NaNs of the engine's choosing (0/0, an operation on a NaN with a payload), returned as their bits. */
const NANS = `(module
  (memory (export "memory") 1)
  (func (export "div") (result i64) f64.const 0 f64.const 0 f64.div i64.reinterpret_f64)
  (func (export "payload") (result i64)
    ;; a quiet NaN with a payload and the sign bit: x86 propagates both through an addition
    i64.const 0xfff8000000000123 f64.reinterpret_i64 f64.const 1 f64.add i64.reinterpret_f64)
  (func (export "f32") (result i32) f32.const 0 f32.const 0 f32.div i32.reinterpret_f32)
  (func (export "stored") (result i64)
    i32.const 8 f64.const 0 f64.const 0 f64.div f64.sqrt f64.store
    i32.const 8 i64.load)
  ;; exact operations keep the NaN they are given (its sign too)
  (func (export "neg") (result i64) i64.const 0x7ff8000000000000 f64.reinterpret_i64 f64.neg i64.reinterpret_f64))`;

const CANONICAL_F64 = 0x7ff8000000000000n;

async function results(backend: 'asyncify' | 'jspi', options: Partial<VmConfig>): Promise<Record<string, string>> {
  let proto = await createOn(backend, { moduleBytes: await wat(NANS), symbols: () => null, ...options });
  const out: Record<string, string> = {};
  for (const name of ['div', 'payload', 'f32', 'stored', 'neg']) {
    const vm = proto.prepare().start(name, [], options.fuel === true ? { fuel: 1000n } : undefined);
    const outcome = await runToCompletion(vm, () => null);
    if (outcome.type !== 'finished') throw new Error(`${name}: ${outcome.type}`);
    const value = outcome.value!;
    out[name] = value.type === 'i64' ? `0x${BigInt.asUintN(64, value.value).toString(16)}` : `0x${((value.value as number) >>> 0).toString(16)}`;
    proto = vm.intoPrototype();
  }
  return out;
}

describe.each(BACKENDS)('canonical NaNs on %s', (backend) => {
  test('every NaN arithmetic makes is the canonical one; exact operations keep their NaN', async () => {
    const canonical = await results(backend, { canonicalizeNaNs: true });
    expect(canonical).toEqual({
      div: `0x${CANONICAL_F64.toString(16)}`,
      payload: `0x${CANONICAL_F64.toString(16)}`,
      f32: '0x7fc00000',
      stored: `0x${CANONICAL_F64.toString(16)}`,
      neg: '0xfff8000000000000',
    });
    // The same with the other options on: the rewrites compose.
    expect(await results(backend, { canonicalizeNaNs: true, fuel: true, maxStackHeight: 1000 })).toEqual(canonical);
    // Not vacuous: on x86 the engine's own NaNs are not canonical (0/0 has the sign bit; a payload propagates).
    if (process.arch === 'x64') {
      const plain = await results(backend, {});
      expect(plain.div).toBe('0xfff8000000000000');
      expect(plain.payload).toBe('0xfff8000000000123');
    }
  });
});

describe('the options in the config', () => {
  test.each([
    [{ maxStackHeight: -1 }, /maxStackHeight/],
    [{ maxStackHeight: 1.5 }, /maxStackHeight/],
    [{ maxStackHeight: 2 ** 31 }, /maxStackHeight/],
    [{ fuel: 'yes' }, /fuel/],
    [{ canonicalizeNaNs: 1 }, /canonicalizeNaNs/],
  ])('%j is refused with UsageError InvalidArgument', async (option, message) => {
    const config = { moduleBytes: await wat('(module (memory (export "memory") 1))'), symbols: () => null, ...option } as unknown as VmConfig;
    const error = await VirtualMachinePrototype.create(config).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).kind).toBe('InvalidArgument');
    expect((error as Error).message).toMatch(message);
  });
});

describe('artifacts and the cache', () => {
  const LOOP = `(module (import "env" "ping" (func $ping (param i32)))
    (memory (export "memory") 1)
    (func (export "count") (param $n i32) (result i32) (local $i i32)
      loop local.get $i call $ping local.get $i i32.const 1 i32.add local.tee $i local.get $n i32.lt_u br_if 0 end
      local.get $i))`;

  test('an artifact records the options (another set is OptionsMismatch) and its counters run as created', async () => {
    const moduleBytes = await wat(LOOP);
    const config: VmConfig = { moduleBytes, symbols: () => 3, fuel: true, maxStackHeight: 500, canonicalizeNaNs: true };
    const created = await VirtualMachinePrototype.create(config);
    const artifact = created.toArtifact();
    for (const other of [{ fuel: false }, { maxStackHeight: 501 }, { maxStackHeight: undefined }, { canonicalizeNaNs: false }]) {
      const error = await VirtualMachinePrototype.fromArtifact(artifact, { ...config, ...other }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ArtifactError);
      expect((error as ArtifactError).kind).toBe('OptionsMismatch');
    }
    const error = await VirtualMachinePrototype.fromArtifact(artifact, { moduleBytes, symbols: () => 3 }).catch((e: unknown) => e);
    expect((error as ArtifactError).kind).toBe('OptionsMismatch');
    const rebuilt = await VirtualMachinePrototype.fromArtifact(artifact, config);
    const consumed: bigint[] = [];
    for (const proto of [created, rebuilt]) {
      const vm = proto.prepare().start('count', [WasmValue.i32(20)], { fuel: 30n });
      let outOfFuel = 0;
      const outcome = await runToCompletion(vm, () => null, { onOutOfFuel: () => (outOfFuel++, 7n) });
      expect(outcome).toEqual({ type: 'finished', value: WasmValue.i32(20) });
      expect(outOfFuel).toBeGreaterThan(3);
      consumed.push(vm.fuelConsumed);
    }
    expect(consumed[0]).toBe(consumed[1]);
  });

  test('the cache keys entries by the options: each set is transformed once and served after', async () => {
    const moduleBytes = await wat(LOOP);
    const cache = new MemoryArtifactCache();
    const phases: string[] = [];
    const create = (options: Partial<VmConfig>) =>
      VirtualMachinePrototype.create({
        moduleBytes,
        symbols: () => 3,
        cache,
        ...options,
        onProgress: (e) => {
          if (e.status === 'end' && e.phase === 'cache-lookup') phases.push(`${JSON.stringify(options)} ${e.cacheHit ? 'hit' : 'miss'}`);
        },
      });
    for (const options of [{}, { fuel: true }, { maxStackHeight: 100 }, { canonicalizeNaNs: true }, { fuel: true }, {}, { maxStackHeight: 100 }]) {
      await create(options);
    }
    expect(phases).toEqual([
      '{} miss',
      '{"fuel":true} miss',
      '{"maxStackHeight":100} miss',
      '{"canonicalizeNaNs":true} miss',
      '{"fuel":true} hit',
      '{} hit',
      '{"maxStackHeight":100} hit',
    ]);
  });
});

describe.each(BACKENDS)('names and checks on %s', (backend) => {
  test('a guest that exports "f" and "h" and imports "i"."fuel" runs with fuel and a stack limit; its own "f" is its own', async () => {
    const bytes = await wat(`(module
      (import "i" "fuel" (func $mine (param i64)))
      (import "i" "stack" (func $other))
      (global $f (export "f") i32 (i32.const 77))
      (global (export "h") (mut i32) (i32.const 5))
      (memory (export "memory") 1)
      (func (export "run") (result i32) i64.const 9 call $mine call $other global.get $f))`);
    const seen: string[] = [];
    const proto = await createOn(backend, {
      moduleBytes: bytes,
      symbols: (module, name) => (seen.push(`${module}.${name}`), seen.length),
      fuel: true,
      maxStackHeight: 100,
    });
    expect(proto.globalValue('f')).toBe(77);
    expect(proto.globalValue('h')).toBe(5);
    const vm = proto.prepare().start('run', [], { fuel: 100n });
    const interrupts: string[] = [];
    const outcome = await runToCompletion(vm, ({ module, name, params }) => (interrupts.push(`${module}.${name}(${params.map((p) => p.value).join()})`), null));
    expect(outcome).toEqual({ type: 'finished', value: WasmValue.i32(77) });
    expect(interrupts).toEqual(['i.fuel(9)', 'i.stack()']);
    expect(seen).toEqual(['i.fuel', 'i.stack']);
  });

  test('a mutable global the guest does not export is restored between calls with the rewrite on (exported by the rewrite, or by the renaming where its name is taken)', async () => {
    for (const taken of [false, true]) {
      // Global 0 is mutable and not exported; with `taken`, the guest exports another global
      // under the synthetic name global 0 would get ("g0"): the module is then renamed.
      const bytes = await wat(`(module
        (global $counter (mut i32) (i32.const 40))
        (global $other i32 (i32.const 7))
        ${taken ? '(export "g0" (global $other))' : ''}
        (memory (export "memory") 1)
        (func (export "bump") (result i32) global.get $counter i32.const 1 i32.add global.set $counter global.get $counter))`);
      for (const options of [{ fuel: true }, { canonicalizeNaNs: true }, { maxStackHeight: 50 }] as const) {
        let proto = await createOn(backend, { moduleBytes: bytes, symbols: () => null, ...options });
        const bumps: unknown[] = [];
        for (let call = 0; call < 2; call++) {
          const vm = proto.prepare().start('bump', [], 'fuel' in options ? { fuel: 100n } : undefined);
          bumps.push(await runToCompletion(vm, () => null));
          proto = vm.intoPrototype();
        }
        expect({ taken, options, bumps }).toEqual({ taken, options, bumps: [WasmValue.i32(41), WasmValue.i32(41)].map((value) => ({ type: 'finished', value })) });
        if (taken) expect(proto.globalValue('g0')).toBe(7);
      }
    }
  });

  test('refusals and reset facts are the same with the rewrite on (its walk stands in for the scan of the code)', async () => {
    const cases: [string, Partial<VmConfig>][] = [
      ['(module (memory (export "memory") 1) (func (export "f") i32.const 0 i32.const 0 i32.const 0 memory.copy))', {}],
      ['(module (memory (export "memory") 1) (func (export "f") (result i32) i32.const 1 i32.extend8_s))', { features: 'mvp' }],
      ['(module (memory (export "memory") 1) (func (export "f") (result i32) f32.const 1 i32.trunc_sat_f32_s))', { features: 'mvp' }],
      ['(module (memory (export "memory") 1) (func (export "f") (result i32 i32) i32.const 1 i32.const 2))', {}],
      ['(module (memory (export "memory") 1) (table 1 funcref) (func (export "f") i32.const 0 ref.null func table.set))', {}],
      ['(module (memory (export "memory") 1) (func (export "f") v128.const i32x4 0 0 0 0 drop))', { features: 'modern' }],
      ['(module (memory (export "memory") 1) (data "x") (func (export "f") data.drop 0))', { features: 'modern' }],
      ['(module (memory (export "memory") 1) (table 1 funcref) (func (export "f") i32.const 0 ref.null func table.set))', { features: 'modern' }],
      ['(module (memory (export "memory") 1) (func (export "f") (result i32) i32.const 1 block (param i32) (result i32) end))', { features: 'modern' }],
    ];
    for (const [source, options] of cases) {
      const moduleBytes = await wat(source);
      const describe = async (extra: Partial<VmConfig>): Promise<string> => {
        try {
          const proto = await createOn(backend, { moduleBytes, symbols: () => null, ...options, ...extra });
          return `accepted, reset blocker ${proto._live().components.resetBlocker}`;
        } catch (e) {
          return e instanceof NewError ? `${e.kind}: ${e.message}` : String(e);
        }
      };
      const without = await describe({});
      expect(`${source}: ${await describe({ canonicalizeNaNs: true })}`).toBe(`${source}: ${without}`);
      expect(`${source}: ${await describe({ fuel: true, maxStackHeight: 10 })}`).toBe(`${source}: ${without}`);
    }
  });
});

describe.each(BACKENDS)('the Substrate layer on %s', (backend) => {
  const ENDLESS = async (): Promise<Uint8Array> =>
    guest(
      '',
      `(func (export "Spin_spin") (param i32 i32) (result i64) (local $i i32)
         loop local.get $i i32.const 1 i32.add local.tee $i i32.const 100000 i32.ne br_if 0 end
         i32.const 0 i32.const 0 call $ps)
       (func (export "Loop_forever") (param i32 i32) (result i64) loop br 0 end unreachable)`,
    );

  test('runtimeCall reports the fuel consumed, stops an endless loop with OutOfFuel, refills through onOutOfFuel', async () => {
    const runtime = await SubstrateRuntime.create({ code: await ENDLESS(), backend, fuel: true, maxStackHeight: 1000 });
    expect(runtime.fuel).toBe(true);
    const total = (await runtimeCall(runtime, 'Spin_spin', new Uint8Array())).fuelConsumed!;
    expect(total).toBeGreaterThan(100_000n * 5n);
    const exact = await runtimeCall(runtime, 'Spin_spin', new Uint8Array(), { fuel: total });
    expect(exact.fuelConsumed).toBe(total);
    const short = await runtimeCall(runtime, 'Spin_spin', new Uint8Array(), { fuel: 1000n }).catch((e: unknown) => e);
    expect(short).toBeInstanceOf(RuntimeCallError);
    expect((short as RuntimeCallError).kind).toBe('OutOfFuel');
    expect((short as RuntimeCallError).fuelConsumed).toBeLessThanOrEqual(1000n);
    let refills = 0;
    const refilled = await runtimeCall(runtime, 'Spin_spin', new Uint8Array(), { fuel: 1000n, onOutOfFuel: () => (refills++, 100_000n) });
    expect(refilled.fuelConsumed).toBe(total);
    expect(refills).toBe(Number((total - 1000n + 99_999n) / 100_000n));
    const forever = await runtimeCall(runtime, 'Loop_forever', new Uint8Array(), { fuel: 10_000_000n }).catch((e: unknown) => e);
    expect((forever as RuntimeCallError).kind).toBe('OutOfFuel');
    // The runtime is unharmed.
    expect((await runtimeCall(runtime, 'Spin_spin', new Uint8Array())).fuelConsumed).toBe(total);
  });

  test('without fuel: fuelConsumed is null and a budget is refused', async () => {
    const runtime = await SubstrateRuntime.create({ code: await ENDLESS(), backend });
    expect((await runtimeCall(runtime, 'Spin_spin', new Uint8Array())).fuelConsumed).toBeNull();
    await expect(runtimeCall(runtime, 'Spin_spin', new Uint8Array(), { fuel: 5n })).rejects.toMatchObject({ kind: 'FuelNotEnabled' });
  });
});

describe.each(BACKENDS)('the command line on %s', (backend) => {
  const GUEST = fileURLToPath(new URL('./guests/backtrace.wasm', import.meta.url));
  async function call(argv: string[]): Promise<{ status: number; out: string[] }> {
    const out: string[] = [];
    const status = await callCommand(parseCommandLine(argv, CALL_OPTIONS, 'call'), (l) => out.push(l), () => {});
    return { status, out };
  }

  test('--fuel prints the fuel consumed and stops a call that runs out (status 1); --max-stack-height traps', async () => {
    const finished = await call([GUEST, 'run', '0', '2', '--answer', '7', '--backend', backend, '--fuel', '1000000']);
    expect(finished.status).toBe(0);
    const consumed = finished.out.find((l) => l.includes('fuel consumed'))!;
    expect(consumed).toMatch(/^ {2}fuel consumed: \d+ of 1000000$/);
    const used = Number(/: (\d+) of/.exec(consumed)![1]);
    const short = await call([GUEST, 'run', '0', '2', '--answer', '7', '--backend', backend, '--fuel', String(used - 1)]);
    expect(short.status).toBe(1);
    expect(short.out.slice(-2)).toEqual([`  fuel consumed: ${used - 1} of ${used - 1}`, `stopped: out of fuel (--fuel ${used - 1})`]);
    const limited = await call([GUEST, 'run', '0', '2', '--answer', '7', '--backend', backend, '--max-stack-height', '4', '--canonicalize-nans']);
    expect(limited.status).toBe(1);
    expect(limited.out.some((l) => l.startsWith('trapped: StackLimitExceeded'))).toBe(true);
    const byDefault = await call([GUEST, 'run', '0', '2', '--answer', '7', '--backend', backend, '--max-stack-height', 'default']);
    expect(byDefault.status).toBe(0);
  });

  test('a trap under the rewrite still names its frames with files and lines (JSPI: through the rewrite\'s offset map)', async () => {
    const { out } = await call([GUEST, 'run', '0', '2', '--answer', '4294967295', '--backend', backend, '--fuel', '1000000']);
    const frames = out.filter((l) => l.startsWith('  #'));
    expect(frames.map((l) => l.replace(/ at .*$/, ''))).toEqual([
      '  #0 recurse (function 2)',
      '  #1 recurse (function 2)',
      '  #2 recurse (function 2)',
      '  #3 run (function 1)',
    ]);
    if (backend === 'jspi') expect(frames[0]).toMatch(/at backtrace\.c:28:16$/);
  });
});

describe('the built package in Node.js (dist/)', () => {
  test('loads the rewriter at once (no await, no private copy of the bytes): the caller may still reuse its array while create() runs', async () => {
    const bytes = await wat(`(module (import "env" "memory" (memory 1)) (func (export "f") (result i32) (i32.const 42)))`);
    const dist = pathToFileURL(join(REPO_ROOT, 'dist')).href;
    const script = `
      import { VirtualMachinePrototype } from '${dist}/index.js';
      import { importNow } from '${dist}/load/import-now.js';
      const loaded = importNow('${dist}/backends/jspi/load.js', '../../load/bounds-rewrite.js');
      const bytes = Uint8Array.from(${JSON.stringify(Array.from(bytes))});
      const pending = VirtualMachinePrototype.create({ moduleBytes: bytes, symbols: () => 0, backend: 'jspi', fuel: true, maxStackHeight: 100, canonicalizeNaNs: true });
      bytes.fill(0);
      const proto = await pending;
      const outcome = await proto.prepare().start('f', [], { fuel: 1000n }).runAsync(null);
      console.log(JSON.stringify({ loaded: loaded !== null && typeof loaded.rewriteForVm, outcome }));`;
    const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script]);
    expect(JSON.parse(stdout)).toEqual({ loaded: 'function', outcome: { type: 'finished', value: { type: 'i32', value: 42 } } });
  });
});
