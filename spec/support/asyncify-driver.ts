/**
 * Test helper: Binaryen's Asyncify run on a module, and a minimal driver for the result, with
 * no VM: the pausing imports unwind the stack and the call returns to the test, which resumes it
 * later with a value. The unwind data lives either in the module's own memory (`dataAt`: the
 * single-memory layout of the memory shift, its header at 0 and its stack up to `end`) or in the
 * secondary memory Binaryen adds (`secondaryPages`).
 */
type Binaryen = typeof import('binaryen').default;
let binaryen: Binaryen | null = null;

/** Loads Binaryen once. */
async function loadBinaryen(): Promise<Binaryen> {
  binaryen ??= (await import('binaryen')).default;
  return binaryen;
}

/** Options of {@link asyncify}. */
export interface AsyncifyOptions {
  /** `module.name` of every import that may pause. */
  readonly pausing: readonly string[];
  /** Put the unwind buffer in a secondary memory of this many pages; absent: the module's memory. */
  readonly secondaryPages?: number;
}

/** The module instrumented by Binaryen's Asyncify (optimisation level 0, as the library runs it). */
export async function asyncify(bytes: Uint8Array, options: AsyncifyOptions): Promise<Uint8Array> {
  const b = await loadBinaryen();
  const F = b.Features;
  const features = F.MVP | F.SignExt | F.MutableGlobals | F.NontrappingFPToInt | F.BulkMemory | F.BulkMemoryOpt | F.Multivalue | F.MultiMemory;
  const readBinary = b.readBinary as (data: Uint8Array, features?: number) => ReturnType<Binaryen['readBinary']>;
  const module = readBinary(bytes, features);
  const previous = { optimize: b.getOptimizeLevel(), shrink: b.getShrinkLevel() };
  try {
    module.setFeatures(features);
    b.setOptimizeLevel(0);
    b.setShrinkLevel(0);
    b.setPassArgument('asyncify-imports', options.pausing.join(','));
    if (options.secondaryPages !== undefined) {
      b.setPassArgument('asyncify-in-secondary-memory', '1');
      b.setPassArgument('asyncify-secondary-memory-size', String(options.secondaryPages));
    }
    module.runPasses(['asyncify']);
    if (options.secondaryPages !== undefined) module.addMemoryExport('asyncify_memory', '__asyncify_memory');
    return module.emitBinary();
  } finally {
    module.dispose();
    for (const key of ['asyncify-imports', 'asyncify-in-secondary-memory', 'asyncify-secondary-memory-size']) b.setPassArgument(key, null);
    b.setOptimizeLevel(previous.optimize);
    b.setShrinkLevel(previous.shrink);
  }
}

interface AsyncifyExports {
  asyncify_start_unwind(data: number): void;
  asyncify_stop_unwind(): void;
  asyncify_start_rewind(data: number): void;
  asyncify_stop_rewind(): void;
  asyncify_get_state(): number;
}

/** Where a paused call stopped: the import and its arguments. */
export interface Pause {
  readonly module: string;
  readonly name: string;
  readonly args: readonly unknown[];
}

/** A step of a call: paused at an import, or over. */
export type Step = { readonly type: 'paused'; readonly pause: Pause } | { readonly type: 'finished'; readonly value: unknown };

/**
 * Drives calls of an Asyncify-instrumented instance. Build the import object with
 * {@link pausingImport} for every import listed as pausing, instantiate, then {@link attach}.
 */
export class AsyncifyDriver {
  #exports: (WebAssembly.Exports & AsyncifyExports) | null = null;
  #memory: () => WebAssembly.Memory;
  readonly #dataAt: number;
  readonly #end: number;
  #pause: Pause | null = null;
  #resumeValue: unknown = undefined;
  #call: { name: string; args: readonly unknown[] } | null = null;

  /**
   * `memory`: where the unwind data lives (the module's memory, or its secondary memory export);
   * the data structure is written at `dataAt` and the stack runs from `dataAt + 8` to `end`.
   */
  constructor(memory: () => WebAssembly.Memory, dataAt: number, end: number) {
    this.#memory = memory;
    this.#dataAt = dataAt;
    this.#end = end;
  }

  /** The JavaScript function of a pausing import. */
  pausingImport(module: string, name: string): (...args: unknown[]) => unknown {
    return (...args: unknown[]) => {
      const exports = this.#exports!;
      if (exports.asyncify_get_state() === 2) {
        exports.asyncify_stop_rewind();
        return this.#resumeValue;
      }
      this.#pause = { module, name, args };
      const view = new DataView(this.#memory().buffer);
      view.setInt32(this.#dataAt, this.#dataAt + 8, true);
      view.setInt32(this.#dataAt + 4, this.#end, true);
      exports.asyncify_start_unwind(this.#dataAt);
      return 0;
    };
  }

  /** Binds the driver to its instance. */
  attach(instance: WebAssembly.Instance): void {
    this.#exports = instance.exports as WebAssembly.Exports & AsyncifyExports;
  }

  /** Asyncify's state: 0 normal, 1 unwinding, 2 rewinding. */
  get state(): number {
    return this.#exports!.asyncify_get_state();
  }

  /** Starts a call of export `name`. Throws what the guest throws (a trap). */
  start(name: string, ...args: unknown[]): Step {
    this.#call = { name, args };
    return this.#step();
  }

  /** Resumes the paused call with `value` as the import's result. */
  resume(value: unknown): Step {
    this.#resumeValue = value;
    this.#exports!.asyncify_start_rewind(this.#dataAt);
    return this.#step();
  }

  #step(): Step {
    const { name, args } = this.#call!;
    this.#pause = null;
    const value = (this.#exports![name] as (...a: unknown[]) => unknown)(...args);
    if (this.#pause !== null) {
      this.#exports!.asyncify_stop_unwind();
      return { type: 'paused', pause: this.#pause };
    }
    return { type: 'finished', value };
  }
}
