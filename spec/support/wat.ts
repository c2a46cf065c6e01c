/**
 * Test helper: compiles WebAssembly text to a binary with wabt. Non-ASCII characters must be
 * written as `\xx` escapes in string literals (wabt reads the source as bytes).
 */
import wabtInit from 'wabt';

type Wabt = Awaited<ReturnType<typeof wabtInit>>;
let wabt: Wabt | null = null;

/** Every feature wabt knows, so that tests can build modules the VM must refuse. */
const ALL_FEATURES = {
  exceptions: true,
  mutable_globals: true,
  sat_float_to_int: true,
  sign_extension: true,
  simd: true,
  threads: true,
  multi_value: true,
  tail_call: true,
  bulk_memory: true,
  reference_types: true,
  memory64: true,
  extended_const: true,
} as const;

/** The binary encoding of the module written in `source` (with a `name` section if `names`). */
export async function wat(source: string, options: { readonly names?: boolean } = {}): Promise<Uint8Array> {
  wabt ??= await wabtInit();
  const module = wabt.parseWat('test.wat', source, ALL_FEATURES);
  try {
    module.resolveNames();
    // No wabt validation: it ignores some enabled features (shared memories), and every test
    // hands the bytes to the engine, which validates them.
    return new Uint8Array(module.toBinary({ write_debug_names: options.names === true }).buffer);
  } finally {
    module.destroy();
  }
}
