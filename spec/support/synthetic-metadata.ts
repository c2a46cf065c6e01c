/**
 * Test helper: runtime metadata built by hand, with a type registry that uses every kind of
 * type definition and every width of SCALE compact, then a pallet list. Only what the pallet
 * count reads is realistic (the registry, the count, the first pallet's name); the rest of each
 * pallet is filler.
 */
import { compact, str } from 'scale-ts';

const concat = (...parts: (Uint8Array | readonly number[])[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
};
const c = (n: number): Uint8Array => compact.enc(n);
const s = (text: string): Uint8Array => str.enc(text);
const vec = (items: readonly Uint8Array[]): Uint8Array => concat(c(items.length), ...items);
const none = [0];
const some = (value: Uint8Array): Uint8Array => concat([1], value);
const field = (name: string | null, type: number, typeName: string | null, docs: readonly string[]): Uint8Array =>
  concat(name === null ? none : some(s(name)), c(type), typeName === null ? none : some(s(typeName)), vec(docs.map(s)));
const type = (id: number, path: readonly string[], params: readonly [string, number | null][], def: Uint8Array, docs: readonly string[]) =>
  concat(c(id), vec(path.map(s)), vec(params.map(([name, ty]) => concat(s(name), ty === null ? none : some(c(ty))))), def, vec(docs.map(s)));

/** A registry with one type of each definition kind (tags 0 to 7) and compacts of 1, 2 and 4 bytes. */
export function syntheticRegistry(): Uint8Array {
  const longDoc = 'x'.repeat(17_000); // a 4-byte compact length
  return vec([
    type(0, ['my', 'Composite'], [['T', 1], ['U', null]], concat([0], vec([field('a', 1, 'u32', ['a field']), field(null, 300, null, [])])), ['docs']),
    type(1, [], [], concat([5], [3]), []), // Primitive u32
    type(2, ['Enum'], [], concat([1], vec([concat(s('A'), vec([field(null, 1, null, [])]), [0], vec([s('variant docs')])), concat(s('B'), vec([]), [7], vec([]))])), []),
    type(3, [], [], concat([2], c(1)), []), // Sequence
    type(4, [], [], concat([3], [32, 0, 0, 0], c(1)), [longDoc]), // Array [u32; 32]
    type(5, [], [], concat([4], vec([c(1), c(3)])), []), // Tuple
    type(6, [], [], concat([6], c(1)), []), // Compact
    type(300, ['bits'], [], concat([7], c(1), c(300)), ['y'.repeat(70)]), // BitSequence, a 2-byte compact id and length
  ]);
}

/**
 * Metadata proper (`meta`, the version byte, the registry, the pallets): `pallets` are the
 * pallets' names, each followed by filler bytes that stand for the rest of the pallet.
 */
export function syntheticMetadata(version: number, pallets: readonly string[]): Uint8Array {
  const palletList = vec(pallets.map((name) => concat(s(name), [0xde, 0xad, 0xbe, 0xef])));
  return concat([0x6d, 0x65, 0x74, 0x61, version], syntheticRegistry(), palletList, [0, 0, 0]);
}

/** `metadata` as `Metadata_metadata` returns it: a SCALE `Vec<u8>` (`OpaqueMetadata`). */
export function opaqueMetadata(metadata: Uint8Array): Uint8Array {
  return concat(c(metadata.length), metadata);
}
