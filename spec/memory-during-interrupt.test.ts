/**
 * During an interrupt the memory the host sees is exactly the guest's memory, and the
 * suspension machinery never uses a byte or a page of it.
 *
 * The guest fills its whole memory with a pseudo-random pattern, pauses at the bottom of deep
 * recursions (so that the paused stack is large), and checksums the whole memory after each
 * resume. The same module runs uninstrumented in plain WebAssembly with a synchronous import,
 * and the same host actions are applied on both sides. At every pause, every byte of the memory
 * and `memory.size` must be identical, and so must the final result and memory. If the unwind
 * data lived in the guest's memory (Asyncify's default), or the machinery grew it, the
 * snapshots would differ.
 *
 * On both backends (and Asyncify with its paused stack in the guest's one memory), driven through runAsync; also with the memory not exported, which the JSPI
 * backend reaches by renaming the module (the plain run always uses the exported one).
 */
import { OutOfBoundsError, WasmValue } from '../lib/index.js';
import { VARIANTS, createOn } from './support/backends.js';
import { wat } from './support/wat.js';

const PAGE = 65536;

const GUEST = `(module
  (import "env" "pause" (func $pause (param i32 i32) (result i32)))
  (memory (export "memory") 1 4)
  (global $state (mut i32) (i32.const 12345))
  (func $rand (result i32)
    (global.set $state (i32.add (i32.mul (global.get $state) (i32.const 1103515245)) (i32.const 12345)))
    (i32.shr_u (global.get $state) (i32.const 16)))
  (func $fill (param $from i32) (param $to i32)
    (loop $l
      (i32.store8 (local.get $from) (call $rand))
      (local.set $from (i32.add (local.get $from) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $from) (local.get $to)))))
  (func $checksum (result i32) (local $i i32) (local $sum i32) (local $end i32)
    (local.set $end (i32.mul (memory.size) (i32.const 65536)))
    (loop $l
      (local.set $sum (i32.add (i32.mul (local.get $sum) (i32.const 31)) (i32.load8_u (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $end))))
    (local.get $sum))
  (func $deep (param $depth i32) (param $phase i32) (result i32) (local $a i64) (local $b f64) (local $c i32)
    (local.set $a (i64.extend_i32_u (local.get $depth)))
    (local.set $b (f64.convert_i32_u (local.get $depth)))
    (local.set $c (i32.mul (local.get $depth) (i32.const 3)))
    (if (result i32) (i32.eqz (local.get $depth))
      (then (call $pause (local.get $phase) (memory.size)))
      (else
        (i32.add
          (i32.add (local.get $c) (i32.add (i32.wrap_i64 (local.get $a)) (i32.trunc_f64_u (local.get $b))))
          (call $deep (i32.sub (local.get $depth) (i32.const 1)) (local.get $phase))))))
  (func (export "main") (result i32) (local $r i32)
    (call $fill (i32.const 0) (i32.mul (memory.size) (i32.const 65536)))
    (local.set $r (call $deep (i32.const 300) (i32.const 1)))
    (local.set $r (i32.add (local.get $r) (call $checksum)))
    (drop (memory.grow (i32.const 1)))
    (call $fill (i32.const 65536) (i32.mul (memory.size) (i32.const 65536)))
    (local.set $r (i32.add (local.get $r) (call $deep (i32.const 50) (i32.const 2))))
    (local.set $r (i32.add (local.get $r) (call $checksum)))
    (local.set $r (i32.add (local.get $r) (call $deep (i32.const 1000) (i32.const 3))))
    (i32.add (local.get $r) (i32.add (call $checksum) (memory.size)))))`;

/** What the host observes at one pause. */
interface Observation {
  phase: number;
  sizeSeenByGuest: number;
  sizeSeenByHost: number;
  memory: Uint8Array;
}

/** The host, written once against a minimal memory interface so both sides run it identically. */
interface HostMemory {
  size(): number;
  read(offset: number, size: number): Uint8Array;
  write(offset: number, data: Uint8Array): void;
  grow(pages: number): void;
}

