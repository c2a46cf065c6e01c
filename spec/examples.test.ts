/**
 * The examples a user runs first (`npm run demo`, `npm run example:light-client`,
 * `npm run example:step-by-step`, and `npm run example:worker-pool` where `../shared` has its
 * runtime), run as scripts in processes of their own (through tsx, on the
 * sources, so that `npm test` needs no second build), with what each must show. On the default
 * backend ('auto': JSPI on this Node.js), without the artifact cache (`--no-cache`: nothing is
 * written outside the repository's ignored folders, and no earlier run is reused).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describeWithShared } from './support/shared.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function runExample(file: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', file, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('npm run demo: the built-in runtime, its metadata step by step, and calls paused at storage reads', () => {
  const { status, stdout, stderr } = runExample('examples/demo.ts', '--no-cache');
  expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
  expect(stdout).toMatch(/valid metadata: compact length prefix, then "meta", version 14/);
  expect(stdout).toMatch(/paused at a storage read of 0x26aa394eea5630e07c48ae0c\.\.\.; fetching\.\.\. \d+ bytes, resuming/);
  expect(stdout).toMatch(/nonce 0: 1 pause\(s\)/);
  expect(stdout).toMatch(/4 authorities: 1 pause\(s\)/);
});

test('npm run example:light-client: reads served from proofs, verified; a lying peer refused', () => {
  const { status, stdout, stderr } = runExample('examples/light-client.ts', '--no-cache');
  expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
  expect(stdout).toMatch(/nonce:   verified against the state root \(\d+ new nodes, each named by a trusted node\); resuming/);
  expect(stdout).toMatch(/AccountNonceApi_account_nonce\(0x58c18106775d912da3fbb93f\.\.\.\): 0\n/);
  expect(stdout).toMatch(/AuraApi_authorities: 4 authorities/);
  expect(stdout).toMatch(/its absence proven by the \d+ nodes held/);
  expect(stdout).toMatch(/lying:   refused: ProofError Invalid: /);
  expect(stdout).toMatch(/no value reached the runtime/);
  expect(stdout).toMatch(/answered 0x00000000 without asking again/);
});

test('npm run example:step-by-step: every interrupt of a small guest', () => {
  const { status, stdout, stderr } = runExample('examples/step-by-step.ts');
  expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
  expect(stdout).toMatch(/interrupt 1: the guest called read_sensor\(i32 0\) and is paused\n  the host resumes it with i64 100/);
  expect(stdout).toMatch(/interrupt 4: the guest called log\(i32 0, i32 23\) and is paused/);
  expect(stdout).toMatch(/finished after 4 interrupts: main returned i64 600/);
});

describeWithShared('runtimes/rococo-genesis.wasm', 'npm run example:worker-pool', () => {
  test('calls spread over two Workers; a call suspended at a storage read on one finishes on the other, byte-equal', () => {
    const { status, stdout, stderr } = runExample('examples/worker-pool.ts');
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
    expect(stdout).toMatch(/^2 workers ready in \d+ ms \(threads (\d+), (\d+)\)$/m);
    // Both workers served calls.
    const threads = /6 Core_version calls served by threads ([\d, ]+)/.exec(stdout)![1]!.split(', ');
    expect(new Set(threads).size).toBe(2);
    expect(stdout).toMatch(/Metadata_metadata suspended at its first storage read on thread \d+: \d+ bytes/);
    expect(stdout).toMatch(/resumed and finished on thread \d+: \d+ bytes of metadata, identical to the call made in one go/);
  });
});
