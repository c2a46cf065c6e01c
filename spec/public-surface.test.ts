/**
 * The published API as a user's compiler sees it: the built `.d.ts` files of the three entry
 * points (`npm test` builds `dist/` first). Two promises are checked:
 * - the entry points export exactly the names below (a change is deliberate, made here);
 * - no public declaration mentions a type the entry points do not export (an internal type in a
 *   public signature is an API the user can neither name nor rely on).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import ts from 'typescript';

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
    'ArtifactCache ArtifactError ArtifactErrorKind Backend CompletedOutcome CreatePhase ExecOutcome FeatureName FeatureSetName ' +
    'FeaturesOption ' +
    'GlobalValueError GlobalValueErrorKind GuestFrame GuestMemoryAccess InlineImport Interrupt InterruptHandler MemoryAccess ' +
    'MemoryArtifactCache NewError NewErrorKind OutOfBoundsError Prepare ProgressEvent ProgressListener Refusal RunError ' +
    'RunErrorKind Signature StartError StartErrorKind TransformStep Trap TrapKind UsageError UsageErrorKind ValueType ' +
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
    'RuntimeCodeOptions RuntimeImport RuntimeProgressEvent RuntimeVersion RuntimeVersionError ' +
    'RuntimeVersionErrorKind RuntimeVersionSource SignatureMock StateVersion StorageDiff StorageProvider ' +
    'StorageRead StorageReadKind SubstratePhase SubstrateRuntime SubstrateRuntimeError SubstrateRuntimeErrorKind ' +
    'SubstrateRuntimeOptions TransactionIndexOperation TrieChanges TrieEntry TrieHash ZSTD_PREFIX ' +
    'coreVersion createReadProof decodeOpaqueMetadata decodeRuntimeApis decodeRuntimeCode decodeRuntimeVersion ' +
    'emptyTrieRoot encodeOptionBytes encodeRuntimeVersion fromHex isCompressedRuntimeCode ' +
    'orderedTrieRoot packPointerSize readEmbeddedRuntimeVersion runtimeApiId runtimeCall toHex trieRoot ' +
    'unpackPointerSize',
  'resumable-wasm/node': 'FileArtifactCache',
  'resumable-wasm/browser': 'IndexedDbArtifactCache',
};

const built = existsSync(resolve(DIST, 'index.d.ts'));
const describeBuilt = built ? describe : describe.skip;
if (!built) console.warn('public-surface.test.ts skipped: dist/ is not built (run `npm run build`; `npm test` does)');

describeBuilt('the published declarations', () => {
  const files = Object.values(ENTRIES).map((f) => resolve(DIST, f));
  const program = ts.createProgram(files, { strict: true, skipLibCheck: true, noEmit: true });
  const checker = program.getTypeChecker();
  const exportsOf = (file: string): ts.Symbol[] => checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(file)!)!);
  const resolveAlias = (symbol: ts.Symbol): ts.Symbol =>
    (symbol.flags & ts.SymbolFlags.Alias) !== 0 ? checker.getAliasedSymbol(symbol) : symbol;

  test.each(Object.keys(ENTRIES) as (keyof typeof ENTRIES)[])('%s exports the recorded names', (entry) => {
    const names = exportsOf(resolve(DIST, ENTRIES[entry]))
      .map((s) => s.name)
      .sort();
    expect(names.join(' ')).toBe(EXPECTED[entry]);
  });

  test('no public declaration mentions an internal type', () => {
    const publicSymbols = new Set(files.flatMap((f) => exportsOf(f).map(resolveAlias)));
    const leaks = new Set<string>();
    const inDist = (node: ts.Node): boolean => resolve(node.getSourceFile().fileName).startsWith(DIST);
    const visit = (node: ts.Node, owner: string): void => {
      // Every name used as a type (references, heritage clauses, typeof queries).
      let name: ts.Node | null = null;
      if (ts.isTypeReferenceNode(node)) name = node.typeName;
      else if (ts.isExpressionWithTypeArguments(node)) name = node.expression;
      else if (ts.isTypeQueryNode(node)) name = node.exprName;
      if (name !== null) {
        const symbol = checker.getSymbolAtLocation(ts.isQualifiedName(name) ? name.left : name);
        if (symbol !== undefined) {
          const target = resolveAlias(symbol);
          const declaration = target.declarations?.[0];
          const isTypeParameter = declaration !== undefined && ts.isTypeParameterDeclaration(declaration);
          if (declaration !== undefined && inDist(declaration) && !isTypeParameter && !publicSymbols.has(target)) {
            leaks.add(`${owner} mentions ${target.name} (${declaration.getSourceFile().fileName.slice(DIST.length + 1)})`);
          }
        }
      }
      ts.forEachChild(node, (child) => visit(child, owner));
    };
    for (const symbol of publicSymbols) {
      for (const declaration of symbol.declarations ?? []) if (inDist(declaration)) visit(declaration, symbol.name);
    }
    expect([...leaks].sort()).toEqual([]);
  });
});
