/**
 * The default runtime of the examples: the Rococo Asset Hub genesis runtime, from the chain spec
 * that `@substrate/connect-known-chains` ships (a devDependency: the examples live in the
 * repository, not in the package). The chain spec's genesis storage holds the runtime's code
 * under `:code`, zstd-compressed and hex-encoded, next to the rest of the genesis state.
 */

/** The storage key `:code`. */
const CODE_KEY = '0x3a636f6465';

/** The Asset Hub genesis: its code (hex, zstd-prefixed) and its whole genesis storage. */
export async function assetHubGenesis(): Promise<{ name: string; code: string; storage: Record<string, string> }> {
  const { chainSpec } = (await import('@substrate/connect-known-chains/rococo_v2_2_asset_hub')) as { chainSpec: string };
  const spec = JSON.parse(chainSpec) as { name: string; genesis: { raw: { top: Record<string, string> } } };
  const storage = spec.genesis.raw.top;
  return { name: spec.name, code: storage[CODE_KEY]!, storage };
}
