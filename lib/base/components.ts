/**
 * Base components: the immutable description of a loaded module that every layer shares.
 *
 * As in smoldot, a prototype is built from *base components*: the compiled module, the resolved
 * import table (import index -> the host's answer to it), the facts the VM needs about the
 * module's exports and memory, and where they came from (what an artifact records). The loader
 * (`load/`) and the artifact loader (`artifact/`) produce them; the VM (`vm/`) makes live
 * instances from them; nothing ever changes them, so one set serves every instance of a module.
 *
 * **Layer `base/`** (this is its main file): the leaf of the library. It owns what every other
 * layer shares: values and signatures (`values.ts`), errors (`errors.ts`), the configuration
 * (`config.ts`, `feature-set.ts`), these component types, progress reporting, page sizes, the
 * binary reader, the instruction set as data (`instruction-set.ts`) and digests. It imports
 * nothing from `lib/` outside `base/`, holds no state, and is the one internal layer the
 * Substrate layer may use.
 *
 * @module
 */

import type { InlineImport } from './config.js';
import type { AsyncifyStack } from './engine.js';
import type { RawSignature, Signature } from './values.js';

/** What an import or export refers to. */
export type ExternalKind = 'function' | 'table' | 'memory' | 'global';

/** Size limits of a memory, in 64 KiB pages. */
export interface MemoryLimits {
  readonly initial: number;
  readonly maximum: number | null;
}

/** A memory of the module: whether it is imported, and its limits. */
export interface DeclaredMemory {
  readonly imported: boolean;
  readonly limits: MemoryLimits;
}

/** A global, imported or defined. */
export interface GlobalFact {
  readonly valueType: string;
  readonly mutable: boolean;
}

/** The options that shape the instrumented module; an artifact is only valid for the same ones. */
export interface ArtifactOptions {
  /** The allowed features' canonical name (`FeatureSet.name`). */
  readonly features: string;
  readonly floats: boolean;
  readonly requireMemory: boolean;
  readonly startFunction: boolean;
  readonly anyMemoryImport: boolean;
  readonly unwindBufferPages: number;
  /** Where the paused stack is kept (`VmConfig.asyncifyStack`, resolved). */
  readonly asyncifyStack: AsyncifyStack;
  readonly maxMemoryPages: number | null;
  /** `VmConfig.fuel`: fuel metering compiled in. */
  readonly fuel: boolean;
  /** `VmConfig.maxStackHeight`: the logical stack limit, `null` for none. */
  readonly maxStackHeight: number | null;
  /** `VmConfig.canonicalizeNaNs`. */
  readonly canonicalizeNaNs: boolean;
  /** The transform itself (see `transformId` in `transform/transform-options.ts`). */
  readonly transform: string;
}

/** A function import and how the host resolved it. */
export interface ResolvedImport {
  readonly module: string;
  readonly name: string;
  readonly signature: Signature;
  /** For a pausing import: the id `symbols` gave it, reported in `interrupted` outcomes; else -1. */
  readonly id: number;
  /** For an inline import: the host function answering it; else `null`. */
  readonly inline: InlineImport | null;
}

/** An export of the original module, by its original name. */
export interface ExportInfo {
  /** Position in the original export section; the instrumented module exports it as `e<position>`. */
  readonly position: number;
  readonly kind: ExternalKind;
  /** For functions. */
  readonly signature?: RawSignature;
  /** For globals. */
  readonly global?: GlobalFact;
}

/** Where base components came from: what an artifact records besides the facts. */
export interface Provenance {
  /** SHA-256 of the original module, hexadecimal. */
  readonly moduleSha256: string;
  readonly moduleLength: number;
  readonly options: ArtifactOptions;
  /** The instrumented module's bytes (the engine cannot give them back from the compiled module). */
  readonly instrumented: Uint8Array;
}

/** The raw debugging sections of the guest's own module, and where its code section's contents start. */
export interface DebugSections {
  /** Offset in the module of the first byte of the code section's contents (`null`: no code). */
  readonly codeStart: number | null;
  readonly name: Uint8Array | null;
  readonly debugLine: Uint8Array | null;
  readonly debugLineStr: Uint8Array | null;
  readonly debugStr: Uint8Array | null;
}

/**
 * Offsets in the compiled module's code and the guest's own offsets they come from, for the
 * Asyncify backend (whose code is rewritten): `engine` sorted ascending, `guest[i]` the guest's
 * offset for `engine[i]` (`-1`: an instruction the transform added).
 */
export interface OffsetMap {
  readonly engine: Uint32Array;
  readonly guest: Int32Array;
}

/** What a trap's backtrace needs to name the guest's frames (`vm/backtrace.ts`). */
export interface BacktraceFacts {
  readonly sections: DebugSections;
  /**
   * The number of functions of the guest's own module (imports included). The compiled module
   * numbers the guest's functions as the guest does (checked when the transform runs; `0` if it
   * did not, and then no frame is named); higher indices are the transform's own functions.
   */
  readonly functionCount: number;
  /**
   * Where each function body of the compiled module starts (its size's offset), in function
   * index order, after the imported functions: a stack trace that gives only an offset (V8's
   * `wasm://wasm/<hash>:1:<offset + 1>` when a `prepareStackTrace` formats it) names the
   * function this way.
   */
  readonly engineFunctions: { readonly imported: number; readonly bodyStarts: Uint32Array };
  /** JSPI: the guest's offset of an instruction is the compiled module's plus this (`null` on Asyncify). */
  readonly offsetDelta: number | null;
  /** Asyncify: the compiled module's offsets mapped to the guest's, where the transform kept track (`null`: not). */
  readonly offsetMap: OffsetMap | null;
  /**
   * How the code rewrite (fuel, the stack limit) moved the function index space, or `null` where
   * nothing moved: a compiled module's index maps back to the guest's with `guestFunctionIndex`
   * (`transform/code-rewrite.ts`). `functionCount` and `engineFunctions` are then about the
   * guest's functions and the compiled module's, as without a rewrite.
   */
  readonly functionShift: FunctionIndexShift | null;
}

