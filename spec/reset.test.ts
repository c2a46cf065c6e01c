/**
 * `intoPrototype()` puts a used instance back in its fresh state instead of making a new one
 * (`LiveInstance.reset`, lib/vm/live-instance.ts). The guarantee: the next call cannot observe
 * the previous one. Checked here by comparing what a guest can observe (every byte of memory,
 * `memory.size`, every mutable global, exported or not) after a reset with a new instance of the
 * same module, from every state a call can end in, on both backends, and on real runtimes.
 */
import { VirtualMachinePrototype, type VmConfig, WasmValue } from '../lib/index.js';
import { VARIANTS, type Variant, backendOf, createOn } from './support/backends.js';
import { sharedPath } from './support/shared.js';
import { wat } from './support/wat.js';
import { readFileSync } from 'node:fs';
import { decodeRuntimeCode } from '../lib/substrate/index.js';

/** A guest with data segments, a non-exported mutable global (a stack pointer), an exported one, and a pause. */
const GUEST = `(module
  (import "env" "ask" (func $ask (param i32) (result i32)))
  (memory (export "memory") 2 4)
  (global $sp (mut i32) (i32.const 65536))
  (global $count (export "count") (mut i64) (i64.const 7))
  (global $k (export "k") i32 (i32.const 3))
  (data (i32.const 16) "fresh data")
  (data (i32.const 70000) "second page")
  (func $scribble (param $x i32)
    (global.set $sp (i32.sub (global.get $sp) (i32.const 64)))
    (global.set $count (i64.add (global.get $count) (i64.const 1)))
    (i32.store (i32.const 16) (local.get $x))
    (i32.store (i32.const 131000) (local.get $x)))
  (func (export "work") (param $x i32) (result i32)
    (call $scribble (local.get $x))
    (call $ask (local.get $x)))
  (func (export "crash") (param $x i32)
    (call $scribble (local.get $x))
    unreachable)
  (func (export "grow") (result i32) (memory.grow (i32.const 1))))`;

async function guest(backend: Variant, extra: Partial<VmConfig> = {}): Promise<VirtualMachinePrototype> {
  return createOn(backend, { moduleBytes: await wat(GUEST), symbols: () => 1, ...extra });
}

/** Everything a guest can observe of a prototype's instance. */
function observe(proto: VirtualMachinePrototype) {
  return proto._live().observableState();
}

describe.each(VARIANTS)('on %s', (backend) => {
  let base: VirtualMachinePrototype;
  let fresh: ReturnType<typeof observe>;
  beforeAll(async () => {
    base = await guest(backend);
    fresh = observe(base.clone());
    // The guest's state really changes: otherwise a "reset" that did nothing would pass.
    expect(fresh.globals).toEqual([65536, 7n]);
  });

  const ends: [string, (proto: VirtualMachinePrototype) => Promise<VirtualMachinePrototype>][] = [
    ['a finished call', async (p) => {
      const vm = p.prepare().start('work', [WasmValue.i32(99)]);
      expect(await vm.runAsync(null)).toMatchObject({ type: 'interrupted' });
      expect(await vm.runAsync(WasmValue.i32(1))).toMatchObject({ type: 'finished' });
      return vm.intoPrototype();
    }],
    ['a trapped call', async (p) => {
      const vm = p.prepare().start('crash', [WasmValue.i32(5)]);
      expect(await vm.runAsync(null)).toMatchObject({ type: 'trapped', trap: { kind: 'Unreachable' } });
      return vm.intoPrototype();
    }],
    ['a call abandoned while paused', async (p) => {
      const vm = p.prepare().start('work', [WasmValue.i32(42)]);
      expect(await vm.runAsync(null)).toMatchObject({ type: 'interrupted' });
      return vm.intoPrototype();
    }],
    ['a Prepare whose memory the host wrote', async (p) => {
      const prepare = p.prepare();
      prepare.writeMemory(0, new Uint8Array(4096).fill(0xab));
      return prepare.intoPrototype();
    }],
    ['two calls on one instance (intoPrepare), then intoPrototype', async (p) => {
      let vm = p.prepare().start('crash', [WasmValue.i32(1)]);
      await vm.runAsync(null);
      vm = vm.intoPrepare().start('work', [WasmValue.i32(2)]);
      await vm.runAsync(null);
      await vm.runAsync(WasmValue.i32(3));
      return vm.intoPrototype();
    }],
  ];

  test.each(ends)('after %s, the instance observes exactly as a new one', async (_what, end) => {
    const proto = base.clone();
    const renewed = await end(proto);
    expect(observe(renewed)).toEqual(fresh);
    // And it runs like a new one.
    const vm = renewed.prepare().start('work', [WasmValue.i32(10)]);
    expect(await vm.runAsync(null)).toEqual({ type: 'interrupted', id: 1, params: [WasmValue.i32(10)] });
  });

  test('the instance is reused where it can be, and a new one is made where it cannot', async () => {
    // Reused after a finished call.
    let proto = base.clone();
    let live = proto._live();
    let vm = proto.prepare().start('work', [WasmValue.i32(1)]);
    await vm.runAsync(null);
    await vm.runAsync(WasmValue.i32(1));
    proto = vm.intoPrototype();
    expect(proto._live()).toBe(live);

    // Not after the memory grew: a memory cannot shrink.
    live = proto._live();
    vm = proto.prepare().start('grow', []);
    expect(await vm.runAsync(null)).toEqual({ type: 'finished', value: WasmValue.i32(2) });
    proto = vm.intoPrototype();
    expect(proto._live()).not.toBe(live);
    expect(observe(proto)).toEqual(fresh);

    // After an abandoned pause: on Asyncify the instance is reused; on JSPI the abandoned
    // stack unwinds later, on that instance, so a new one is made.
    live = proto._live();
    vm = proto.prepare().start('work', [WasmValue.i32(1)]);
    await vm.runAsync(null);
    proto = vm.intoPrototype();
    if (backendOf(backend) === 'asyncify') expect(proto._live()).toBe(live);
    else expect(proto._live()).not.toBe(live);
    expect(observe(proto)).toEqual(fresh);
  });
});

