/**
 * Every interrupt of a small guest, printed as it happens: the core state machine with nothing
 * on top.
 *
 * ```sh
 * npx tsc -p tsconfig.scripts.json && node build/examples/step-by-step.js
 * ```
 *
 * The guest (WebAssembly text, compiled with wabt) sums readings it asks the host for, one
 * import call per reading, writes the sum into its memory, then asks the host to log a message
 * it has placed in memory. Each import call pauses the guest: `run()` returns `interrupted` with
 * the import's id and arguments; the host looks at the guest's memory if it wants to, computes
 * the answer (here after an `await`, as a light client would wait for the network), and
 * resumes the guest with `run(answer)`.
 */
import wabtInit from 'wabt';
import { VirtualMachinePrototype, WasmValue } from '../lib/index.js';

const GUEST = `(module
  (import "host" "read_sensor" (func $read (param i32) (result i64)))
  (import "host" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "the sum is at offset 64")
  (func (export "main") (param $n i32) (result i64) (local $i i32) (local $sum i64)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $sum (i64.add (local.get $sum) (call $read (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i64.store (i32.const 64) (local.get $sum))
    (call $log (i32.const 0) (i32.const 23))
    (local.get $sum)))`;

/** The ids the host gives the imports; `run()` reports them in each interrupt. */
const IMPORTS = ['read_sensor', 'log'];

const show = (v: WasmValue | null) => (v === null ? 'nothing' : `${v.type} ${String(v.value)}`);

async function main(): Promise<void> {
  const wabt = await wabtInit();
  const parsed = wabt.parseWat('guest.wat', GUEST);
  const moduleBytes = new Uint8Array(parsed.toBinary({}).buffer);
  parsed.destroy();
  console.log(`guest: ${moduleBytes.length} bytes of wasm, imports ${IMPORTS.join(' and ')}`);

  const prototype = await VirtualMachinePrototype.create({
    moduleBytes,
    symbols: (_module, name) => {
      const id = IMPORTS.indexOf(name);
      return id === -1 ? null : id;
    },
  });
  const vm = prototype.prepare().start('main', [WasmValue.i32(3)]);
  console.log('started main(3)\n');

  let step = 0;
  let outcome = vm.run(null);
  while (outcome.type === 'interrupted') {
    step += 1;
    const name = IMPORTS[outcome.id]!;
    console.log(`interrupt ${step}: the guest called ${name}(${outcome.params.map(show).join(', ')}) and is paused`);
    let answer: WasmValue | null;
    if (name === 'read_sensor') {
      const index = outcome.params[0]!.value as number;
      await new Promise((resolve) => setTimeout(resolve, 10)); // the host may take its time
      answer = WasmValue.i64(BigInt(100 * (index + 1)));
    } else {
      // The guest is paused, but its memory is there to read: the message it passed, and the
      // sum it stored just before calling.
      const [pointer, length] = outcome.params.map((p) => p.value as number);
      const message = new TextDecoder().decode(vm.readMemory(pointer!, length!));
      const sum = new DataView(vm.readMemory(64, 8).buffer).getBigInt64(0, true);
      console.log(`  the host reads ${length} bytes at ${pointer}: "${message}"; at offset 64: ${sum}`);
      answer = null;
    }
    console.log(`  the host resumes it with ${show(answer)}`);
    outcome = vm.run(answer);
  }

  if (outcome.type === 'finished') console.log(`\nfinished after ${step} interrupts: main returned ${show(outcome.value)}`);
  else if (outcome.type === 'trapped') console.log(`\ntrapped: ${outcome.trap.message}`);
}

await main();
