/**
 * Driving a C guest built by an ordinary toolchain (clang with the features today's toolchains
 * enable by default, and -g): `examples/c-guest/guest.c`, prebuilt as `guest.wasm`.
 *
 * ```sh
 * npm run example:c-guest
 * ```
 *
 * The guest counts the words of a text it reads in chunks through the `host.read_chunk` import:
 * each call pauses the guest, and the host writes the next chunk into the guest's memory at the
 * address the guest passed before resuming it with the chunk's length. `host.report` pauses it
 * too, with the count so far. Then a second export traps, and the trap names the C function,
 * file and line.
 */
import { readFileSync } from 'node:fs';
import { VirtualMachinePrototype, WasmValue } from '../lib/index.js';
import { REPO_ROOT } from '../spec/support/shared.js';

const TEXT = 'Every call the guest makes to a host import pauses it, and hands control back to the host.';

async function main(): Promise<void> {
  const moduleBytes = new Uint8Array(readFileSync(`${REPO_ROOT}/examples/c-guest/guest.wasm`));
  const imports = ['read_chunk', 'report'];
  const prototype = await VirtualMachinePrototype.create({
    moduleBytes,
    // memory.copy and memory.fill (bulk memory), as clang, rustc and Emscripten emit by default.
    features: 'modern',
    symbols: (module, name) => (module === 'host' && imports.includes(name) ? imports.indexOf(name) : null),
  });
  console.log(`guest: ${moduleBytes.length} bytes, backend ${prototype.backend}`);

  const input = new TextEncoder().encode(TEXT);
  let sent = 0;
  const vm = prototype.prepare().start('count_words', []);
  let outcome = await vm.runAsync(null);
  while (outcome.type === 'interrupted') {
    let answer: WasmValue | null = null;
    if (imports[outcome.id] === 'read_chunk') {
      // The guest is paused: its memory is the host's to write.
      const [buffer, capacity] = outcome.params.map((p) => p.value as number);
      const chunk = input.subarray(sent, sent + Math.min(capacity!, 32));
      vm.writeMemory(buffer!, chunk);
      sent += chunk.length;
      console.log(`read_chunk(${buffer}, ${capacity}): wrote ${chunk.length} bytes`);
      answer = WasmValue.i32(chunk.length);
    } else {
      console.log(`report(${String(outcome.params[0]!.value)})`);
    }
    outcome = await vm.runAsync(answer);
  }
  if (outcome.type === 'trapped') throw outcome.trap;
  if (outcome.type !== 'finished') throw new Error(`unexpected outcome ${outcome.type}`);
  console.log(`count_words() = ${String(outcome.value!.value)}`);

  // A trap names the guest's frames, with the C source's file and line (DWARF).
  const crash = vm.intoPrepare().start('average_length', [WasmValue.i32(72), WasmValue.i32(0)]);
  const trapped = await crash.runAsync(null);
  if (trapped.type !== 'trapped') throw new Error('expected a trap');
  console.log(`average_length(72, 0): ${trapped.trap.kind}`);
  for (const f of trapped.trap.frames) console.log(`  in ${f.functionName} at ${f.file}:${f.line}:${f.column}`);
}

await main();
