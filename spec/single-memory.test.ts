/**
 * Asyncify without multi-memory (`asyncifyStack: 'single-memory'`): the paused stack lives in
 * pages reserved below the guest's memory, in the module's one memory. What must hold:
 *
 * - **the guest cannot reach the reserved pages**: every way of addressing below its byte 0 or
 *   past its end (addresses that wrap, offsets that would, bulk operations, `memory.init`) traps
 *   exactly as in a plain instance, right after a deep paused stack was rewound from them;
 * - **the host cannot either**: every accessor speaks the guest's addresses and size, the
 *   library's in-place fast path (`CURRENT_VIEW`) starts at the guest's byte 0, growth stops at
 *   the guest's limits (and the 65535 pages the real memory may have);
 * - **a stack too deep for the buffer** traps as `StackExhausted` naming the buffer before
 *   writing a byte of the guest's memory, and the instance runs again;
 * - **the placement** is chosen per engine (`'auto'`), said by `prototype.asyncifyStack`,
 *   recorded by artifacts and the cache key, and refused where the engine cannot run it: on an
 *   engine without multi-memory (simulated in a child process, `support/no-multi-memory.mjs`)
 *   Asyncify runs with its stack in the single memory, an explicit `'second-memory'` is
 *   `NewError('BackendUnsupported')`, and a second-memory artifact is `ArtifactError
 *   OptionsMismatch`.
 *
 * That the guest cannot tell it was paused (same bytes, `memory.size` and `memory.grow` results
 * at every pause) is shown on every configuration by `memory-during-interrupt.test.ts`, and by
 * the spec suites and the differential fuzzer with the placement forced.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AsyncifyDriver } from '../lib/backends/asyncify/driver.js';
import { CURRENT_VIEW, currentViewOf } from '../lib/base/guest-memory-access.js';
import {
  ArtifactError,
  type ExecOutcome,
  MemoryArtifactCache,
  NewError,
  OutOfBoundsError,
  type VirtualMachine,
  VirtualMachinePrototype,
  type VmConfig,
  WasmValue,
} from '../lib/index.js';
import { REPO_ROOT } from './support/shared.js';
import { wat } from './support/wat.js';

const PAGE = 65536;

/**
 * Pauses `depth` frames deep (a large paused stack in the reserved pages), then, resumed with an
 * address, tries to reach memory there in the way `how` says; `peek` reads a word anywhere.
 */
const HOSTILE = `(module
  (import "env" "pause" (func $pause (result i32)))
  (memory (export "memory") 2 3)
  (data (i32.const 0) "guest's first bytes")
  (data $passive "0123456789")
  (func $deep (param $depth i32) (param $how i32) (result i32) (local $keep i64)
    (local.set $keep (i64.mul (i64.extend_i32_u (local.get $depth)) (i64.const 0x0101010101)))
    (if (result i32) (i32.eqz (local.get $depth))
      (then (call $reach (call $pause) (local.get $how)))
      (else (i32.add (call $deep (i32.sub (local.get $depth) (i32.const 1)) (local.get $how)) (i32.wrap_i64 (local.get $keep))))))
  (func $reach (param $at i32) (param $how i32) (result i32)
    (block $store (block $store_off (block $load_off (block $fill (block $copy_out (block $copy_in (block $init (block $load
      (br_table $load $init $copy_in $copy_out $fill $load_off $store_off $store (local.get $how)))
      (return (i32.load (local.get $at))))
      (memory.init $passive (local.get $at) (i32.const 0) (i32.const 4)) (return (i32.const 1)))
      (memory.copy (i32.const 0) (local.get $at) (i32.const 8)) (return (i32.load (i32.const 0))))
      (memory.copy (local.get $at) (i32.const 0) (i32.const 8)) (return (i32.const 1)))
      (memory.fill (local.get $at) (i32.const 0xee) (i32.const 16)) (return (i32.const 1)))
      (return (i32.load offset=0xfffffff0 (local.get $at))))
      (i32.store offset=0xffff0000 (local.get $at) (i32.const -1)) (return (i32.const 1)))
    (i64.store (local.get $at) (i64.const -1)) (i32.const 1))
  (func (export "attempt") (param $depth i32) (param $how i32) (result i32) (call $deep (local.get $depth) (local.get $how)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size)))`;

