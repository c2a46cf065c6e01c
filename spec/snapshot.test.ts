/**
 * A paused call as data: `vm.snapshot()` and `VirtualMachine.restore()` (Asyncify), `vm.fork()`,
 * and what is refused (state that is not a pause, JSPI, corrupted, truncated, tampered, foreign
 * snapshots and snapshots of other options or another version), never run.
 *
 * The guest loops over pausing imports, keeps state in its memory, in a mutable global and in
 * its locals across pauses, grows its memory, and returns a digest of everything it saw: a
 * restored or forked machine that lost anything of the paused call finishes differently.
 */
import {
  type ExecOutcome,
  SnapshotError,
  UsageError,
  VirtualMachine,
  VirtualMachinePrototype,
  type VmConfig,
  WasmValue,
} from '../lib/index.js';
import { checksum, loadChecksum } from '../lib/base/digest.js';
import { createOn } from './support/backends.js';
import { SNAPSHOT_GUEST, SNAPSHOT_IDS, answer, finish } from './support/snapshot-guest.js';
import { wat } from './support/wat.js';

/** Starts `run(n)` and takes `k` steps (answering each); returns the machine paused at interrupt `k`. */
async function pausedAt(proto: VirtualMachinePrototype, n: number, k: number): Promise<{ vm: VirtualMachine; outcome: ExecOutcome }> {
  const vm = proto.prepare().start('run', [WasmValue.i32(n)]);
  let outcome = await vm.runAsync(null);
  for (let i = 1; i < k; i++) {
    if (outcome.type !== 'interrupted') throw new Error('ended early');
    outcome = await vm.runAsync(answer(outcome, vm));
  }
  return { vm, outcome };
}

let bytes: Uint8Array;
let config: VmConfig;
let proto: VirtualMachinePrototype;
let reference: Awaited<ReturnType<typeof finish>>;
const referenceSteps = { steps: 0 };

beforeAll(async () => {
  bytes = await wat(SNAPSHOT_GUEST);
  config = { moduleBytes: bytes, floats: true, symbols: (_m, name) => SNAPSHOT_IDS[name] };
  proto = await createOn('asyncify', config);
  reference = await finish(proto.clone().prepare().start('run', [WasmValue.i32(9)]), null, 0, referenceSteps);
  await loadChecksum();
});

describe('snapshot and restore (Asyncify)', () => {
  test('at every interrupt, a restored machine is paused at the same import and finishes as the uninterrupted call', async () => {
    expect(referenceSteps.steps).toBe(9 * 2 + 3);
    for (let k = 1; k <= referenceSteps.steps; k++) {
      const { vm, outcome } = await pausedAt(proto.clone(), 9, k);
      const snapshot = vm.snapshot();
      const restored = await VirtualMachine.restore(proto.clone(), snapshot);
      expect(restored._pausedImportIndex()).toBe(vm._pausedImportIndex());
      // The original is unchanged by its snapshot, and both go on alike.
      expect(await finish(vm, outcome)).toEqual(reference);
      expect(await finish(restored, { ...outcome } as ExecOutcome)).toEqual(reference);
    }
  });

  test('the restored machine reports the same interrupt, memory and globals, and snapshots to the same bytes', async () => {
    const { vm } = await pausedAt(proto.clone(), 9, 7);
    const snapshot = vm.snapshot();
    const restored = await VirtualMachine.restore(proto.clone(), snapshot);
    expect(restored.memorySize()).toBe(vm.memorySize());
    expect(restored.readMemory(0, vm.memorySize() * 65536)).toEqual(vm.readMemory(0, vm.memorySize() * 65536));
    expect(restored.snapshot()).toEqual(snapshot);
  });

  test("a prototype whose memory is larger than the snapshot's is replaced by a new instance", async () => {
    const { vm, outcome } = await pausedAt(proto.clone(), 9, 2);
    const big = proto.clone().prepare();
    big.growMemory(10);
    const error = (() => {
      try {
        big.start('nope', []);
      } catch (e) {
        return e as { prototype: VirtualMachinePrototype };
      }
      throw new Error('start did not fail');
    })();
    const restored = await VirtualMachine.restore(error.prototype, vm.snapshot());
    expect(restored.memorySize()).toBe(vm.memorySize());
    expect(await finish(restored, outcome)).toEqual(await finish(vm, outcome));
  });

  test('the prototype is consumed by a restore, and not by a refused one', async () => {
    const { vm } = await pausedAt(proto.clone(), 9, 2);
    const target = proto.clone();
    await expect(VirtualMachine.restore(target, new Uint8Array(40))).rejects.toMatchObject({ kind: 'Corrupted' });
    await VirtualMachine.restore(target, vm.snapshot());
    expect(() => target.prepare()).toThrow(UsageError);
  });
});

