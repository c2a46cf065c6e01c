/**
 * `SubstrateRuntime.create({ artifact })`: a runtime rebuilt from an explicit artifact, without
 * the transform; an artifact that does not belong to the code and options is an error, never a
 * reason to transform instead (which is what a cache does with a stale entry).
 */
import { MemoryArtifactCache } from '../../lib/index.js';
import { type RuntimeProgressEvent, SubstrateRuntime, runtimeCall } from '../../lib/substrate/index.js';
import { guest } from '../support/substrate-guest.js';


const CODE = guest('', '(func (export "echo") (param $p i32) (param $l i32) (result i64) (call $ps (local.get $p) (local.get $l)))');

/** The artifact a `create()` with these options stores. */
async function artifactOf(code: Uint8Array, heapPages?: number): Promise<Uint8Array> {
  let stored: Uint8Array | undefined;
  const capture = {
    get: () => undefined,
    set: (_key: string, value: Uint8Array) => {
      stored = value;
    },
  };
  // Artifacts are Asyncify's: making one is running the Asyncify transform.
  await SubstrateRuntime.create({ code, cache: capture, backend: 'asyncify', ...(heapPages === undefined ? {} : { heapPages }) });
  return stored!;
}

test('a matching artifact is loaded without the transform', async () => {
  const code = await CODE;
  const phases: string[] = [];
  const onProgress = (event: RuntimeProgressEvent) => {
    if (event.status === 'start') phases.push(event.phase);
  };
  const runtime = await SubstrateRuntime.create({ code, artifact: await artifactOf(code), onProgress });
  expect(phases).toContain('load-artifact');
  expect(phases).not.toContain('transform');
  expect([...(await runtimeCall(runtime, 'echo', Uint8Array.of(1, 2))).output]).toEqual([1, 2]);
});

test('an artifact made with other options, or of other code, is refused without transforming', async () => {
  const code = await CODE;
  const phases: string[] = [];
  const onProgress = (event: RuntimeProgressEvent) => void phases.push(event.phase);
  await expect(SubstrateRuntime.create({ code, heapPages: 16, artifact: await artifactOf(code), onProgress })).rejects.toMatchObject({
    name: 'ArtifactError',
    kind: 'OptionsMismatch',
  });
  const other = await guest('', '(func (export "other") (param i32 i32) (result i64) (i64.const 0))');
  await expect(SubstrateRuntime.create({ code: other, artifact: await artifactOf(code), onProgress })).rejects.toMatchObject({
    name: 'ArtifactError',
    kind: 'ModuleMismatch',
  });
  expect(phases).not.toContain('transform');
});

test('an artifact and a cache together are a usage error', async () => {
  await expect(SubstrateRuntime.create({ code: await CODE, artifact: new Uint8Array(), cache: new MemoryArtifactCache() })).rejects.toMatchObject({
    name: 'UsageError',
    kind: 'InvalidArgument',
  });
});
