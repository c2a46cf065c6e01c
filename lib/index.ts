/**
 * resumable-wasm: run WebAssembly as a resumable, interrupt-driven state machine.
 *
 * Every call the guest makes to a host import pauses execution and returns control to the
 * caller of {@link VirtualMachine.run}, who may read, write and grow the guest's memory and then
 * resume the guest with a typed return value. The guest runs on the JavaScript engine's own
 * WebAssembly JIT; the pause is Binaryen's Asyncify transform, with the paused stack kept
 * outside the guest's memory so the guest cannot tell it was paused.
 *
 * ```ts
 * import { VirtualMachinePrototype, WasmValue } from 'resumable-wasm';
 *
 * const proto = await VirtualMachinePrototype.create({
 *   moduleBytes,
 *   symbols: (module, name) => (name === 'get_number' ? 0 : null),
 * });
 * const vm = proto.prepare().start('main', [WasmValue.i32(5)]);
 * let outcome = vm.run(null);
 * while (outcome.type === 'interrupted') outcome = vm.run(WasmValue.i32(42));
 * ```
 *
 * See `docs/architecture.md` for the model and `docs/performance.md` for the costs.
 *
 * @module
 */

export { type ArtifactCache, MemoryArtifactCache } from './artifact-cache.js';
export type { InlineImport, VmConfig } from './config.js';
export {
  ArtifactError,
  GlobalValueError,
  NewError,
  OutOfBoundsError,
  RunError,
  StartError,
  Trap,
  UsageError,
  VmError,
} from './errors.js';
export type {
  ArtifactErrorKind,
  GlobalValueErrorKind,
  NewErrorKind,
  RunErrorKind,
  StartErrorKind,
  TrapKind,
  UsageErrorKind,
} from './errors.js';
export type { FeatureSetName } from './features.js';
export type { GuestMemoryAccess } from './guest-memory.js';
export { MemoryAccess } from './memory-access.js';
export { Prepare } from './prepare.js';
export type { CreatePhase, ProgressEvent, ProgressListener } from './progress.js';
export { VirtualMachinePrototype } from './prototype.js';
export { type Signature, type ValueType, WasmValue } from './values.js';
export { type ExecOutcome, VirtualMachine } from './virtual-machine.js';
