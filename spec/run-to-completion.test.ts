/**
 * runToCompletion: drives a call to its end on either backend, handing the host each interrupt
 * with the import's module, name and signature, and the paused guest's memory; the host answers
 * synchronously or with a promise. A host failure or a wrong answer rejects and leaves the
 * machine paused at that interrupt.
 */
import {
  type GuestMemoryAccess,
  type Interrupt,
  type InterruptHandler,
  RunError,
  UsageError,
  type VirtualMachine,
  type VirtualMachinePrototype,
  WasmValue,
  runToCompletion,
} from '../lib/index.js';
import { currentViewOf } from '../lib/base/guest-memory-access.js';
import { VARIANTS, backendOf, createOn } from './support/backends.js';
import { thrown } from './support/drive.js';
import { wat } from './support/wat.js';

// main(a): note(a); stores get(a, -9) at 0; returns wide() + [0] + [4] (read after wide, so a
// host write at 4 during wide counts).
const GUEST = `(module
  (import "host" "get\\00x" (func $get (param i32 i64) (result i32)))
  (import "host" "wide" (func $wide (result i64)))
  (import "log" "note" (func $note (param i32)))
  (memory (export "memory") 1 4)
  (func (export "main") (param $a i32) (result i32)
    (call $note (local.get $a))
    (i32.store (i32.const 0) (call $get (local.get $a) (i64.const -9)))
    (i32.add (i32.wrap_i64 (call $wide)) (i32.add (i32.load (i32.const 0)) (i32.load (i32.const 4)))))
  (func (export "crash") (call $note (i32.const 1)) (unreachable))
  (func (export "quiet") (result i32) (i32.const 7)))`;

const IDS: Record<string, number> = { 'get\0x': 1, wide: 2, note: 3 };

/** The interrupts main(10) makes, in order, as the host must see them. */
const MAIN_INTERRUPTS: Interrupt[] = [
  { id: 3, module: 'log', name: 'note', signature: { params: ['i32'], result: null }, params: [WasmValue.i32(10)] },
  {
    id: 1,
    module: 'host',
    name: 'get\0x',
    signature: { params: ['i32', 'i64'], result: 'i32' },
    params: [WasmValue.i32(10), WasmValue.i64(-9n)],
  },
  { id: 2, module: 'host', name: 'wide', signature: { params: [], result: 'i64' }, params: [] },
];

/** What main(10) returns with {@link answer}: 100 + 2 * 10 + 5. */
const MAIN_RESULT = { type: 'finished', value: { type: 'i32', value: 125 } } as const;

/** The right answer to each import of the guest; `wide` also writes 5 at 4. */
function answer({ name, params }: Interrupt, memory: GuestMemoryAccess): WasmValue | null {
  switch (name) {
    case 'note':
      return null;
    case 'get\0x':
      return WasmValue.i32((params[0]!.value as number) * 2);
    case 'wide':
      memory.writeMemory(4, Uint8Array.of(5, 0, 0, 0));
      return WasmValue.i64(100n);
    default:
      throw new Error(`unexpected import ${name}`);
  }
}

