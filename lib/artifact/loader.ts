/**
 * Rebuilding base components from an artifact: the checks of `format.ts`, the import
 * resolution against the caller's config, and the compilation — no Binaryen, no transform.
 *
 * **Layer `artifact/`** (this is its main file): base components to and from artifacts, and the
 * cache. It owns the format (`format.ts`), this loader and the cache (`cache.ts`). It imports
 * `base/`, `transform/` (the ABI names an artifact's module must have) and `load/` (import
 * resolution and compilation, shared with a fresh load).
 *
 * @module
 */

import { type ArtifactHeader, decodeArtifact, differingOptions, encodeArtifact } from './format.js';
import type { ResolvedConfig } from '../base/config.js';
import { sha256Hex } from '../base/digest.js';
import { ArtifactError, NewError, UsageError } from '../base/errors.js';
import type { ArtifactOptions, BaseComponents, FunctionIndexShift, MeteringFacts, OffsetMap } from '../base/components.js';
import { extractDebugSections, functionBodyStarts } from '../load/debug-info.js';
import { compileInstrumented } from '../load/compile.js';
import { artifactOptions } from '../load/load-module.js';
import { resolveImports } from '../load/resolve-imports.js';
import type { ProgressReporter } from '../base/progress.js';
import {
  ASYNCIFY_EXPORTS,
  FUEL_IMPORT,
  STACK_LIMIT_IMPORT,
  FUNCTION_IMPORT_MODULE,
  MEMORY_EXPORT,
  MEMORY_IMPORT_MODULE,
  MEMORY_IMPORT_NAME,
  START_EXPORT,
  UNWIND_MEMORY_EXPORT,
  exportName,
  functionImportName,
} from '../transform/abi.js';
import { LIBRARY_VERSION } from '../base/version.js';
import { ASYNCIFY_STACK_NAMES, type AsyncifyStack, missingMultiMemory } from '../base/engine.js';
import { reservedPagesOf } from '../transform/transform-options.js';

/**
 * The artifact of `components` (see `format.ts` for the format); a JSPI prototype has none
 * ({@link UsageError} `UnsupportedOnBackend`). The checksum's hasher must
 * be loaded: it is for any components built by the Asyncify backend's `loadAsyncify` or {@link componentsFromArtifact}.
 */
export function artifactOf(components: BaseComponents): Uint8Array {
  const { provenance } = components;
  if (provenance === null) {
    throw new UsageError(
      'UnsupportedOnBackend',
      'toArtifact: this prototype runs on the JSPI backend, which has no transform to save (create() is already fast there)',
    );
  }
  const header: ArtifactHeader = {
    library: LIBRARY_VERSION,
    module: { sha256: provenance.moduleSha256, length: provenance.moduleLength },
    options: provenance.options,
    imports: components.imports.map((i) => ({
      module: i.module,
      name: i.name,
      signature: { params: [...i.signature.params], results: i.signature.result === null ? [] : [i.signature.result] },
      inline: i.inline !== null,
    })),
    exports: [...components.exports],
    memory: components.memory,
    mutableGlobals: components.mutableGlobals,
    resetBlocker: components.resetBlocker,
    startFunction: components.startFunction,
    backtrace: {
      functionCount: components.backtrace.functionCount,
      offsetMap: encodeOffsetMap(components.backtrace.offsetMap),
      functionShift: components.backtrace.functionShift,
    },
    metering: components.metering,
  };
  return encodeArtifact(header, provenance.instrumented);
}

/**
 * Base components from `artifact`, for a module and options given by `config`. Throws
 * {@link ArtifactError} when the artifact does not belong to them, and {@link NewError}
 * (`UnresolvedFunctionImport`) when `config` refuses one of its imports. `moduleSha256` is the
 * digest of `config.moduleBytes` if the caller already has it, which is the case of a cache
 * hit; the artifact is then the cache's own, and is not copied.
 */