/**
 * How the code rewrite moved the function index space (the same shape as
 * `transform/code-rewrite.ts`'s): the guest's imports keep their indices, the imports it added
 * come right after them, then the guest's own functions, then the rewrite's.
 */
export interface FunctionIndexShift {
  readonly guestImports: number;
  readonly addedImports: number;
  readonly guestFunctions: number;
  readonly functions: number;
}

/**
 * The counters the code rewrite added for fuel and the logical stack limit (`VmConfig.fuel`,
 * `VmConfig.maxStackHeight`): mutable globals the compiled module exports under names of
 * `transform/abi.ts`, never among the guest's own (it cannot name them: they come after its
 * globals, and its exports are looked up by its own names), and the imports through which
 * the guest pauses for fuel or traps at the limit (in the function index space, after the
 * guest's imports).
 */
export interface MeteringFacts {
  /** Fuel: the counter (i64, fuel left) and the import that pauses until the host adds fuel. */
  readonly fuel: { readonly counterExport: string; readonly importIndex: number } | null;
  /** The stack limit: the height (i32), the import that throws, the limit. */
  readonly stack: { readonly heightExport: string; readonly importIndex: number; readonly limit: number } | null;
}

/**
 * What a journal (`VmConfig.journal`) names as the thing it belongs to: the module, and the
 * options that shape what the guest sees whatever the backend (a journal replays on either).
 */
export interface JournalIdentity {
  /** SHA-256 of the original module, hexadecimal. */
  readonly moduleSha256: string;
  readonly moduleLength: number;
  readonly options: {
    readonly features: string;
    readonly floats: boolean;
    readonly requireMemory: boolean;
    readonly startFunction: boolean;
    readonly anyMemoryImport: boolean;
    readonly maxMemoryPages: number | null;
    /** The determinism options that change what the guest does (fuel is refused with journals). */
    readonly maxStackHeight: number | null;
    readonly canonicalizeNaNs: boolean;
  };
}

/** Everything needed to make a fresh instance; see the module documentation. */
export interface BaseComponents {
  /**
   * What an artifact of these components records; `null` on JSPI, whose module is the guest's
   * own and needs no artifact.
   */
  readonly provenance: Provenance | null;
  /**
   * Whether the compiled module carries the synthetic import and export names of
   * `transform/abi.ts` (always on Asyncify; on JSPI only when the guest's own names cannot serve,
   * see `load/load-module.ts`). When `false`, imports and exports keep the guest's names.
   */
  readonly renamed: boolean;
  readonly module: WebAssembly.Module;
  /** Function imports, in function index order. */
  readonly imports: readonly ResolvedImport[];
  /** Exports by original name. */
  readonly exports: ReadonlyMap<string, ExportInfo>;
  /** The guest's memory, if it has one: its limits as the guest sees them. */
  readonly memory: DeclaredMemory | null;
  /**
   * Pages reserved below the guest's memory, in the module's one memory, that the guest can
   * neither read nor write (single-memory Asyncify keeps the paused stack there; see
   * `transform/memory-shift.ts`): the host reaches the guest's byte `a` at
   * `reservedPages * 65536 + a`, and the real memory has `reservedPages` more pages than the
   * guest sees. 0 where the guest's memory is the module's memory as it is.
   */
  readonly reservedPages: number;
  /** Where a paused stack is kept (Asyncify); `null` where the engine keeps it (JSPI). */
  readonly asyncifyStack: AsyncifyStack | null;
  /**
   * The names under which the compiled module exports each of its mutable globals (all of
   * them: the transform exports the ones the guest does not), so that a used instance can be
   * put back exactly in its fresh state (`vm/live-instance.ts`).
   */
  readonly mutableGlobals: readonly string[];
  /**
   * Why a used instance cannot be put back in its fresh state, or `null` if it can: the first
   * instruction by which the guest can change a table or drop a segment (bulk memory,
   * reference types), which no reset can undo (e.g. `table.set in function 3`).
   */
  readonly resetBlocker: string | null;
  /**
   * Whether the module has a start function, which the compiled module exports as
   * `START_EXPORT` (`transform/abi.ts`) instead of running it at instantiation: every fresh
   * instance runs it as its first call (`Prepare.callStartFunction`).
   */
  readonly startFunction: boolean;
  /** Whether f32/f64 may cross the boundary. */
  readonly floats: boolean;
  /** `VmConfig.reuseGrownMemory`: whether a reset may keep a memory the call grew. */
  readonly reuseGrownMemory: boolean;
  /** What a trap's backtrace needs. */
  readonly backtrace: BacktraceFacts;
  /** The fuel and stack-height counters, or `null` for a module compiled without either. */
  readonly metering: MeteringFacts | null;
  /**
   * With `VmConfig.journal`: what the journals of these components' instances name (absent or
   * `null`: the host's actions are not recorded). Set by the prototype, which hashes the module.
   */
  readonly journal?: JournalIdentity | null;
}