/** Addresses that would land in the reserved pages if the shift wrapped, or past the guest's end. */
const ADDRESSES = [-1, -4, -8, -PAGE, -2 * PAGE, -0x10000 + 3, 2 * PAGE - 3, 2 * PAGE, 0x7fffffff, 0x10];
const HOWS = ['load', 'memory.init', 'memory.copy from', 'memory.copy to', 'memory.fill', 'load offset=0xfffffff0', 'store offset=0xffff0000', 'i64.store'];

function config(moduleBytes: Uint8Array, extra: Partial<VmConfig> = {}): VmConfig {
  return { moduleBytes, symbols: () => 0, features: ['default', 'bulk-memory'], asyncifyStack: 'single-memory', ...extra };
}

/** The outcome of `attempt(depth, how)` answered with `at` in a plain instance: `r:<value>` or `trap:out of bounds`. */
function plainAttempt(bytes: Uint8Array, depth: number, how: number, at: number): { result: string; memory: Uint8Array } {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), { env: { pause: () => at } });
  const memory = instance.exports['memory'] as WebAssembly.Memory;
  let result: string;
  try {
    result = `r:${(instance.exports['attempt'] as (d: number, h: number) => number)(depth, how)}`;
  } catch (e) {
    result = e instanceof WebAssembly.RuntimeError ? 'trap:out of bounds' : `threw:${String(e)}`;
  }
  return { result, memory: new Uint8Array(memory.buffer).slice() };
}

function describeOutcome(outcome: ExecOutcome): string {
  if (outcome.type === 'finished') return `r:${outcome.value!.value as number}`;
  if (outcome.type === 'trapped') return outcome.trap.kind === 'MemoryOutOfBounds' ? 'trap:out of bounds' : `trap:${outcome.trap.kind}`;
  return 'interrupted';
}

