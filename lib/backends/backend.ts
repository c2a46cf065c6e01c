/**
 * A backend: one way of pausing a guest at an import, and everything that differs with it.
 *
 * The state machine (`vm/`) is the same whatever pauses the guest. What differs is gathered
 * here, in one object per backend, chosen once when a prototype is created
 * (`list.ts`'s `chooseBackend`):
 *
 * - **how a module is loaded**: the Asyncify backend instruments it with Binaryen (on the
 *   transform's thread), puts an artifact cache in front of that, and can rebuild a prototype
 *   from an artifact; the JSPI backend compiles the guest's own module;
 * - **the driver** that runs a call and hands its steps to the state machine, behind the seam
 *   of `call-driver.ts`: Asyncify unwinds and rewinds the guest's stack into a buffer, JSPI
 *   lets the engine suspend it;
 * - **what it can do**, as capabilities the rest of the VM asks rather than infers from a name:
 *   whether a step ends before `call`/`resume` return (`run()` is synchronous), whether a paused
 *   call holds an engine stack that must be released when the call is dropped, whether it has
 *   artifacts.
 *
 * Adding a backend is a folder here (its loading and its driver), an object implementing
 * {@link VmBackend}, and one line in `list.ts`. No code outside this folder compares a
 * backend's name (`spec/layout.test.ts` checks it).
 *
 * **Layer `backends/`** (this is its main file): the backends and the seam their drivers share.
 * It imports `base/`, `transform/`, `load/` and `artifact/`, never the states of `vm/`.
 *
 * @module
 */

import type { BaseComponents } from '../base/components.js';
import type { ResolvedConfig } from '../base/config.js';
import type { Backend } from '../base/engine.js';
import type { ProgressReporter } from '../base/progress.js';
import type { LoadTuning } from '../load/load-module.js';
import type { CallDriver } from './call-driver.js';

/** One way of pausing a guest, and what differs with it; see the module documentation. */
export interface VmBackend {
  /** Its public name (`VmConfig.backend`, `VirtualMachinePrototype.backend`). */
  readonly name: Backend;
  /** Its name in messages (`JSPI`, `Asyncify`). */
  readonly label: string;
  /**
   * Why this engine cannot run the backend (the message of `NewError('BackendUnsupported')`,
   * naming what is missing and where it exists), or `null` if it can.
   */
  unsupportedReason(): string | null;
  /**
   * Whether a step ends before the driver's `call`/`resume` return, so that
   * `VirtualMachine.run()` can return its outcome (Asyncify); else a step ends in a later
   * promise job and only `runAsync()` works (JSPI).
   */
  readonly synchronousSteps: boolean;
  /**
   * Whether a paused call holds an engine stack that lives until the call is abandoned (JSPI):
   * a machine dropped while paused must then be abandoned by a finalizer.
   */
  readonly holdsEngineStacks: boolean;
  /** Whether prototypes of this backend have artifacts (`toArtifact()`, `fromArtifact()`). */
  readonly artifacts: boolean;
  /**
   * Whether a paused call is plain data that can be copied (Asyncify: the guest's memory, its
   * globals and the unwind buffer): `snapshot()`, `restore()` and a synchronous `fork()`, through
   * the driver's `pausedStack`/`restorePausedStack`. Where it is not (JSPI: the engine holds the
   * stack), a call moves by its journal (`VmConfig.journal`, `replay`).
   */
  readonly snapshots: boolean;
  /**
   * Loads the module of `config` into base components and hands them to `instantiate` (which
   * makes the prototype), reporting to `progress`. Rejects with `NewError` for a refused module.
   * With `tuning.fromCacheOnly`, resolves to `null` where it would have to do more than load
   * an artifact from `config.cache` (a backend without artifacts: always). Reads
   * `config.moduleBytes` before its first `await` or works on its own copy: the caller may reuse
   * its array as soon as this returns (the same for {@link fromArtifact}'s bytes).
   */
  create<T>(
    config: ResolvedConfig,
    progress: ProgressReporter,
    tuning: LoadTuning,
    instantiate: (components: BaseComponents) => Promise<T>,
  ): Promise<T | null>;
  /** Base components from an artifact made by {@link artifactOf}, for the module and options of `config`. */
  fromArtifact(artifact: Uint8Array, config: ResolvedConfig, progress: ProgressReporter): Promise<BaseComponents>;
  /** The artifact of `components` (which this backend made). */
  artifactOf(components: BaseComponents): Uint8Array;
  /** A new driver, for one instance of `components`. */
  newDriver(components: BaseComponents): CallDriver;
}
