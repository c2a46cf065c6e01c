/**
 * The heap allocator's host functions: `ext_allocator_malloc_version_1(size: i32) -> i32` and
 * `ext_allocator_free_version_1(pointer: i32)`.
 *
 * A runtime has no allocator of its own: every `Vec` it builds comes from the host, which owns
 * the memory above `__heap_base`. Each call has its own {@link FreeingBumpAllocator}
 * (Substrate's allocator, byte for byte: power-of-two sizes with an 8-byte header, which newer
 * runtimes rely on), and the host uses the same one for everything it hands back. Both
 * functions run inline: a runtime calls them tens of thousands of times per call.
 *
 * @module
 */

import { type HostFunctionTable, i32, inline, sig } from './definition.js';

/** The allocator's host functions, by import name. */
export const ALLOCATOR_HOST_FUNCTIONS: HostFunctionTable = {
  ext_allocator_malloc_version_1: inline(sig([i32], i32), (context, memory, [size]) => context.allocator.malloc(memory, size as number) | 0),
  ext_allocator_free_version_1: inline(sig([i32], null), (context, memory, [pointer]) => {
    context.allocator.free(memory, pointer as number);
    return undefined;
  }),
};
