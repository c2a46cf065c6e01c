/**
 * The route for every import this layer does not serve: the call's `onHostCall` handler (see
 * `call/host-call-handler.ts` for what the handler sees).
 *
 * The call pauses, the handler gets the function's name, its arguments and the paused
 * runtime's memory, and answers with a value of the function's result type (or a promise of
 * one). Without a handler, or if the handler declines (`undefined`), the call fails with
 * `UnsupportedHostFunction` naming the function, *when the runtime calls it*: a runtime
 * imports more than any single entry point uses, so an unserved import is not refused up front.
 *
 * @module
 */

import type { Signature } from '../../base/values.js';
import { RuntimeCallError, hostFunctionFailed } from '../errors.js';
import type { HostCall } from '../call/host-call-handler.js';
import { packPointerSize, readPointerSize } from '../heap/pointer-size.js';
import { type PausingHostFunction, type RawValue, ask, pausing } from './definition.js';

/** A pausing host function that hands the import `module`.`name` to the call's handler. */
export function handlerFunction(module: string, name: string, signature: Signature): PausingHostFunction {
  return pausing(signature, function* (context, memory, rawParams) {
    const handler = context.onHostCall;
    const unsupported = (): RuntimeCallError =>
      new RuntimeCallError(
        'UnsupportedHostFunction',
        `the runtime called "${module}"."${name}", which this host does not serve` +
          (handler === null ? ' (no onHostCall handler was given)' : ' (the onHostCall handler declined it)'),
        { function: name },
      );
    if (handler === null) throw unsupported();
    const params = rawParams.map((value, index) => ({ type: signature.params[index]!, value }) as HostCall['params'][number]);
    const call: HostCall = {
      module,
      name,
      signature,
      params,
      // The memory only: the handler must not be able to run or discard the paused call.
      memory: {
        memorySize: () => memory.memorySize(),
        readMemory: (offset, size) => memory.readMemory(offset, size),
        writeMemory: (offset, data) => memory.writeMemory(offset, data),
        growMemory: (pages) => memory.growMemory(pages),
      },
      readBuffer: (index) => {
        const param = params[index];
        if (param?.type !== 'i64') throw new RangeError(`argument ${index} of ${name} is not a pointer-size`);
        return readPointerSize(memory, param.value, `argument ${index} of ${name}`);
      },
      allocate: (data) => {
        const pointer = context.allocator.malloc(memory, data.length);
        memory.writeMemory(pointer, data);
        return pointer;
      },
      allocatePointerSize: (data) => packPointerSize(call.allocate(data), data.length),
    };
    const answer: unknown = yield* ask('the onHostCall handler', () => handler(call));
    if (answer === undefined) throw unsupported();
    const expected = signature.result;
    const value = answer as { type?: unknown; value?: unknown } | null;
    if (expected === null ? answer !== null : value?.type !== expected) {
      throw hostFunctionFailed(
        name,
        `the onHostCall handler answered with an unusable value: expected ${expected === null ? 'null' : `a WasmValue of type ${expected}`}`,
      );
    }
    return expected === null ? undefined : (value!.value as RawValue);
  });
}
