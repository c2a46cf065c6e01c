/**
 * resumable-wasm: run WebAssembly as a resumable, interrupt-driven state machine.
 *
 * Every call the guest makes to a host import pauses execution and returns control to the
 * caller, who may read, write and grow the guest's memory and then resume the guest with a
 * typed return value. The guest runs on the JavaScript engine's own WebAssembly JIT, and cannot
 * tell it was paused. Two mechanisms pause it, chosen by `VmConfig.backend`:
 *
 * - `'jspi'`: the engine suspends the guest's stack (JavaScript Promise Integration: Node.js 26,
 *   Chrome 137+, Firefox 153+, Safari 27+). No transform: `create()` takes milliseconds. A
 *   resume is always asynchronous: drive the machine with {@link VirtualMachine.runAsync} or
 *   {@link runToCompletion}.
 * - `'asyncify'` (the default): Binaryen's Asyncify transform, on a thread of its own, with the
 *   paused stack kept out of the guest's reach (in a second memory, or in pages reserved below
 *   the guest's memory on engines without multi-memory: `VmConfig.asyncifyStack`), so it runs on
 *   every engine. Seconds for a large module (an artifact or a cache skips it); a synchronous
 *   {@link VirtualMachine.run} as well as `runAsync`.
 * - `'auto'`: JSPI where the engine has it, else Asyncify.
 *
 * ```ts
 * import { VirtualMachinePrototype, WasmValue, runToCompletion } from 'resumable-wasm';
 *
 * const proto = await VirtualMachinePrototype.create({
 *   moduleBytes,
 *   backend: 'auto',
 *   symbols: (module, name) => (name === 'get_number' ? 0 : null),
 * });
 * const vm = proto.prepare().start('main', [WasmValue.i32(5)]);
 * const outcome = await runToCompletion(vm, () => WasmValue.i32(42));
 * ```
 *
 * See `docs/architecture.md` for the model and `docs/performance.md` for the costs.
 *
 * @module
 */

export { MemoryArtifactCache } from './artifact/cache.js';
export { type ArtifactCache, DEFAULT_MAX_STACK_HEIGHT, type InlineImport, type VmConfig } from './base/config.js';
export type { FeatureName, FeatureSetName, FeaturesOption } from './base/feature-set.js';
export {
  ArtifactError,
  GlobalValueError,
  NewError,
  OutOfBoundsError,
  RunError,
  SnapshotError,
  Trap,
  UsageError,
  VmError,
} from './base/errors.js';
export type {
  ArtifactErrorKind,
  GuestFrame,
  GlobalValueErrorKind,
  NewErrorKind,
  Refusal,
  RunErrorKind,
  SnapshotErrorKind,
  StartErrorKind,
  TrapKind,
  UsageErrorKind,
} from './base/errors.js';
export type { GuestMemoryAccess } from './base/guest-memory-access.js';
export { MemoryAccess } from './vm/memory-access.js';
export { Prepare, StartError } from './vm/prepare.js';
export type { CreatePhase, ProgressEvent, ProgressListener, TransformStep } from './base/progress.js';
export { VirtualMachinePrototype } from './vm/prototype.js';
export { type Signature, type ValueType, WasmValue } from './base/values.js';
export { type ExecOutcome, VirtualMachine } from './vm/virtual-machine.js';
export {
  type CompletedOutcome,
  type Interrupt,
  type InterruptHandler,
  type RunToCompletionOptions,
  runToCompletion,
} from './vm/run-to-completion.js';
export type { StartOptions } from './vm/fuel.js';
export type { AsyncifyStack, Backend } from './base/engine.js';