function host(memory: HostMemory, phase: number, sizeSeenByGuest: number, log: Observation[]): number {
  log.push({ phase, sizeSeenByGuest, sizeSeenByHost: memory.size(), memory: memory.read(0, memory.size() * PAGE) });
  if (phase === 1) {
    memory.write(1000, Uint8Array.of(0xde, 0xad, 0xbe, 0xef));
    memory.write(memory.size() * PAGE - 1, Uint8Array.of(0x5a));
  } else if (phase === 2) {
    memory.grow(1);
    memory.write(memory.size() * PAGE - 3, Uint8Array.of(1, 2, 3));
  }
  return phase * 7;
}

async function runPlain(bytes: Uint8Array): Promise<{ result: number; log: Observation[]; final: Uint8Array }> {
  const log: Observation[] = [];
  let memory: WebAssembly.Memory | null = null;
  const hostMemory: HostMemory = {
    size: () => memory!.buffer.byteLength / PAGE,
    read: (offset, size) => new Uint8Array(memory!.buffer, offset, size).slice(),
    write: (offset, data) => new Uint8Array(memory!.buffer).set(data, offset),
    grow: (pages) => void memory!.grow(pages),
  };
  const { instance } = await WebAssembly.instantiate(bytes as Uint8Array<ArrayBuffer>, {
    env: { pause: (phase: number, size: number) => host(hostMemory, phase, size, log) },
  });
  memory = instance.exports['memory'] as WebAssembly.Memory;
  const result = (instance.exports['main'] as () => number)();
  return { result, log, final: hostMemory.read(0, hostMemory.size() * PAGE) };
}

const MEMORY = '(memory (export "memory") 1 4)';

describe.each(VARIANTS)('%s', (backend) => {
  test.each([
    ['exported', MEMORY, true],
    ['not exported (requireMemory: false)', '(memory 1 4)', false],
  ] as const)('at every interrupt the host sees exactly the memory of an uninstrumented run (memory %s)', async (_how, memory, requireMemory) => {
    const bytes = await wat(GUEST);
    const plain = await runPlain(bytes);
    expect(plain.log.map((o) => o.phase)).toEqual([1, 2, 3]);

    expect(GUEST).toContain(MEMORY);
    const proto = await createOn(backend, { moduleBytes: await wat(GUEST.replace(MEMORY, memory)), symbols: () => 0, requireMemory });
    const vm = proto.prepare().start('main', []);
    const log: Observation[] = [];
    const vmMemory: HostMemory = {
      size: () => vm.memorySize(),
      read: (offset, size) => vm.readMemory(offset, size),
      write: (offset, data) => vm.writeMemory(offset, data),
      grow: (pages) => vm.growMemory(pages),
    };
    let outcome = await vm.runAsync(null);
    while (outcome.type === 'interrupted') {
      const [phase, size] = outcome.params.map((p) => p.value as number);
      if (phase === 3) {
        // Growth past the maximum is refused during an interrupt and changes nothing.
        expect(() => vm.growMemory(2)).toThrow(OutOfBoundsError);
        expect(vm.memorySize()).toBe(3);
      }
      outcome = await vm.runAsync(WasmValue.i32(host(vmMemory, phase!, size!, log)));
    }

    expect(log).toHaveLength(plain.log.length);
    for (let i = 0; i < log.length; i++) {
      const vmSeen = log[i]!;
      const plainSeen = plain.log[i]!;
      expect(vmSeen.phase).toBe(plainSeen.phase);
      expect(vmSeen.sizeSeenByGuest).toBe(plainSeen.sizeSeenByGuest);
      expect(vmSeen.sizeSeenByHost).toBe(plainSeen.sizeSeenByHost);
      expect(vmSeen.sizeSeenByHost).toBe(vmSeen.sizeSeenByGuest);
      // Every byte; toEqual on a 196,608-byte array would print unreadably on failure.
      expect(vmSeen.memory.length).toBe(plainSeen.memory.length);
      expect(Buffer.compare(Buffer.from(vmSeen.memory), Buffer.from(plainSeen.memory))).toBe(0);
    }
    // The sizes the guest saw: 1 page, then 2 after its own grow, then 3 after the host's.
    expect(log.map((o) => o.sizeSeenByGuest)).toEqual([1, 2, 3]);
    expect(outcome).toEqual({ type: 'finished', value: { type: 'i32', value: plain.result } });
    expect(Buffer.compare(Buffer.from(vm.readMemory(0, vm.memorySize() * PAGE)), Buffer.from(plain.final))).toBe(0);
  });
});