describe('the guest cannot reach the reserved pages', () => {
  test('every way below its byte 0 or past its end traps as in a plain instance, right after a deep paused stack was rewound from the reserved pages', async () => {
    const bytes = await wat(HOSTILE);
    let proto = await VirtualMachinePrototype.create(config(bytes));
    expect(proto.asyncifyStack).toBe('single-memory');
    for (let how = 0; how < HOWS.length; how++) {
      for (const at of ADDRESSES) {
        const plain = plainAttempt(bytes, 60, how, at);
        const vm = proto.prepare().start('attempt', [WasmValue.i32(60), WasmValue.i32(how)]);
        expect((await vm.runAsync(null)).type).toBe('interrupted');
        // Paused 60 frames deep: the stack is in the reserved pages.
        const driver = driverOf(vm);
        const stack = driver.pausedStack().bytes;
        expect(stack.length).toBeGreaterThan(60 * 8);
        const outcome = await vm.runAsync(WasmValue.i32(at));
        expect({ how: HOWS[how], at, outcome: describeOutcome(outcome) }).toEqual({ how: HOWS[how], at, outcome: plain.result });
        const guestMemory = vm.readMemory(0, vm.memorySize() * PAGE);
        expect(Buffer.compare(guestMemory, plain.memory)).toBe(0);
        proto = vm.intoPrototype();
      }
    }
  });

  test('the host reaches only the guest: accessors, sizes, the in-place view, growth', async () => {
    const proto = await VirtualMachinePrototype.create(config(await wat(HOSTILE), { unwindBufferPages: 4 }));
    const prepare = proto.prepare();
    expect(prepare.memorySize()).toBe(2);
    expect(new TextDecoder().decode(prepare.readMemory(0, 19))).toBe("guest's first bytes");
    expect(() => prepare.readMemory(2 * PAGE - 3, 4)).toThrow(OutOfBoundsError);
    expect(() => prepare.writeMemory(2 * PAGE, Uint8Array.of(1))).toThrow(OutOfBoundsError);
    const view = currentViewOf(prepare)!;
    expect(view.byteLength).toBe(2 * PAGE);
    expect(view.getUint8(0)).toBe('g'.charCodeAt(0));
    // One view per memory buffer: the same object until the memory grows.
    expect(prepare[CURRENT_VIEW]()).toBe(view);
    prepare.growMemory(1);
    expect(prepare.memorySize()).toBe(3);
    const grown = currentViewOf(prepare)!;
    expect(grown).not.toBe(view);
    expect(grown.byteLength).toBe(3 * PAGE);
    // The guest's maximum (3), not the real memory's (3 + 4).
    expect(() => prepare.growMemory(1)).toThrow(OutOfBoundsError);
    const vm = prepare.start('grow', [WasmValue.i32(1)]);
    expect(await vm.runAsync(null)).toEqual({ type: 'finished', value: WasmValue.i32(-1) });
  });

  test('a guest without memory: an empty memory to the host (Asyncify has its own for the buffer), and a pause works', async () => {
    const proto = await VirtualMachinePrototype.create(
      config(await wat('(module (import "env" "pause" (func $p (result i32))) (func (export "f") (result i32) (i32.add (call $p) (i32.const 1))))'), {
        requireMemory: false,
      }),
    );
    const prepare = proto.prepare();
    expect(prepare.memorySize()).toBe(0);
    expect(prepare.readMemory(0, 0)).toEqual(new Uint8Array(0));
    prepare.writeMemory(0, new Uint8Array(0));
    expect(() => prepare.readMemory(0, 1)).toThrow(OutOfBoundsError);
    expect(() => prepare.growMemory(1)).toThrow(/the module has no memory/);
    expect(currentViewOf(prepare)!.byteLength).toBe(0);
    const vm = prepare.start('f', []);
    expect((await vm.runAsync(null)).type).toBe('interrupted');
    expect(await vm.runAsync(WasmValue.i32(41))).toEqual({ type: 'finished', value: WasmValue.i32(42) });
  });

  test('a guest without a maximum grows to 65535 pages minus the reserved ones, and one that starts past that is refused', async () => {
    const proto = await VirtualMachinePrototype.create(config(await wat('(module (memory (export "memory") 1))'), { unwindBufferPages: 8 }));
    expect(proto.memoryMaxPages()).toBeNull();
    const prepare = proto.prepare();
    // Refused before anything is allocated: 65535 - 8 - 1 pages more would be the most.
    expect(() => prepare.growMemory(65535 - 8)).toThrow(/its maximum is 65527/);
    const error = await VirtualMachinePrototype.create(config(await wat('(module (memory (export "memory") 65530))'), { unwindBufferPages: 8 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NewError);
    expect(error).toMatchObject({ kind: 'CouldntAllocateMemory', message: expect.stringMatching(/starts with 65530 pages: with the 8 pages reserved below it/) });
  });
});

describe('a paused stack too deep for the reserved pages', () => {
  test('traps as StackExhausted naming the buffer before writing a byte of the guest memory; the instance runs again', async () => {
    const bytes = await wat(HOSTILE);
    let proto = await VirtualMachinePrototype.create(config(bytes, { unwindBufferPages: 1 }));
    const before = proto.prepare();
    const fresh = before.readMemory(0, 2 * PAGE);
    const vm = before.start('attempt', [WasmValue.i32(5000), WasmValue.i32(0)]);
    const outcome = await vm.runAsync(null);
    expect(outcome.type).toBe('trapped');
    if (outcome.type !== 'trapped') return;
    expect(outcome.trap.kind).toBe('StackExhausted');
    expect(outcome.trap.message).toMatch(/does not fit in the 64 KiB unwind buffer \(raise `unwindBufferPages`\)/);
    expect(Buffer.compare(vm.readMemory(0, 2 * PAGE), fresh)).toBe(0);
    proto = vm.intoPrototype();
    const again = proto.prepare().start('attempt', [WasmValue.i32(10), WasmValue.i32(0)]);
    expect((await again.runAsync(null)).type).toBe('interrupted');
    expect(await again.runAsync(WasmValue.i32(0))).toMatchObject({ type: 'finished' });
  });
});

describe('the placement', () => {
  test("'auto' takes the second memory on an engine with multi-memory; prototypes say which; JSPI has none", async () => {
    const moduleBytes = await wat(HOSTILE);
    expect((await VirtualMachinePrototype.create({ moduleBytes, symbols: () => 0, features: ['default', 'bulk-memory'] })).asyncifyStack).toBe('second-memory');
    expect((await VirtualMachinePrototype.create(config(moduleBytes, { asyncifyStack: 'second-memory' }))).asyncifyStack).toBe('second-memory');
    expect((await VirtualMachinePrototype.create(config(moduleBytes, { backend: 'jspi' }))).asyncifyStack).toBeNull();
    await expect(VirtualMachinePrototype.create(config(moduleBytes, { asyncifyStack: 'third' as never }))).rejects.toMatchObject({
      kind: 'InvalidArgument',
      message: expect.stringMatching(/`asyncifyStack` must be 'second-memory', 'single-memory' or 'auto'/),
    });
  });

  test("artifacts record it: an explicit placement must match, 'auto' takes either; the cache keeps one entry per placement", async () => {
    const moduleBytes = await wat(HOSTILE);
    const cache = new MemoryArtifactCache();
    const single = await VirtualMachinePrototype.create(config(moduleBytes, { cache }));
    const second = await VirtualMachinePrototype.create(config(moduleBytes, { cache, asyncifyStack: 'second-memory' }));
    expect(cache.size).toBe(2);
    for (const proto of [single, second]) {
      const artifact = proto.toArtifact();
      const auto = await VirtualMachinePrototype.fromArtifact(artifact, config(moduleBytes, { asyncifyStack: 'auto' }));
      expect(auto.asyncifyStack).toBe(proto.asyncifyStack);
      const vm = auto.prepare().start('attempt', [WasmValue.i32(3), WasmValue.i32(0)]);
      expect((await vm.runAsync(null)).type).toBe('interrupted');
      expect(await vm.runAsync(WasmValue.i32(0))).toMatchObject({ type: 'finished' });
      const other = proto.asyncifyStack === 'single-memory' ? 'second-memory' : 'single-memory';
      const refused = await VirtualMachinePrototype.fromArtifact(artifact, config(moduleBytes, { asyncifyStack: other })).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ArtifactError);
      expect(refused).toMatchObject({ kind: 'OptionsMismatch', message: expect.stringMatching(new RegExp(`asyncifyStack "${proto.asyncifyStack}" \\(now "${other}"\\)`)) });
    }
  });
});

describe('an engine without multi-memory (simulated in a child process)', () => {
  test("Asyncify runs with its stack in the single memory; 'second-memory' is refused, and so is a second-memory artifact", async () => {
    const moduleBytes = await wat(HOSTILE);
    const dir = mkdtempSync(join(tmpdir(), 'resumable-wasm-no-multi-memory-'));
    const files: Record<string, string> = { module: join(dir, 'module.wasm') };
    writeFileSync(files['module']!, moduleBytes);
    for (const stack of ['second-memory', 'single-memory'] as const) {
      files[stack] = join(dir, `${stack}.rwasm`);
      writeFileSync(files[stack]!, (await VirtualMachinePrototype.create(config(moduleBytes, { asyncifyStack: stack }))).toArtifact());
    }
    const script = fileURLToPath(new URL('./support/no-multi-memory.mjs', import.meta.url));
    const child = spawnSync(process.execPath, [script, join(REPO_ROOT, 'dist/index.js'), JSON.stringify(files)], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual({
      probe: false,
      auto: { asyncifyStack: 'single-memory', outcome: 'finished' },
      autoBackendWithoutJspi: { backend: 'asyncify', asyncifyStack: 'single-memory' },
      secondMemory: { name: 'NewError', kind: 'BackendUnsupported', namesWhy: true },
      secondMemoryArtifact: { name: 'ArtifactError', kind: 'OptionsMismatch', namesWhy: true },
      singleMemoryArtifact: { asyncifyStack: 'single-memory', outcome: 'finished' },
      singleMemoryArtifactAsSecond: { name: 'NewError', kind: 'BackendUnsupported', namesWhy: true },
    });
  });
});

/** The Asyncify driver of a machine's instance (white box: to see the paused stack). */
function driverOf(vm: VirtualMachine): AsyncifyDriver {
  const live = (vm as unknown as { owner: { live: { driver: unknown } } }).owner.live;
  if (!(live.driver instanceof AsyncifyDriver)) throw new Error('not an Asyncify machine');
  return live.driver;
}
