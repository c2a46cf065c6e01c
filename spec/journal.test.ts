/**
 * Journals (`VmConfig.journal`, `vm.journal()`, `VirtualMachine.replay()`): a call replayed from
 * its journal stops at the same interrupt and goes on as the original, on either backend and
 * across them; the host's writes and growths before the call and while it is paused are
 * replayed, inline imports run again; a journal the guest does not follow is a
 * `JournalMismatch` naming the step; hostile journals are refused.
 */
import {
  type Backend,
  type ExecOutcome,
  SnapshotError,
  UsageError,
  VirtualMachine,
  type VirtualMachinePrototype,
  type VmConfig,
  WasmValue,
} from '../lib/index.js';
import { CURRENT_VIEW } from '../lib/base/guest-memory-access.js';
import { checksum, loadChecksum } from '../lib/base/digest.js';
import { BACKENDS, createOn } from './support/backends.js';
import { wat } from './support/wat.js';
import { SNAPSHOT_GUEST, SNAPSHOT_IDS, answer, finish } from './support/snapshot-guest.js';

let bytes: Uint8Array;
const config = (backend: Backend, extra: Partial<VmConfig> = {}): Promise<VirtualMachinePrototype> =>
  createOn(backend, { moduleBytes: bytes, floats: true, journal: true, symbols: (_m, name) => SNAPSHOT_IDS[name], ...extra });

beforeAll(async () => {
  bytes = await wat(SNAPSHOT_GUEST);
  await loadChecksum();
});

/** A call of `run(9)` on `proto` after a host write before it, paused at interrupt `k`. */
async function pausedAt(proto: VirtualMachinePrototype, k: number): Promise<{ vm: VirtualMachine; outcome: ExecOutcome }> {
  const prepare = proto.prepare();
  prepare.growMemory(1);
  prepare.writeMemory(65536 + 5, new Uint8Array([1, 2, 3]));
  const vm = prepare.start('run', [WasmValue.i32(9)]);
  let outcome = await vm.runAsync(null);
  for (let i = 1; i < k; i++) outcome = await vm.runAsync(answer(outcome as Extract<ExecOutcome, { type: 'interrupted' }>, vm));
  return { vm, outcome };
}

describe.each(BACKENDS.flatMap((from) => BACKENDS.map((to) => [from, to] as const)))('journaled on %s, replayed on %s', (from, to) => {
  test('at several interrupts, the replayed machine is paused at the same import and finishes as the original', async () => {
    const source = await config(from);
    const target = await config(to);
    const reference = await finish((await pausedAt(source.clone(), 1)).vm, (await pausedAt(source.clone(), 1)).outcome);
    for (const k of [1, 2, 6, 13, 21]) {
      const { vm, outcome } = await pausedAt(source.clone(), k);
      const journal = vm.journal();
      const replayed = await VirtualMachine.replay(target.clone(), journal);
      expect(replayed._pausedImportIndex()).toBe(vm._pausedImportIndex());
      expect(replayed.journal()).toEqual(journal);
      expect(await finish(replayed, outcome)).toEqual(reference);
      expect(await finish(vm, outcome)).toEqual(reference);
      vm.intoPrototype();
      replayed.intoPrototype();
    }
  });
});