describe('fork', () => {
  test('two forks answer the same interrupt two ways, independently', async () => {
    const { vm, outcome } = await pausedAt(proto.clone(), 9, 4);
    const fork = vm.fork();
    const other = await vm.forkAsync();
    const salted = await finish(fork, outcome, 3);
    const plain = await finish(vm, outcome);
    const again = await finish(other, outcome, 3);
    expect(plain).toEqual(reference);
    expect(salted).toEqual(again);
    expect(salted).not.toEqual(reference);
  });

  test('fork and snapshot need a pause', async () => {
    const vm = proto.clone().prepare().start('run', [WasmValue.i32(1)]);
    expect(() => vm.snapshot()).toThrow(expect.objectContaining({ kind: 'NotInterrupted' }));
    await finish(vm);
    expect(() => vm.fork()).toThrow(expect.objectContaining({ kind: 'NotInterrupted' }));
  });
});

describe('refused snapshots', () => {
  let snapshot: Uint8Array;
  beforeAll(async () => {
    snapshot = (await pausedAt(proto.clone(), 9, 5)).vm.snapshot();
  });

  /** The kind `VirtualMachine.restore` rejects `bytes` with on `target` (default a clone of the prototype). */
  async function refusal(bytes: unknown, target?: VirtualMachinePrototype): Promise<string> {
    const error = await VirtualMachine.restore(target ?? proto.clone(), bytes as Uint8Array).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SnapshotError);
    return (error as SnapshotError).kind;
  }

  /** `bytes` with its header's JSON changed by `edit` and the checksum made right again (a forgery). */
  function reframed(edit: (header: Record<string, unknown>) => void): Uint8Array {
    const view = new DataView(snapshot.buffer, snapshot.byteOffset);
    const length = view.getUint32(12, true);
    const header = JSON.parse(new TextDecoder().decode(snapshot.subarray(16, 16 + length))) as Record<string, unknown>;
    edit(header);
    const json = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(16 + json.length + (snapshot.length - 16 - length));
    out.set(snapshot.subarray(0, 16));
    new DataView(out.buffer).setUint32(12, json.length, true);
    out.set(json, 16);
    out.set(snapshot.subarray(16 + length), 16 + json.length);
    new DataView(out.buffer).setBigUint64(out.length - 8, checksum(out.subarray(0, out.length - 8)), true);
    return out;
  }

  test('truncated, bit-flipped, empty or not bytes at all: Corrupted', async () => {
    expect(await refusal(snapshot.subarray(0, snapshot.length - 1))).toBe('Corrupted');
    expect(await refusal(snapshot.subarray(0, 100))).toBe('Corrupted');
    for (const position of [3, 20, 200, snapshot.length - 5000, snapshot.length - 3]) {
      const flipped = snapshot.slice();
      flipped[position]! ^= 0x10;
      expect(await refusal(flipped)).toBe('Corrupted');
    }
    expect(await refusal(new Uint8Array(0))).toBe('Corrupted');
    expect(await refusal('snapshot')).toBe('Corrupted');
  });

  test('from another version: VersionMismatch', async () => {
    expect(await refusal(reframed((h) => (h.library = '0.0.1')))).toBe('VersionMismatch');
    const otherFormat = snapshot.slice();
    new DataView(otherFormat.buffer).setUint32(8, 99, true);
    new DataView(otherFormat.buffer).setBigUint64(otherFormat.length - 8, checksum(otherFormat.subarray(0, otherFormat.length - 8)), true);
    expect(await refusal(otherFormat)).toBe('VersionMismatch');
  });

  test('from another module, other options, other ids: ModuleMismatch, OptionsMismatch', async () => {
    const other = await createOn('asyncify', { ...config, moduleBytes: await wat(SNAPSHOT_GUEST.replace('(i32.const 5)', '(i32.const 6)')) });
    expect(await refusal(snapshot, other)).toBe('ModuleMismatch');
    const bigger = await createOn('asyncify', { ...config, unwindBufferPages: 2 });
    expect(await refusal(snapshot, bigger)).toBe('OptionsMismatch');
    const ids = await createOn('asyncify', { ...config, symbols: (_m, name) => SNAPSHOT_IDS[name]! + 1 });
    expect(await refusal(snapshot, ids)).toBe('OptionsMismatch');
  });

  test('a forged content that does not fit the module: Corrupted, never run', async () => {
    expect(await refusal(reframed((h) => ((h.stack as { importIndex: number }).importIndex = 77)))).toBe('Corrupted');
    expect(await refusal(reframed((h) => ((h.callee as { functionName: string }).functionName = 'idle')))).toBe('Corrupted');
    expect(await refusal(reframed((h) => (h.pages = 30)))).toBe('Corrupted');
    expect(await refusal(reframed((h) => ((h.stack as { args: string[] }).args = ['f64:0', 'f64:0'])))).toBe('Corrupted');
  });

  test('JSPI has no snapshots: UnsupportedOnBackend', async () => {
    const jspi = await createOn('jspi', config);
    const vm = jspi.clone().prepare().start('run', [WasmValue.i32(3)]);
    expect((await vm.runAsync(null)).type).toBe('interrupted');
    expect(() => vm.snapshot()).toThrow(expect.objectContaining({ kind: 'UnsupportedOnBackend' }));
    expect(() => vm.fork()).toThrow(expect.objectContaining({ kind: 'UnsupportedOnBackend' }));
    await expect(VirtualMachine.restore(jspi, snapshot)).rejects.toMatchObject({ kind: 'UnsupportedOnBackend' });
    vm.intoPrototype();
  });
});
