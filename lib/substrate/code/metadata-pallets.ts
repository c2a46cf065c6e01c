/**
 * How many pallets a runtime's metadata lists, read without decoding the metadata.
 *
 * Since version 14 the metadata (after `meta` and the version byte) starts with the type
 * registry (`PortableRegistry`), and the list of pallets comes right after it, in versions 14,
 * 15 and 16 alike. The registry's encoding is self-delimiting, so it can be skipped with a
 * cursor that reads only lengths and tags, and the pallet count is the compact number that
 * follows. This is what a display needs ("62 pallets") without a metadata library; anything
 * more (names, calls, storage) is that library's job.
 *
 * The registry, as SCALE encodes it (`scale-info`'s portable form, type ids as compact `u32`):
 *
 * ```text
 * registry  = Vec<(compact id, Type)>
 * Type      = path: Vec<String>, params: Vec<(String, Option<compact>)>, def: TypeDef, docs: Vec<String>
 * TypeDef   = 0 Composite(Vec<Field>) | 1 Variant(Vec<(String, Vec<Field>, u8, Vec<String>)>)
 *           | 2 Sequence(compact) | 3 Array(u32, compact) | 4 Tuple(Vec<compact>) | 5 Primitive(u8)
 *           | 6 Compact(compact) | 7 BitSequence(compact, compact)
 * Field     = name: Option<String>, type: compact, typeName: Option<String>, docs: Vec<String>
 * ```
 *
 * @module
 */

/** The metadata versions whose pallet list follows the type registry. */
const REGISTRY_FIRST_VERSIONS: readonly number[] = [14, 15, 16];

/** A forward-only reader of SCALE values; throws `RangeError` past the end. */
class Cursor {
  pos = 0;
  constructor(private readonly bytes: Uint8Array) {}

  u8(): number {
    if (this.pos >= this.bytes.length) throw new RangeError('the metadata ends early');
    return this.bytes[this.pos++]!;
  }

  skip(count: number): void {
    if (count > this.bytes.length - this.pos) throw new RangeError('the metadata ends early');
    this.pos += count;
  }

  /** A SCALE compact integer (only values up to 2^53 are needed: lengths and type ids). */
  compact(): number {
    const first = this.u8();
    switch (first & 3) {
      case 0:
        return first >>> 2;
      case 1:
        return (first | (this.u8() << 8)) >>> 2;
      case 2:
        return (first | (this.u8() << 8) | (this.u8() << 16) | (this.u8() << 24)) >>> 2;
      default: {
        const length = (first >>> 2) + 4;
        if (length > 6) throw new RangeError('a compact length beyond 2^48');
        let value = 0;
        for (let i = 0; i < length; i++) value += this.u8() * 2 ** (8 * i);
        return value;
      }
    }
  }

  /** A `Vec<T>`, calling `item` once per element. */
  vec(item: () => void): void {
    for (let i = 0, n = this.compact(); i < n; i++) item();
  }

  string(): void {
    this.skip(this.compact());
  }

  /** An `Option<T>`. */
  option(item: () => void): void {
    const tag = this.u8();
    if (tag === 1) item();
    else if (tag !== 0) throw new RangeError(`an Option tag of ${tag}`);
  }

  /** The next string, read (not skipped). */
  readString(): string {
    const length = this.compact();
    const start = this.pos;
    this.skip(length);
    return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes.subarray(start, this.pos));
  }
}

function skipField(c: Cursor): void {
  c.option(() => c.string());
  c.compact();
  c.option(() => c.string());
  c.vec(() => c.string());
}

function skipTypeDef(c: Cursor): void {
  const tag = c.u8();
  switch (tag) {
    case 0:
      return c.vec(() => skipField(c));
    case 1:
      return c.vec(() => {
        c.string();
        c.vec(() => skipField(c));
        c.u8();
        c.vec(() => c.string());
      });
    case 2:
    case 6:
      return void c.compact();
    case 3:
      c.skip(4);
      return void c.compact();
    case 4:
      return c.vec(() => c.compact());
    case 5:
      return void c.u8();
    case 7:
      c.compact();
      return void c.compact();
    default:
      throw new RangeError(`a type definition with tag ${tag}`);
  }
}

/**
 * The number of pallets in `metadata` (the metadata proper, starting with `meta` and the
 * version byte, as `decodeOpaqueMetadata` returns it), or `null` if it cannot be read cheaply:
 * a version before 14 or after 16, or bytes that do not have the expected shape. The walk is
 * checked by reading the first pallet's name, which must be an identifier.
 */
export function countMetadataPallets(metadata: Uint8Array): number | null {
  if (metadata.length < 5 || !REGISTRY_FIRST_VERSIONS.includes(metadata[4]!)) return null;
  const c = new Cursor(metadata.subarray(5));
  try {
    c.vec(() => {
      c.compact();
      c.vec(() => c.string());
      c.vec(() => {
        c.string();
        c.option(() => c.compact());
      });
      skipTypeDef(c);
      c.vec(() => c.string());
    });
    const pallets = c.compact();
    if (pallets > 0 && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(c.readString())) return null;
    return pallets;
  } catch {
    // Not the shape above (or not valid UTF-8 where a name should be): no count to give.
    return null;
  }
}