export async function componentsFromArtifact(
  artifact: Uint8Array,
  config: ResolvedConfig,
  progress: ProgressReporter,
  moduleSha256?: string,
): Promise<BaseComponents> {
  await progress.start('load-artifact');
  const { header, instrumented } = await decodeArtifact(artifact, { copy: moduleSha256 === undefined });
  const digest = moduleSha256 ?? (await sha256Hex(config.moduleBytes));
  let imports;
  const stack = artifactStack(config.asyncifyStack, (header.options as Partial<ArtifactHeader['options']> | undefined)?.asyncifyStack);
  try {
    if (header.module.sha256 !== digest) {
      throw new ArtifactError(
        'ModuleMismatch',
        `the artifact was made from another module (${header.module.length} bytes, SHA-256 ${header.module.sha256}); ` +
          `these moduleBytes (${config.moduleBytes.length} bytes) have SHA-256 ${digest}`,
      );
    }
    const expected = artifactOptions(config, stack);
    const differing = differingOptions(expected, header.options);
    if (differing.length > 0) {
      const what = differing.map((k) => `${k} ${JSON.stringify(header.options[k])} (now ${JSON.stringify(expected[k])})`);
      throw new ArtifactError('OptionsMismatch', `the artifact was made with other options: ${what.join(', ')}`);
    }
    const missing = stack === 'second-memory' ? missingMultiMemory() : null;
    if (missing !== null) {
      throw new ArtifactError(
        'OptionsMismatch',
        "the artifact keeps the paused stack in a second memory (asyncifyStack 'second-memory'), which this engine cannot " +
          "run: it has no multi-memory. Make the artifact with asyncifyStack 'single-memory' (resumable-wasm prepare " +
          '--asyncify-stack single-memory), which runs on every engine',
      );
    }
    if (!Array.isArray(header.mutableGlobals) || !header.mutableGlobals.every((name) => typeof name === 'string')) {
      throw new ArtifactError('Corrupted', 'the artifact header is malformed: mutableGlobals is not a list of names');
    }
    if (typeof header.backtrace?.functionCount !== 'number' || (header.backtrace.offsetMap !== null && typeof header.backtrace.offsetMap !== 'string')) {
      throw new ArtifactError('Corrupted', 'the artifact header is malformed: backtrace is not { functionCount, offsetMap }');
    }
    if (typeof header.startFunction !== 'boolean') {
      throw new ArtifactError('Corrupted', 'the artifact header is malformed: startFunction is not a boolean');
    }
    if (!isFunctionShift(header.backtrace.functionShift) || !isMetering(header.metering, header.options)) {
      throw new ArtifactError('Corrupted', 'the artifact header is malformed: its code rewrite facts do not match its options');
    }
    if (header.resetBlocker !== null && typeof header.resetBlocker !== 'string') {
      throw new ArtifactError('Corrupted', 'the artifact header is malformed: resetBlocker is neither null nor a string');
    }
    imports = resolveImports(header.imports, config);
    header.imports.forEach((recorded, index) => {
      const inline = imports![index]!.inline !== null;
      if (inline !== recorded.inline) {
        throw new ArtifactError(
          'OptionsMismatch',
          `the import ${JSON.stringify(recorded.module)}.${JSON.stringify(recorded.name)} was ` +
            `${recorded.inline ? 'answered inline' : 'a pausing import'} when the artifact was made, ` +
            `but is ${inline ? 'answered inline' : 'a pausing import'} with this config`,
        );
      }
    });
  } catch (e) {
    if (e instanceof ArtifactError || e instanceof NewError) throw e;
    // A header that does not have the shape this version writes.
    throw new ArtifactError('Corrupted', `the artifact header is malformed: ${(e as Error).message}`, e);
  }
  progress.end('load-artifact');

  const module = await progress.phase('compile', async () => {
    try {
      return await compileInstrumented(instrumented);
    } catch (e) {
      throw new ArtifactError('Corrupted', `the artifact's module does not compile: ${(e as Error).message}`, e);
    }
  });
  checkShape(module, header);
  return {
    renamed: true,
    module,
    reservedPages: reservedPagesOf(stack, header.options.unwindBufferPages),
    asyncifyStack: stack,
    imports,
    exports: new Map(header.exports),
    memory: header.memory,
    mutableGlobals: header.mutableGlobals,
    resetBlocker: header.resetBlocker,
    startFunction: header.startFunction,
    backtrace: {
      sections: extractDebugSections(config.moduleBytes),
      engineFunctions: functionBodyStarts(instrumented),
      functionCount: header.backtrace.functionCount,
      offsetDelta: null,
      offsetMap: decodeOffsetMap(header.backtrace.offsetMap),
      functionShift: header.backtrace.functionShift,
    },
    metering: header.metering,
    floats: config.floats,
    reuseGrownMemory: config.reuseGrownMemory,
    provenance: { moduleSha256: digest, moduleLength: header.module.length, options: header.options, instrumented },
  };
}

/**
 * The placement an artifact is checked against: an explicit `asyncifyStack` as given (an
 * artifact with the other one is then `OptionsMismatch`); with `'auto'`, the artifact's own,
 * whichever it is (the caller then refuses one the engine cannot run).
 */
function artifactStack(option: AsyncifyStack | 'auto', recorded: unknown): AsyncifyStack {
  if (option !== 'auto') return option;
  return ASYNCIFY_STACK_NAMES.includes(recorded as AsyncifyStack) ? (recorded as AsyncifyStack) : 'second-memory';
}

/**
 * Checks that the compiled module imports and exports exactly what the header announces, so
 * that an artifact whose module and header disagree is refused rather than half-run.
 */
