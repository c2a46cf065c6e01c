/**
 * A snapshot of a real runtime's call, moved to another process: westend's `Metadata_metadata`
 * (`../shared/runtimes`, skipped with a message without it), every import an interrupt on
 * Asyncify, paused at its 10,000th interrupt, restored in a child process
 * (`support/westend-resume-child.mjs`, with the built package) with the host's allocator state,
 * finishes with the output of the uninterrupted call, byte for byte.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileArtifactCache } from '../lib/node/index.js';
import { REPO_ROOT, describeWithShared } from './support/shared.js';
import { createRuntimePrototype, runVm, runtimeWasm, startSteps } from './support/substrate-harness.js';

const CHILD = join(REPO_ROOT, 'spec', 'support', 'westend-resume-child.mjs');

describeWithShared('runtimes/westend-runtime-v9300.wasm', 'a real runtime call snapshotted and restored in another process', (codePath) => {
  let cacheDir: string;
  beforeAll(() => {
    cacheDir = mkdtempSync(join(tmpdir(), 'resumable-wasm-westend-'));
  });
  afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

  test("westend's Metadata_metadata paused at its 10,000th interrupt finishes byte-equal in a child process", async () => {
    const wasm = runtimeWasm(readFileSync(codePath));
    const runtime = await createRuntimePrototype(wasm, { backend: 'asyncify', cache: new FileArtifactCache(cacheDir) });
    const template = runtime.proto.clone();
    const uninterrupted = runVm({ ...runtime, proto: template.clone() }, 'Metadata_metadata', new Uint8Array()).run;
    expect(uninterrupted.totalCalls).toBeGreaterThan(10_000);

    const { vm, answer } = startSteps(runtime, 'Metadata_metadata', new Uint8Array());
    let outcome = vm.run(null);
    for (let interrupts = 1; interrupts < 10_000; interrupts++) {
      if (outcome.type !== 'interrupted') throw new Error(`the call ended at interrupt ${interrupts}`);
      outcome = vm.run(answer(vm, outcome.id, outcome.params));
    }
    expect(outcome.type).toBe('interrupted');
    const snapshot = vm.snapshot();
    const allocator = runtime.allocator.exportState();
    vm.intoPrototype();

    const child = fork(CHILD, [], { serialization: 'advanced', execArgv: [] });
    const reply = await new Promise<{ ok?: { output: Uint8Array; interrupts: number }; error?: string }>((resolve, reject) => {
      child.once('message', (message) => resolve(message as never));
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`the child exited with ${code}`))));
      child.send({ codePath, cacheDir, snapshot, allocator });
    });
    expect(reply.error).toBeUndefined();
    expect(Buffer.compare(Buffer.from(reply.ok!.output), Buffer.from(uninterrupted.output))).toBe(0);
    // The child answered the paused interrupt and every later one.
    expect(reply.ok!.interrupts).toBe(uninterrupted.totalCalls - 9_999);
  });
});
