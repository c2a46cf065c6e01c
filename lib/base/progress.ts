/**
 * Progress of {@link VirtualMachinePrototype.create} and `fromArtifact`, for a CLI or a page to
 * show where the seconds go.
 *
 * Some phases are synchronous work on the calling thread (validation, the feature scan), so
 * after announcing a phase the reporter yields to the event loop once: a listener that updates
 * a display gets a chance to render before the thread is busy again. The transform itself runs
 * on another thread and reports its steps as it goes.
 *
 * @module
 */

/** A phase of building a prototype, in the order they happen. */
export type CreatePhase =
  /** Looking the module up in the artifact cache (only with `cache`). */
  | 'cache-lookup'
  /** The engine validates the bytes and the feature scan checks the feature set. */
  | 'validate'
  /** Reading the module's headers, applying the module rules, resolving the imports. */
  | 'inspect'
  /** Instrumenting with Binaryen's Asyncify: the long one, seconds for a large module. */
  | 'transform'
  /** Checking and decoding an artifact (from `fromArtifact`, or a cache hit). */
  | 'load-artifact'
  /** The engine compiles the instrumented module. */
  | 'compile'
  /** Allocating the memory and instantiating. */
  | 'instantiate'
  /** Storing the new artifact in the cache (only with `cache`). */
  | 'cache-store';

/**
 * The steps of the `transform` phase, reported as they begin (`status: 'progress'`). The
 * transform runs on another thread (a Worker), so the calling thread is free to show them.
 */
export type TransformStep =
  /** Loading Binaryen (about a second, once per transform thread). */
  | 'load-binaryen'
  /** The code rewrites before Asyncify (the memory shift of a single-memory Asyncify; tens of milliseconds). */
  | 'rewrite'
  /** Binaryen reads the module. */
  | 'read'
  /** The Asyncify pass: the long one, most of the transform's time. */
  | 'asyncify'
  /** The passes that win back run speed after Asyncify. */
  | 'post-passes'
  /** Binaryen writes the instrumented module. */
  | 'emit'
  /** Bounds checks added to Asyncify's own stores (single-memory Asyncify; tens of milliseconds). */
  | 'unwind-guard';

/** One progress report. */
export interface ProgressEvent {
  readonly phase: CreatePhase;
  /**
   * `start` when the phase begins, `end` when it is over; `progress` within a phase, for a step
   * of it (only the `transform`'s steps, see {@link TransformStep}).
   */
  readonly status: 'start' | 'end' | 'progress';
  /** For `progress`: the step that begins. */
  readonly step?: TransformStep;
  /** Milliseconds since the creation began. */
  readonly elapsedMs: number;
  /** For `end`: how long the phase took, in milliseconds. */
  readonly durationMs?: number;
  /** For `cache-lookup` `end`: whether the cache had a usable artifact. */
  readonly cacheHit?: boolean;
  /** For `cache-lookup` and `cache-store` `end`: what the cache store threw, if it failed. */
  readonly error?: unknown;
}

/** A {@link ProgressEvent} whose phase names are `P` (a layer adds phases of its own). */
export type PhaseEvent<P extends string> = Omit<ProgressEvent, 'phase'> & { readonly phase: P };

/** Called with each {@link ProgressEvent}; exceptions it throws are ignored. */
export type ProgressListener = (event: ProgressEvent) => void;

/**
 * Times phases and reports them to a listener (or does nothing without one). `P` is the set of
 * phase names: the core's {@link CreatePhase}s, or a layer's own phases added to them.
 */
export class ProgressReporter<P extends string = CreatePhase> {
  readonly #started = performance.now();
  #phaseStarted = 0;

  readonly #listener: ((event: PhaseEvent<P>) => void) | null;

  constructor(listener: ((event: PhaseEvent<P>) => void) | null) {
    this.#listener = listener;
  }

  /** Announces `phase` and lets the event loop turn once if someone is listening. */
  async start(phase: P): Promise<void> {
    this.announce(phase);
    if (this.#listener !== null) await new Promise((resolve) => setTimeout(resolve, 0));
  }

  /**
   * Announces `phase` without letting the event loop turn: for a phase too short to need a
   * repaint, or one that must not yield (the JSPI loader reads the caller's bytes before it
   * awaits anything).
   */
  announce(phase: P): void {
    this.#phaseStarted = performance.now();
    if (this.#listener !== null) this.#emit({ phase, status: 'start', elapsedMs: this.#phaseStarted - this.#started });
  }

  /** Reports the end of `phase`. */
  end(phase: P, extra: { cacheHit?: boolean; error?: unknown } = {}): void {
    if (this.#listener === null) return;
    const now = performance.now();
    this.#emit({ phase, status: 'end', elapsedMs: now - this.#started, durationMs: now - this.#phaseStarted, ...extra });
  }

  /** Reports that `step` of `phase` begins. */
  step(phase: P, step: TransformStep): void {
    if (this.#listener === null) return;
    this.#emit({ phase, status: 'progress', step, elapsedMs: performance.now() - this.#started });
  }

  /** Runs `work` as `phase`. */
  async phase<T>(phase: P, work: () => T | Promise<T>): Promise<T> {
    await this.start(phase);
    const result = await work();
    this.end(phase);
    return result;
  }

  /**
   * Reports an event of a nested reporter (one that started later, e.g. the core's inside a
   * layer's `create`) as this reporter's own: the same event, timed from this one's start.
   */
  relay(event: PhaseEvent<P>): void {
    if (this.#listener === null) return;
    this.#emit({ ...event, elapsedMs: performance.now() - this.#started });
  }

  #emit(event: PhaseEvent<P>): void {
    try {
      this.#listener!(event);
    } catch {
      // A display that fails must not fail the creation.
    }
  }
}
