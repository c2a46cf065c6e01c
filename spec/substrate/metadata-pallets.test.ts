/**
 * The pallet count the CLI shows for `Metadata_metadata`: read by skipping the type registry,
 * for the versions that put the registry first, and `null` rather than a wrong number for
 * anything else.
 */
import { countMetadataPallets } from '../../lib/substrate/code/metadata-pallets.js';
import { syntheticMetadata } from '../support/synthetic-metadata.js';

describe('countMetadataPallets', () => {
  test.each([14, 15, 16])('version %i: the pallets after a registry using every kind of type', (version) => {
    expect(countMetadataPallets(syntheticMetadata(version, ['System', 'Balances', 'Staking']))).toBe(3);
    expect(countMetadataPallets(syntheticMetadata(version, []))).toBe(0);
  });

  test('a count of 64 pallets or more (a two-byte compact)', () => {
    const names = Array.from({ length: 70 }, (_, i) => `Pallet${i}`);
    expect(countMetadataPallets(syntheticMetadata(14, names))).toBe(70);
  });

  test('versions without a registry first are not guessed at', () => {
    expect(countMetadataPallets(syntheticMetadata(13, ['System']))).toBeNull();
    expect(countMetadataPallets(syntheticMetadata(17, ['System']))).toBeNull();
    expect(countMetadataPallets(Uint8Array.of(0x6d, 0x65, 0x74))).toBeNull();
  });

  test('metadata cut anywhere in the registry gives no count', () => {
    const whole = syntheticMetadata(14, ['System']);
    const registryEnd = whole.length - (1 + 7 + 4 + 3); // count, name, filler, tail
    for (let end = 5; end < registryEnd; end += 97) expect(countMetadataPallets(whole.subarray(0, end))).toBeNull();
  });

  test('a walk that lands on something other than a pallet name gives no count', () => {
    const metadata = syntheticMetadata(14, ['System']);
    // Change the registry's first type id's width: every later read is shifted.
    const shifted = Uint8Array.from(metadata);
    shifted[6] = 0x01; // the first type's id becomes a two-byte compact
    expect(countMetadataPallets(shifted)).toBeNull();
  });
});