/**
 * `VmConfig.reuseGrownMemory`: an instance whose memory a call grew is kept, with the contents of
 * a fresh one (its initial memory, then zeros) and its grown size, which is the one thing the
 * guest can tell; by default such an instance is replaced (above).
 */
describe.each(VARIANTS)('reuseGrownMemory on %s', (backend) => {
  /** Grows its memory by `pages` and writes a mark at the start of each new page, pausing once after. */
  const GROWER = `(module
    (import "env" "ask" (func $ask (result i32)))
    (memory (export "memory") 1)
    (global $n (export "n") (mut i32) (i32.const 5))
    (data (i32.const 8) "initial")
    (func (export "grow") (param $pages i32) (result i32) (local $old i32) (local $i i32)
      (local.set $old (memory.grow (local.get $pages)))
      (global.set $n (i32.add (global.get $n) (i32.const 1)))
      (i32.store (i32.const 8) (i32.const -1))
      (block $done (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $pages)))
        (i32.store (i32.mul (i32.add (local.get $old) (local.get $i)) (i32.const 65536)) (i32.const 0x5a5a5a5a))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
      (i32.add (call $ask) (memory.size))))`;
  const PAGE = 65536;

  /** Runs `grow(pages)` on a memory of `from` pages; returns the prototype after `intoPrototype()`. */
  async function grown(prototype: VirtualMachinePrototype, pages: number, from = 1): Promise<VirtualMachinePrototype> {
    const vm = prototype.prepare().start('grow', [WasmValue.i32(pages)]);
    expect(await vm.runAsync(null)).toMatchObject({ type: 'interrupted' });
    expect(await vm.runAsync(WasmValue.i32(0))).toEqual({ type: 'finished', value: WasmValue.i32(from + pages) });
    return vm.intoPrototype();
  }

  test('the grown instance is kept: a fresh one\'s contents, zeros past them, and its grown size', async () => {
    const proto = await createOn(backend, { moduleBytes: await wat(GROWER), symbols: () => 0, reuseGrownMemory: true });
    const fresh = observe(proto.clone());
    const live = proto._live();
    const renewed = await grown(proto, 3);
    expect(renewed._live()).toBe(live);
    const after = observe(renewed);
    expect(after.pages).toBe(4);
    expect(after.globals).toEqual(fresh.globals);
    expect(after.memory.subarray(0, PAGE)).toEqual(fresh.memory);
    // Every byte the call wrote in the grown pages is zero again (a fresh memory's bytes there).
    expect(after.memory.subarray(PAGE).every((byte) => byte === 0)).toBe(true);
    // The next call starts from the kept size: memory.size is the one thing it can tell.
    const vm = renewed.prepare().start('grow', [WasmValue.i32(0)]);
    await vm.runAsync(null);
    expect(await vm.runAsync(WasmValue.i32(0))).toEqual({ type: 'finished', value: WasmValue.i32(4) });
  });

  test('without the option the same call gets a new instance of the initial size', async () => {
    const proto = await createOn(backend, { moduleBytes: await wat(GROWER), symbols: () => 0 });
    const live = proto._live();
    const renewed = await grown(proto, 3);
    expect(renewed._live()).not.toBe(live);
    expect(observe(renewed).pages).toBe(1);
  });

  test('a memory grown by more than 32 MiB gets a new instance: zeroing it would cost more', async () => {
    const proto = await createOn(backend, { moduleBytes: await wat(GROWER), symbols: () => 0, reuseGrownMemory: true });
    let live = proto._live();
    let renewed = await grown(proto, 512); // exactly 32 MiB: kept
    expect(renewed._live()).toBe(live);
    live = renewed._live();
    renewed = await grown(renewed, 1, 513); // 32 MiB + 64 KiB past the initial memory: replaced
    expect(renewed._live()).not.toBe(live);
    expect(observe(renewed).pages).toBe(1);
  });
});