function checkShape(module: WebAssembly.Module, header: ArtifactHeader): void {
  const expectedImports = header.imports.map((_, index) => `${FUNCTION_IMPORT_MODULE}.${functionImportName(index)}:function`);
  if (header.metering?.fuel != null) expectedImports.push(`${FUEL_IMPORT.module}.${FUEL_IMPORT.name}:function`);
  if (header.metering?.stack != null) expectedImports.push(`${STACK_LIMIT_IMPORT.module}.${STACK_LIMIT_IMPORT.name}:function`);
  if (header.memory?.imported === true) expectedImports.push(`${MEMORY_IMPORT_MODULE}.${MEMORY_IMPORT_NAME}:memory`);
  const actualImports = WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}:${i.kind}`);

  const kinds = { function: 'function', table: 'table', memory: 'memory', global: 'global' } as const;
  const expectedExports = header.exports.map(([, info]) => `${exportName(info.position)}:${kinds[info.kind]}`);
  expectedExports.push(`${UNWIND_MEMORY_EXPORT}:memory`);
  if (header.memory !== null && !header.memory.imported) expectedExports.push(`${MEMORY_EXPORT}:memory`);
  for (const name of header.mutableGlobals) expectedExports.push(`${name}:global`);
  if (header.metering?.fuel != null) expectedExports.push(`${header.metering.fuel.counterExport}:global`);
  if (header.metering?.stack != null) expectedExports.push(`${header.metering.stack.heightExport}:global`);
  if (header.startFunction) expectedExports.push(`${START_EXPORT}:function`);
  for (const name of ASYNCIFY_EXPORTS) {
    expectedExports.push(`${name}:function`);
  }
  const actualExports = WebAssembly.Module.exports(module).map((e) => `${e.name}:${e.kind}`);

  const same = (a: string[], b: string[]): boolean => a.sort().join('\n') === b.sort().join('\n');
  if (!same(expectedImports, actualImports) || !same(expectedExports, actualExports)) {
    throw new ArtifactError('Corrupted', "the artifact's module does not have the imports and exports its header announces");
  }
}

/** An offset map as the artifact header stores it: base64 of the engine offsets then the guest's, 32-bit little-endian. */
function encodeOffsetMap(map: OffsetMap | null): string | null {
  if (map === null) return null;
  const words = new Uint32Array(map.engine.length * 2);
  words.set(map.engine, 0);
  words.set(new Uint32Array(map.guest.buffer, map.guest.byteOffset, map.guest.length), map.engine.length);
  const bytes = new Uint8Array(words.buffer);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** The inverse of {@link encodeOffsetMap}; throws `Corrupted` for text that is not one. */
function decodeOffsetMap(text: string | null): OffsetMap | null {
  if (text === null) return null;
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch (e) {
    throw new ArtifactError('Corrupted', 'the artifact header is malformed: backtrace.offsetMap is not base64', e);
  }
  if (bytes.length % 8 !== 0) throw new ArtifactError('Corrupted', 'the artifact header is malformed: backtrace.offsetMap has a bad length');
  const words = new Uint32Array(bytes.buffer);
  const half = words.length / 2;
  return { engine: words.slice(0, half), guest: new Int32Array(words.slice(half).buffer) };
}

/** Whether `value` is a function index shift as the artifact header records it (or `null`). */
function isFunctionShift(value: unknown): value is FunctionIndexShift | null {
  if (value === null) return true;
  if (typeof value !== 'object') return false;
  const shift = value as Record<string, unknown>;
  return ['guestImports', 'addedImports', 'guestFunctions', 'functions'].every((k) => Number.isInteger(shift[k]) && (shift[k] as number) >= 0);
}

/** Whether `value` is the metering facts an artifact made with `options` records: counters exactly for the options asked. */
function isMetering(value: unknown, options: ArtifactOptions): value is MeteringFacts | null {
  const wantsFuel = options.fuel === true;
  const wantsStack = options.maxStackHeight !== null && options.maxStackHeight !== undefined;
  if (value === null || value === undefined) return !wantsFuel && !wantsStack;
  if (typeof value !== 'object') return false;
  const { fuel, stack } = value as { fuel?: unknown; stack?: unknown };
  const counter = (c: unknown, name: string): boolean =>
    typeof c === 'object' && c !== null && typeof (c as Record<string, unknown>)[name] === 'string' && Number.isInteger((c as Record<string, unknown>)['importIndex']);
  const fuelOk = wantsFuel ? counter(fuel, 'counterExport') : fuel === null;
  const stackOk = wantsStack
    ? counter(stack, 'heightExport') && (stack as { limit?: unknown }).limit === options.maxStackHeight
    : stack === null;
  return fuelOk && stackOk;
}