describe.each(VARIANTS)('%s', (backend) => {
  let proto: VirtualMachinePrototype;
  beforeAll(async () => {
    proto = await createOn(backend, { moduleBytes: await wat(GUEST), symbols: (_module, name) => IDS[name] });
  });

  function start(fn: string, params: WasmValue[] = []): VirtualMachine {
    return proto.clone().prepare().start(fn, params);
  }

  /** A host answering as {@link answer} does, recording what it was handed. */
  function recordingHost(): { host: InterruptHandler; seen: Interrupt[] } {
    const seen: Interrupt[] = [];
    return { seen, host: (interrupt, memory) => (seen.push(interrupt), answer(interrupt, memory)) };
  }

  test('resolves to finished; the host gets module, name, signature and params of each import', async () => {
    const vm = start('main', [WasmValue.i32(10)]);
    const { host, seen } = recordingHost();
    expect(await runToCompletion(vm, host)).toEqual(MAIN_RESULT);
    expect(seen).toEqual(MAIN_INTERRUPTS);
    // The call is over: the machine moves on like any finished one.
    expect(vm.intoPrepare().readMemory(0, 8)).toEqual(Uint8Array.of(20, 0, 0, 0, 5, 0, 0, 0));
  });

  test("the host's memory is the paused guest's, and nothing more", async () => {
    const vm = start('main', [WasmValue.i32(10)]);
    const checked: string[] = [];
    await runToCompletion(vm, (interrupt, memory) => {
      expect(Object.keys(memory).sort()).toEqual(['growMemory', 'memorySize', 'readMemory', 'writeMemory']);
      if (interrupt.name === 'wide') {
        // The guest stored get's answer before calling wide.
        expect(memory.readMemory(0, 4)).toEqual(Uint8Array.of(20, 0, 0, 0));
        expect(memory.memorySize()).toBe(1);
        memory.growMemory(1);
        expect(vm.memorySize()).toBe(2);
        checked.push(interrupt.name);
      }
      return answer(interrupt, memory);
    });
    expect(checked).toEqual(['wide']);
    expect(vm.memorySize()).toBe(2);
  });

  test('the memory works taken apart, and stops working once its interrupt is answered (a promise too)', async () => {
    const kept: GuestMemoryAccess[] = [];
    const sizes: number[] = [];
    await runToCompletion(start('main', [WasmValue.i32(10)]), async (interrupt, memory) => {
      const { memorySize, readMemory } = memory;
      sizes.push(memorySize(), readMemory(0, 1).length);
      // While the interrupt is open, the in-place path gives a view of the machine's memory.
      expect(currentViewOf(memory)?.byteLength).toBe(memorySize() * 65536);
      kept.push(memory);
      // Still valid while the answer is a pending promise.
      await Promise.resolve();
      sizes.push(memory.memorySize());
      return answer(interrupt, memory);
    });
    expect(sizes).toEqual(MAIN_INTERRUPTS.flatMap(() => [1, 1, 1]));
    expect(kept).toHaveLength(MAIN_INTERRUPTS.length);
    for (const memory of kept) {
      // The library's in-place path (its allocator's) is revoked with the accessors.
      expect(thrown(() => currentViewOf(memory))).toMatchObject({ kind: 'Consumed' });
      expect(thrown(() => memory.memorySize())).toMatchObject({ kind: 'Consumed' });
      expect(thrown(() => memory.readMemory(0, 1))).toMatchObject({ kind: 'Consumed' });
      expect(thrown(() => memory.writeMemory(0, Uint8Array.of(1)))).toMatchObject({ kind: 'Consumed' });
      expect(thrown(() => memory.growMemory(1))).toMatchObject({ kind: 'Consumed' });
    }
  });

  test('a host answering synchronously sees each interrupt once the guest is paused, never inside its call', async () => {
    // Every answer is asked for with the machine paused at that interrupt, no step running: a
    // transition is refused as for any call in progress (CallInProgress), not as during a step
    // (StepInProgress, which is what the guest's own import call would see).
    const vm = start('main', [WasmValue.i32(10)]);
    const states: string[] = [];
    await runToCompletion(vm, (interrupt, memory) => {
      states.push((thrown(() => vm.intoPrepare()) as UsageError).kind);
      return answer(interrupt, memory);
    });
    expect(states).toEqual(MAIN_INTERRUPTS.map(() => 'CallInProgress'));
  });

  test('a call without interrupts finishes without calling the host', async () => {
    let calls = 0;
    expect(await runToCompletion(start('quiet'), () => (calls++, null))).toEqual({ type: 'finished', value: { type: 'i32', value: 7 } });
    expect(calls).toBe(0);
  });

  test('resolves to trapped', async () => {
    const vm = start('crash');
    const { host, seen } = recordingHost();
    const outcome = await runToCompletion(vm, host);
    expect(outcome).toMatchObject({ type: 'trapped', trap: { kind: 'Unreachable' } });
    expect(seen.map((i) => i.name)).toEqual(['note']);
    expect(vm.intoPrepare().memorySize()).toBe(1);
  });

  test('the host may answer with a promise', async () => {
    const { host, seen } = recordingHost();
    const asynchronous: InterruptHandler = async (interrupt, memory) => {
      // Settle in a later macrotask, after several promise jobs.
      await new Promise((resolve) => setImmediate(resolve));
      await Promise.resolve();
      return host(interrupt, memory);
    };
    expect(await runToCompletion(start('main', [WasmValue.i32(10)]), asynchronous)).toEqual(MAIN_RESULT);
    expect(seen).toEqual(MAIN_INTERRUPTS);
  });

  describe.each<[string, (failure: unknown) => InterruptHandler]>([
    ['throws', (failure) => () => {
      throw failure;
    }],
    ['rejects', (failure) => () => Promise.reject(failure)],
    ['rejects later', (failure) => async () => {
      await new Promise((resolve) => setImmediate(resolve));
      throw failure;
    }],
  ])('a host that %s', (_how, failing) => {
    /** A host that answers `note` and fails at `get`. */
    const hostFailingAtGet = (failure: unknown): InterruptHandler => (interrupt, memory) =>
      interrupt.name === 'get\0x' ? failing(failure)(interrupt, memory) : answer(interrupt, memory);

    test.each([
      ['an Error', new Error('host on fire')],
      ['a string', 'not an Error'],
    ])('%s: runToCompletion rejects with it and leaves the machine paused at that interrupt', async (_what, failure) => {
      const vm = start('main', [WasmValue.i32(10)]);
      await expect(runToCompletion(vm, hostFailingAtGet(failure))).rejects.toBe(failure);
      // Paused at get, and no step in progress: the call is still going on...
      expect(thrown(() => vm.intoPrepare())).toMatchObject({ kind: 'CallInProgress' });
      // ...and the owner can answer it itself.
      expect(await vm.runAsync(WasmValue.i32(1))).toEqual({ type: 'interrupted', id: 2, params: [] });
    });

    test('then intoPrototype() abandons the call and gives a working prototype', async () => {
      const vm = start('main', [WasmValue.i32(10)]);
      await expect(runToCompletion(vm, hostFailingAtGet(new Error('no')))).rejects.toThrow('no');
      const fresh = vm.intoPrototype();
      expect(fresh.backend).toBe(backendOf(backend));
      const { host, seen } = recordingHost();
      expect(await runToCompletion(fresh.prepare().start('main', [WasmValue.i32(10)]), host)).toEqual(MAIN_RESULT);
      expect(seen).toEqual(MAIN_INTERRUPTS);
    });
  });

  test('abandoning the call while the host is still answering: runToCompletion rejects with Consumed, the prototype works', async () => {
    // A light client giving up on a call whose storage read is still on the network.
    const vm = start('main', [WasmValue.i32(10)]);
    const pending: { release: (() => void) | null } = { release: null };
    const result = runToCompletion(vm, (interrupt, memory) =>
      interrupt.name === 'get\0x'
        ? new Promise<WasmValue | null>((resolve) => (pending.release = () => resolve(answer(interrupt, memory))))
        : answer(interrupt, memory),
    );
    result.catch(() => undefined);
    while (pending.release === null) await new Promise((resolve) => setImmediate(resolve));
    const fresh = vm.intoPrototype();
    pending.release();
    await expect(result).rejects.toMatchObject({ kind: 'Consumed' });
    const { host, seen } = recordingHost();
    expect(await runToCompletion(fresh.prepare().start('main', [WasmValue.i32(10)]), host)).toEqual(MAIN_RESULT);
    expect(seen).toEqual(MAIN_INTERRUPTS);
  });

  test('a machine already paused continues from that interrupt', async () => {
    const vm = start('main', [WasmValue.i32(10)]);
    expect(await vm.runAsync(null)).toMatchObject({ type: 'interrupted', id: 3 });
    expect(await vm.runAsync(null)).toMatchObject({ type: 'interrupted', id: 1 });
    const { host, seen } = recordingHost();
    expect(await runToCompletion(vm, host)).toEqual(MAIN_RESULT);
    // The host is handed the interrupt the machine was paused at first: get, not note again.
    expect(seen).toEqual(MAIN_INTERRUPTS.slice(1));
  });

  test.each([
    ['an i64 for an i32', WasmValue.i64(20n), 'i64'],
    ['null for an i32', null, null],
  ] as const)('a wrong answer (%s) rejects with RunError BadValueType and leaves the machine paused', async (_what, wrong, obtained) => {
    const vm = start('main', [WasmValue.i32(10)]);
    const wrongAtGet: InterruptHandler = (interrupt, memory) => (interrupt.name === 'get\0x' ? wrong : answer(interrupt, memory));
    const rejection = runToCompletion(vm, wrongAtGet);
    await expect(rejection).rejects.toBeInstanceOf(RunError);
    await expect(rejection).rejects.toMatchObject({ kind: 'BadValueType', expected: 'i32', obtained });
    // Still paused at get: a second runToCompletion with a right host continues from there.
    const { host, seen } = recordingHost();
    expect(await runToCompletion(vm, host)).toEqual(MAIN_RESULT);
    expect(seen).toEqual(MAIN_INTERRUPTS.slice(1));
  });

  test('a finished machine rejects with RunError Poisoned', async () => {
    const vm = start('quiet');
    await runToCompletion(vm, () => null);
    await expect(runToCompletion(vm, () => null)).rejects.toMatchObject({ kind: 'Poisoned' });
  });

  test('a machine with a step in progress rejects with StepInProgress and leaves the step alone', async () => {
    const vm = start('main', [WasmValue.i32(10)]);
    const pending = vm.runAsync(null);
    const rejection = runToCompletion(vm, answer);
    await expect(rejection).rejects.toBeInstanceOf(UsageError);
    await expect(rejection).rejects.toMatchObject({ kind: 'StepInProgress' });
    expect(await pending).toMatchObject({ type: 'interrupted', id: 3 });
    expect(await runToCompletion(vm, answer)).toEqual(MAIN_RESULT);
  });

  test("a host may run another machine to completion inside an interrupt", async () => {
    const outer = start('main', [WasmValue.i32(10)]);
    const inner: number[] = [];
    const outcome = await runToCompletion(outer, async (interrupt, memory) => {
      if (interrupt.name === 'get\0x') {
        const result = await runToCompletion(start('main', [WasmValue.i32(1)]), answer);
        inner.push(result.type === 'finished' ? (result.value!.value as number) : -1);
      }
      return answer(interrupt, memory);
    });
    expect(outcome).toEqual(MAIN_RESULT);
    // main(1): 100 + 2 + 5.
    expect(inner).toEqual([107]);
  });
});