describe.each(BACKENDS)('on %s', (backend) => {
  test('a journal covers the calls before the last, and the host writes between them', async () => {
    const proto = await config(backend);
    const first = proto.prepare().start('run', [WasmValue.i32(2)]);
    await finish(first);
    const prepare = first.intoPrepare();
    prepare.writeMemory(9, new Uint8Array([9]));
    const vm = prepare.start('run', [WasmValue.i32(4)]);
    const outcome = await vm.runAsync(null);
    const replayed = await VirtualMachine.replay(await config(backend), vm.journal());
    expect(await finish(replayed, outcome)).toEqual(await finish(vm, outcome));
  });

  test('the in-place fast path is refused while no guest code runs: every host write is recorded', async () => {
    const proto = await config(backend);
    const { vm } = await pausedAt(proto, 3);
    expect(vm[CURRENT_VIEW]()).toBeNull();
    const plain = await createOn(backend, { moduleBytes: bytes, floats: true, symbols: (_m, name) => SNAPSHOT_IDS[name] });
    expect(plain.clone().prepare()[CURRENT_VIEW]()).not.toBeNull();
    expect(() => plain.clone().prepare().start('idle', []).journal()).toThrow(expect.objectContaining({ kind: 'NotJournaled' }));
    await expect(VirtualMachine.replay(plain, vm.journal())).rejects.toThrow(UsageError);
    vm.intoPrototype();
  });

  test('an inline import that answers otherwise in the replay: JournalMismatch at the step where the guest went another way', async () => {
    let salt = 0;
    const guest = await wat(`(module
      (import "host" "pause" (func $pause (param i32) (result i32)))
      (import "host" "inline" (func $inline (result i32)))
      (memory (export "memory") 1)
      (func (export "f") (result i32) (local $i i32) (local $s i32)
        (loop $l
          (local.set $s (i32.add (local.get $s) (call $pause (i32.add (local.get $i) (call $inline)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 5))))
        (local.get $s)))`);
    const make = () =>
      createOn(backend, {
        moduleBytes: guest,
        journal: true,
        symbols: () => 1,
        inlineImports: (_m, name) => (name === 'inline' ? () => (salt > 0 ? salt : 0) : null),
      });
    const vm = (await make()).prepare().start('f', []);
    await vm.runAsync(null);
    for (let i = 0; i < 3; i++) await vm.runAsync(WasmValue.i32(i));
    const journal = vm.journal();
    salt = 0;
    await expect(VirtualMachine.replay(await make(), journal)).resolves.toBeInstanceOf(VirtualMachine);
    salt = 100;
    const error = await VirtualMachine.replay(await make(), journal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnapshotError);
    expect(error).toMatchObject({ kind: 'JournalMismatch', step: 1 });
  });
});

describe('refused journals', () => {
  let journal: Uint8Array;
  beforeAll(async () => {
    journal = (await pausedAt(await config('asyncify'), 4)).vm.journal();
  });
  const refusal = async (bytes: unknown, target?: VirtualMachinePrototype): Promise<string> => {
    const error = await VirtualMachine.replay(target ?? (await config('jspi')), bytes as Uint8Array).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnapshotError);
    return (error as SnapshotError).kind;
  };

  test('truncated, bit-flipped, not bytes: Corrupted', async () => {
    expect(await refusal(journal.subarray(0, journal.length - 2))).toBe('Corrupted');
    for (const position of [1, 30, journal.length - 20]) {
      const flipped = journal.slice();
      flipped[position]! ^= 1;
      expect(await refusal(flipped)).toBe('Corrupted');
    }
    expect(await refusal(42)).toBe('Corrupted');
  });

  test('events cut in the middle, with a right checksum: Corrupted', async () => {
    const cut = journal.slice(0, journal.length - 20 + 8);
    new DataView(cut.buffer).setBigUint64(cut.length - 8, checksum(cut.subarray(0, cut.length - 8)), true);
    expect(await refusal(cut)).toBe('Corrupted');
  });

  test('another version, another module, other options: VersionMismatch, ModuleMismatch, OptionsMismatch', async () => {
    const other = journal.slice();
    new DataView(other.buffer).setUint32(8, 7, true);
    new DataView(other.buffer).setBigUint64(other.length - 8, checksum(other.subarray(0, other.length - 8)), true);
    expect(await refusal(other)).toBe('VersionMismatch');
    const module = await createOn('jspi', { moduleBytes: await wat(SNAPSHOT_GUEST.replace('(i32.const 5)', '(i32.const 6)')), floats: true, journal: true, symbols: (_m, name) => SNAPSHOT_IDS[name] });
    expect(await refusal(journal, module)).toBe('ModuleMismatch');
    expect(await refusal(journal, await config('jspi', { maxMemoryPages: 15 }))).toBe('OptionsMismatch');
  });
});