/**
 * Bulk memory and reference types: instructions that change what a reset cannot put back (a
 * table, a dropped segment) make every intoPrototype() a new instance; the others (memory.copy,
 * memory.fill, memory.init, which only change memory) keep the fast reset. Each guest shows the
 * difference through its own calls: a reset that missed the change would answer differently.
 */
const TABLES_AND_SEGMENTS = `(module
  (import "env" "ask" (func $ask (result i32)))
  (memory (export "memory") 1)
  (table $t 2 funcref)
  (elem (i32.const 0) $one)
  (elem $later func $two)
  (data $bytes "*+")
  (func $one (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))
  ;; What a fresh instance answers: 1, 0 (slot 1 is empty), table size 2, the passive segment
  ;; still there (memory.init of 2 bytes works).
  (func (export "observe") (result i32)
    (i32.add
      (i32.add (call_indirect (result i32) (i32.const 0))
               (i32.mul (i32.const 10) (ref.is_null (table.get $t (i32.const 1)))))
      (i32.mul (i32.const 100) (table.size $t))))
  (func (export "segment") (result i32)
    (memory.init $bytes (i32.const 0) (i32.const 0) (i32.const 2))
    (i32.load16_u (i32.const 0)))
  ;; Changes the table and drops the segment, pausing half-way.
  (func (export "change") (result i32)
    (table.set $t (i32.const 0) (ref.func $two))
    (table.init $t $later (i32.const 1) (i32.const 0) (i32.const 1))
    (drop (table.grow $t (ref.null func) (i32.const 3)))
    (data.drop $bytes)
    (call $ask)))`;

const MEMORY_ONLY = `(module
  (import "env" "ask" (func $ask (result i32)))
  (memory (export "memory") 1)
  (data $bytes "*+")
  (func (export "work") (result i32)
    (memory.fill (i32.const 100) (i32.const 7) (i32.const 50))
    (memory.copy (i32.const 200) (i32.const 100) (i32.const 50))
    (memory.init $bytes (i32.const 300) (i32.const 0) (i32.const 2))
    (call $ask)))`;

