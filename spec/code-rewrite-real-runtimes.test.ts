/**
 * The code rewrites on real runtimes: `Metadata_metadata` of westend v9300 (6.3 MB of code, in
 * `../shared/runtimes`), Rococo's genesis runtime and the Rococo Asset Hub runtime (from
 * `@substrate/connect-known-chains`), run plain and rewritten directly with
 * `WebAssembly.Instance` (`support/rewrite-runtime.ts`): the same output bytes and the same host
 * calls for every rewrite and all of them together; for fuel, the same consumption however the
 * runtime is refilled; under a stack limit the height the runtime reaches is reported.
 */
import { readFileSync } from 'node:fs';
import { RuntimeRunner } from './support/rewrite-runtime.js';
import { describeWithShared } from './support/shared.js';
import { assetHubRuntime, runtimeWasm } from './support/substrate-harness.js';

const OPTION_SETS = [
  ['memory shift K = 16', { memoryBase: 16 }],
  ['NaN canonicalization', { canonicalizeNaNs: true }],
  ['fuel', { fuel: true }],
  ['stack limit', { maxStackHeight: 1_000_000 }],
  ['all four', { memoryBase: 16, canonicalizeNaNs: true, fuel: true, maxStackHeight: 1_000_000 }],
] as const;

/** The checks, on the runtime `load` gives. */
function checks(name: string, load: () => Promise<Uint8Array>): void {
  let wasm: Uint8Array;
  let expected: { output: Uint8Array; hostCalls: number };

  beforeAll(async () => {
    wasm = await load();
    expected = new RuntimeRunner(wasm).run('Metadata_metadata', new Uint8Array());
  });

  for (const [label, rewrite] of OPTION_SETS) {
    test(`${label}: the same output and host calls as plain`, () => {
      const runner = new RuntimeRunner(wasm, { rewrite, fuel: 10n ** 15n });
      const run = runner.run('Metadata_metadata', new Uint8Array());
      expect(Buffer.compare(Buffer.from(run.output), Buffer.from(expected.output))).toBe(0);
      expect(run.hostCalls).toBe(expected.hostCalls);
      if ('maxStackHeight' in rewrite) console.info(`${name}, ${label}: the highest logical stack height seen at a host call: ${run.highestHeight}`);
      if ('fuel' in rewrite) console.info(`${name}, ${label}: fuel consumed ${run.fuelConsumed}`);
    });
  }

  test('fuel: the same consumption whether it runs with plenty or is refilled 100,000 units at a time', () => {
    const plenty = new RuntimeRunner(wasm, { rewrite: { fuel: true }, fuel: 10n ** 15n }).run('Metadata_metadata', new Uint8Array());
    const refilled = new RuntimeRunner(wasm, { rewrite: { fuel: true }, fuel: 0n, refill: () => 100_000n }).run('Metadata_metadata', new Uint8Array());
    expect(Buffer.compare(Buffer.from(refilled.output), Buffer.from(expected.output))).toBe(0);
    expect(refilled.fuelConsumed).toBe(plenty.fuelConsumed);
    expect(refilled.outOfFuel).toBe(Number((plenty.fuelConsumed + 99_999n) / 100_000n));
  });
}

describeWithShared('runtimes/westend-runtime-v9300.wasm', 'code rewrites on westend v9300: Metadata_metadata', (path) =>
  checks('westend v9300', async () => runtimeWasm(new Uint8Array(readFileSync(path)))),
);
describeWithShared('runtimes/rococo-genesis.wasm', 'code rewrites on the Rococo genesis runtime: Metadata_metadata', (path) =>
  checks('Rococo genesis', async () => runtimeWasm(new Uint8Array(readFileSync(path)))),
);
describe('code rewrites on the Rococo Asset Hub runtime (@substrate/connect-known-chains): Metadata_metadata', () =>
  checks('Rococo Asset Hub', assetHubRuntime),
);
