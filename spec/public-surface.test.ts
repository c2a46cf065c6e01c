/**
 * The published API as a user's compiler sees it: the built `.d.ts` files of the three entry
 * points (`npm test` builds `dist/` first). Two promises are checked:
 * - the entry points export exactly the names below (a change is deliberate, made here);
 * - no public declaration mentions a type the entry points do not export (an internal type in a
 *   public signature is an API the user can neither name nor rely on).
 */
import { existsSync } from 'node:fs';
import { describeUnless } from './support/shared.js';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = resolve(ROOT, 'dist');
const ENTRIES = {
  'resumable-wasm': 'index.d.ts',
  'resumable-wasm/substrate': 'substrate/index.d.ts',
  'resumable-wasm/node': 'node/index.d.ts',
  'resumable-wasm/browser': 'browser/index.d.ts',
} as const;

const EXPECTED: Record<keyof typeof ENTRIES, string> = {
  'resumable-wasm':
    'ArtifactCache ArtifactError ArtifactErrorKind AsyncifyStack Backend CompletedOutcome CreatePhase DEFAULT_MAX_STACK_HEIGHT ExecOutcome FeatureName FeatureSetName ' +
    'FeaturesOption ' +
    'GlobalValueError GlobalValueErrorKind GuestFrame GuestMemoryAccess InlineImport Interrupt InterruptHandler MemoryAccess ' +
    'MemoryArtifactCache NewError NewErrorKind OutOfBoundsError Prepare ProgressEvent ProgressListener Refusal RunError ' +
    'RunErrorKind RunToCompletionOptions Signature SnapshotError SnapshotErrorKind StartError StartErrorKind StartOptions TransformStep Trap TrapKind UsageError UsageErrorKind ValueType ' +
    'VirtualMachine VirtualMachinePrototype VmConfig VmError WasmValue runToCompletion',
  'resumable-wasm/substrate':
    'AllocationStats AllocatorError AllocatorErrorKind AllocatorMemory AllocatorOptions ' +
    'BUILTIN_HOST_FUNCTIONS DEFAULT_CHILD_STORAGE_PREFIX DEFAULT_HEAP_PAGES DEFAULT_MAX_CODE_SIZE ' +
    'DEFAULT_MAX_OUTPUT_SIZE DecodedRuntimeCode FreeingBumpAllocator HEADER_SIZE HashFunctionName ' +
    'HostCall HostCallEvent HostFunctionHandler HostFunctionRoute LayeredStorage LogEntry LogLevel ' +
    'LogLevelFilter MAX_POSSIBLE_ALLOCATION MIN_ALLOCATION MapStorage MaybePromise MetadataError ' +
    'OffchainHost OffchainStorageKind OpaqueMetadata PointerSize ProofError ProofErrorKind ProofStorage ' +
    'ProofStorageOptions ProofVerifiedEvent ReadProof ReadProofOptions RuntimeApi RuntimeCallError ' +
    'RuntimeCallErrorKind RuntimeCallOptions RuntimeCallResult RuntimeCodeError RuntimeCodeErrorKind ' +
    'RuntimeCodeOptions RuntimeImport RuntimePause RuntimeProgressEvent RuntimeVersion RuntimeVersionError ' +
    'RuntimeVersionErrorKind RuntimeVersionSource SignatureMock StateVersion StorageDiff StorageProvider ' +
    'StorageRead StorageReadKind SubstratePhase SubstrateRuntime SubstrateRuntimeError SubstrateRuntimeErrorKind ' +
    'SubstrateRuntimeOptions SuspendableCallOptions SuspendableCallResult SuspendedRuntimeCall TransactionIndexOperation TrieChanges TrieEntry TrieHash ZSTD_PREFIX ' +
    'coreVersion createReadProof decodeOpaqueMetadata decodeRuntimeApis decodeRuntimeCode decodeRuntimeVersion ' +
    'emptyTrieRoot encodeOptionBytes encodeRuntimeVersion fromHex isCompressedRuntimeCode ' +
    'orderedTrieRoot packPointerSize readEmbeddedRuntimeVersion runtimeApiId runtimeCall toHex trieRoot ' +
    'unpackPointerSize',
  'resumable-wasm/node': 'FileArtifactCache',
  'resumable-wasm/browser': 'IndexedDbArtifactCache',
};

const built = existsSync(resolve(DIST, 'index.d.ts'));
describeUnless(built ? null : 'dist/ is not built (run `npm run build`; `npm test` does)', 'the published declarations', () => {
  // Computed by TypeScript in a process of its own (spec/support/public-surface.mjs).
  let surface: { exported: Record<string, string[]>; leaks: string[] };
  beforeAll(() => {
    const child = spawnSync(process.execPath, [fileURLToPath(new URL('./support/public-surface.mjs', import.meta.url)), DIST, ...Object.values(ENTRIES)], {
      encoding: 'utf8',
    });
    expect({ status: child.status, stderr: child.stderr }).toEqual({ status: 0, stderr: '' });
    surface = JSON.parse(child.stdout) as typeof surface;
  });

  test.each(Object.keys(ENTRIES) as (keyof typeof ENTRIES)[])('%s exports the recorded names', (entry) => {
    expect(surface.exported[ENTRIES[entry]]!.join(' ')).toBe(EXPECTED[entry]);
  });

  test('no public declaration mentions an internal type', () => {
    expect(surface.leaks).toEqual([]);
  });
});