describe.each(VARIANTS)('bulk memory and reference types on %s', (backend) => {
  const modern = async (source: string) => createOn(backend, { moduleBytes: await wat(source), symbols: () => 1, features: 'modern' });
  const call = async (proto: VirtualMachinePrototype, name: string) => {
    const vm = proto.prepare().start(name, []);
    let outcome = await vm.runAsync(null);
    while (outcome.type === 'interrupted') outcome = await vm.runAsync(WasmValue.i32(0));
    return { outcome, proto: vm.intoPrototype() };
  };

  test('a guest that changes its table and drops a segment gets a new instance, which answers as fresh', async () => {
    let proto = await modern(TABLES_AND_SEGMENTS);
    const fresh = { observe: WasmValue.i32(211), segment: WasmValue.i32(0x2b2a) };
    let result = await call(proto, 'observe');
    expect(result.outcome).toEqual({ type: 'finished', value: fresh.observe });
    proto = result.proto;

    // The change is visible on the same instance...
    const live = proto._live();
    let vm = proto.prepare().start('change', []);
    expect(await vm.runAsync(null)).toMatchObject({ type: 'interrupted' });
    expect(await vm.runAsync(WasmValue.i32(0))).toMatchObject({ type: 'finished' });
    let prepare = vm.intoPrepare();
    vm = prepare.start('observe', []);
    expect(await vm.runAsync(null)).toEqual({ type: 'finished', value: WasmValue.i32(502) });
    vm = vm.intoPrepare().start('segment', []);
    expect(await vm.runAsync(null)).toMatchObject({ type: 'trapped', trap: { kind: 'MemoryOutOfBounds' } });

    // ...and gone after intoPrototype(), which made a new instance.
    proto = vm.intoPrototype();
    const renewed = proto._live();
    result = await call(proto, 'observe');
    expect(result.outcome).toEqual({ type: 'finished', value: fresh.observe });
    result = await call(result.proto, 'segment');
    expect(result.outcome).toEqual({ type: 'finished', value: fresh.segment });
    expect(renewed).not.toBe(live);

    // Also when the call is abandoned while paused, after it changed everything.
    vm = result.proto.prepare().start('change', []);
    expect(await vm.runAsync(null)).toMatchObject({ type: 'interrupted' });
    proto = vm.intoPrototype();
    result = await call(proto, 'observe');
    expect(result.outcome).toEqual({ type: 'finished', value: fresh.observe });
    prepare = result.proto.prepare();
    expect(prepare.readMemory(0, 2)).toEqual(new Uint8Array(2));
  });

  test('memory.fill, memory.copy and memory.init keep the fast reset, and it restores the memory', async () => {
    const proto = await modern(MEMORY_ONLY);
    const fresh = observe(proto.clone());
    const live = proto._live();
    const { outcome, proto: renewed } = await call(proto, 'work');
    expect(outcome).toMatchObject({ type: 'finished' });
    expect(renewed._live()).toBe(live);
    expect(observe(renewed)).toEqual(fresh);
  });
});

// Real runtimes: a call that allocates, logs and returns, then the reset instance against a new
// one. Core_version runs within the initial memory of these runtimes, so the instance is reused.
const RUNTIMES = ['runtimes/westend-runtime-v9300.wasm', 'runtimes/rococo-genesis.wasm'];
describe.each(VARIANTS)('real runtimes on %s', (backend) => {
  test.each(RUNTIMES)('%s', async (relative) => {
    const path = sharedPath(relative);
    // Without ../shared the test has nothing to compare (it passes with a note).
    if (path === null) {
      console.info(`reset.test.ts: ${relative} not compared (../shared is not present)`);
      return;
    }
    const { wasm } = decodeRuntimeCode(new Uint8Array(readFileSync(path)));
    const proto = await createOn(backend, {
      moduleBytes: wasm,
      symbols: () => 0,
      // A bump allocator that never frees, answered inline: enough for Core_version.
      inlineImports: (_module, name) => {
        if (name === 'ext_allocator_malloc_version_1') {
          return (memory, [size]) => {
            const at = bump;
            bump += ((size as number) + 7) & ~7;
            if (bump > memory.memorySize() * 65536) memory.growMemory(Math.ceil((bump - memory.memorySize() * 65536) / 65536));
            return at;
          };
        }
        if (name === 'ext_allocator_free_version_1' || name.startsWith('ext_logging_')) return () => (name.includes('max_level') ? 0 : undefined);
        return null;
      },
    });
    let bump = proto.globalValue('__heap_base') + 1024;
    const fresh = observe(proto.clone());
    const live = proto._live();
    const vm = proto.prepare().start('Core_version', [WasmValue.i32(0), WasmValue.i32(0)]);
    const outcome = await vm.runAsync(null);
    expect(outcome).toMatchObject({ type: 'finished', value: { type: 'i64' } });
    const renewed = vm.intoPrototype();
    expect(renewed._live()).toBe(live);
    const after = observe(renewed);
    expect(after.pages).toBe(fresh.pages);
    expect(after.globals).toEqual(fresh.globals);
    // Compared as a whole (a byte-by-byte toEqual of megabytes would be slow to report).
    expect(Buffer.compare(Buffer.from(after.memory), Buffer.from(fresh.memory))).toBe(0);
  });
});
