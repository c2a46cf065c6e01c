/**
 * A minimal reader of a module's import and start sections, so that the harness can tell *before*
 * asking the VM which modules fall into a skip class (imports the VM cannot offer, a start
 * function) and compare that with the VM's refusal.
 *
 * It deliberately does not use the library's own header reader: the harness must only use the
 * public API, and a second, independent reader is what makes the comparison worth anything.
 *
 * @module
 */

/** The kind of an import, as the binary format numbers them. */
export type ImportKind = 'function' | 'table' | 'memory' | 'global';

/** One import of a module. */
export interface ModuleImport {
  readonly module: string;
  readonly name: string;
  readonly kind: ImportKind;
}

/** What the harness needs to know about a module before instantiating it. */
export interface ModuleHeader {
  readonly imports: readonly ModuleImport[];
  /** Whether the module has a start section. */
  readonly hasStart: boolean;
}

const IMPORT_KINDS: readonly ImportKind[] = ['function', 'table', 'memory', 'global'];

/** A cursor over the bytes of a module; every read throws past `end`. */
class Cursor {
  constructor(
    private readonly bytes: Uint8Array,
    public pos: number,
    public readonly end: number,
  ) {}

  byte(): number {
    if (this.pos >= this.end) throw new Error('unexpected end');
    return this.bytes[this.pos++]!;
  }

  /** An unsigned LEB128 of at most 32 bits. */
  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new Error('LEB128 too long');
  }

  name(): string {
    const length = this.u32();
    if (this.pos + length > this.end) throw new Error('unexpected end');
    const text = new TextDecoder('utf-8', { fatal: true }).decode(this.bytes.subarray(this.pos, this.pos + length));
    this.pos += length;
    return text;
  }

  limits(): void {
    const flags = this.u32();
    this.u32();
    if (flags & 1) this.u32();
  }
}

/**
 * The imports and start function of `bytes`, or `null` if the header cannot be read (a malformed
 * module: the VM must refuse it anyway, and no skip class applies).
 */
export function readModuleHeader(bytes: Uint8Array): ModuleHeader | null {
  try {
    return read(bytes);
  } catch {
    return null;
  }
}

function read(bytes: Uint8Array): ModuleHeader {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new Error('not a binary module');
  }
  const imports: ModuleImport[] = [];
  let hasStart = false;
  const top = new Cursor(bytes, 8, bytes.length);
  while (top.pos < top.end) {
    const id = top.byte();
    const size = top.u32();
    const end = top.pos + size;
    if (end > bytes.length) throw new Error('section past the end');
    if (id === 2) {
      const r = new Cursor(bytes, top.pos, end);
      for (let i = 0, n = r.u32(); i < n; i++) {
        const module = r.name();
        const name = r.name();
        const kindByte = r.byte();
        const kind = IMPORT_KINDS[kindByte];
        if (kind === undefined) throw new Error(`unknown import kind ${kindByte}`);
        if (kind === 'function') r.u32();
        else if (kind === 'table') {
          r.byte();
          r.limits();
        } else if (kind === 'memory') r.limits();
        else {
          r.byte();
          r.byte();
        }
        imports.push({ module, name, kind });
      }
    } else if (id === 8) {
      hasStart = true;
    }
    top.pos = end;
  }
  return { imports, hasStart };
}
