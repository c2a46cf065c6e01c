/**
 * The README's C guest (examples/c-guest: clang with today's default features and -g), driven
 * as the README and `npm run example:c-guest` do, on both backends.
 */
import { readFileSync } from 'node:fs';
import { WasmValue } from '../lib/index.js';
import { BACKENDS, createOn } from './support/backends.js';

const DIR = new URL('../examples/c-guest/', import.meta.url);
const GUEST = new Uint8Array(readFileSync(new URL('guest.wasm', DIR)));
const SOURCE = readFileSync(new URL('guest.c', DIR), 'utf8').split('\n');
const TEXT = new TextEncoder().encode('Every call the guest makes to a host import pauses it, and hands control back to the host.');

test.each(BACKENDS)('%s: it needs the modern features, counts words chunk by chunk, and traps with its source line', async (backend) => {
  await expect(createOn(backend, { moduleBytes: GUEST, symbols: () => 0 })).rejects.toMatchObject({ kind: 'InvalidWasm' });
  const imports = ['read_chunk', 'report'];
  const proto = await createOn(backend, { moduleBytes: GUEST, features: 'modern', symbols: (_m, name) => imports.indexOf(name) });
  const vm = proto.prepare().start('count_words', []);
  let sent = 0;
  const reports: number[] = [];
  let outcome = await vm.runAsync(null);
  while (outcome.type === 'interrupted') {
    let answer: WasmValue | null = null;
    if (imports[outcome.id] === 'read_chunk') {
      const [buffer, capacity] = outcome.params.map((p) => p.value as number);
      const chunk = TEXT.subarray(sent, sent + Math.min(capacity!, 32));
      vm.writeMemory(buffer!, chunk);
      sent += chunk.length;
      answer = WasmValue.i32(chunk.length);
    } else {
      reports.push(outcome.params[0]!.value as number);
    }
    outcome = await vm.runAsync(answer);
  }
  expect(outcome).toEqual({ type: 'finished', value: WasmValue.i32(18) });
  expect(reports).toEqual([7, 13, 18]);

  const crash = vm.intoPrepare().start('average_length', [WasmValue.i32(72), WasmValue.i32(0)]);
  const trapped = await crash.runAsync(null);
  expect(trapped).toMatchObject({ type: 'trapped', trap: { kind: 'DivisionByZero' } });
  if (trapped.type !== 'trapped') return;
  const line = SOURCE.findIndex((l) => l.includes('return letters * 10 / words;')) + 1;
  expect(trapped.trap.frames).toEqual([
    { functionIndex: 3, functionName: 'average_length', offset: expect.any(Number), file: 'guest.c', line, column: 23 },
  ]);
});
