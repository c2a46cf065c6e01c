/**
 * What a module says about its own code for humans: function names (the `name` section,
 * demangled for Rust symbols) and source lines (DWARF `.debug_line`, as clang, rustc and
 * Emscripten write it with `-g`). Used to turn the engine's stack trace of a trap into guest
 * frames (`vm/backtrace.ts`).
 *
 * At load, only the raw sections are kept ({@link extractDebugSections}: copies, so the module's
 * bytes are not retained); they are parsed on the first trap that asks for its frames, since
 * most modules never trap and a runtime's name section alone has thousands of entries.
 *
 * DWARF addresses in WebAssembly are offsets from the start of the code section's contents
 * (after its size), which is what {@link DebugSections.codeStart} is for.
 *
 * @module
 */

import { BinaryReader, splitSections } from '../base/binary-reader.js';
import type { DebugSections } from '../base/components.js';

export type { DebugSections };

/** Copies the debugging sections of `bytes` (a module the engine validated). */
export function extractDebugSections(bytes: Uint8Array): DebugSections {
  let codeStart: number | null = null;
  const found: Record<string, Uint8Array> = {};
  for (const section of splitSections(bytes)) {
    if (section.id === 10) codeStart = section.payloadStart;
    if (section.id !== 0) continue;
    const r = new BinaryReader(bytes, section.payloadStart, section.end);
    let name: string;
    try {
      name = r.name();
    } catch {
      continue;
    }
    if (name === 'name' || name === '.debug_line' || name === '.debug_line_str' || name === '.debug_str') {
      found[name] ??= bytes.slice(r.pos, section.end);
    }
  }
  return {
    codeStart,
    name: found['name'] ?? null,
    debugLine: found['.debug_line'] ?? null,
    debugLineStr: found['.debug_line_str'] ?? null,
    debugStr: found['.debug_str'] ?? null,
  };
}

/** Offset of the first byte of the code section's contents in `bytes`, or `null` if it has none. */
export function codeSectionStart(bytes: Uint8Array): number | null {
  for (const section of splitSections(bytes)) if (section.id === 10) return section.payloadStart;
  return null;
}

/** The number of imported functions of `bytes` and where each function body starts (see `BacktraceFacts.engineFunctions`). */
export function functionBodyStarts(bytes: Uint8Array): { imported: number; bodyStarts: Uint32Array } {
  let imported = 0;
  const starts: number[] = [];
  for (const section of splitSections(bytes)) {
    const r = new BinaryReader(bytes, section.payloadStart, section.end);
    if (section.id === 2) {
      for (let i = 0, n = r.u32(); i < n; i++) {
        r.skip(r.u32()); // module and field names: only their lengths matter here
        r.skip(r.u32());
        const kind = r.u8();
        try {
          r.skipImportDescriptor(kind);
        } catch {
          return { imported, bodyStarts: new Uint32Array(0) }; // an import kind the reader does not know
        }
        if (kind === 0) imported++;
      }
    } else if (section.id === 10) {
      for (let i = 0, n = r.u32(); i < n; i++) {
        starts.push(r.pos);
        const size = r.u32();
        r.pos += size;
      }
    }
  }
  return { imported, bodyStarts: Uint32Array.from(starts) };
}

/** The function names of a `name` section's contents, by function index; malformed parts are ignored. */
export function parseFunctionNames(section: Uint8Array): Map<number, string> {
  const names = new Map<number, string>();
  const r = new BinaryReader(section);
  try {
    while (!r.done) {
      const id = r.u8();
      const size = r.u32();
      const end = r.pos + size;
      if (id === 1) {
        const sub = new BinaryReader(section, r.pos, end);
        for (let i = 0, n = sub.u32(); i < n; i++) {
          const index = sub.u32();
          names.set(index, sub.name());
        }
      }
      r.pos = end;
    }
  } catch {
    // A truncated or malformed name section: keep what was read.
  }
  return names;
}

/** `$..$` escapes of Rust's legacy mangling. */
const RUST_ESCAPES: Readonly<Record<string, string>> = {
  SP: '@',
  BP: '*',
  RF: '&',
  LT: '<',
  GT: '>',
  LP: '(',
  RP: ')',
  C: ',',
};

/**
 * `name` demangled if it is a Rust symbol in the legacy mangling (`_ZN4core9panicking5panic17h…E`
 * is `core::panicking::panic`, the hash dropped), else `name` itself. Symbols of Rust's v0
 * mangling (`_R…`) and of C++ are returned as they are.
 */
export function demangle(name: string): string {
  const start = name.startsWith('_ZN') ? 3 : name.startsWith('__ZN') ? 4 : name.startsWith('ZN') ? 2 : -1;
  if (start < 0) return name;
  const parts: string[] = [];
  let pos = start;
  while (pos < name.length && name[pos] !== 'E') {
    let digits = '';
    while (pos < name.length && name[pos]! >= '0' && name[pos]! <= '9') digits += name[pos++];
    const length = Number(digits);
    if (digits === '' || pos + length > name.length) return name;
    parts.push(name.slice(pos, pos + length));
    pos += length;
  }
  if (pos >= name.length || parts.length === 0) return name;
  if (parts.length > 1 && /^h[0-9a-f]{16}$/.test(parts[parts.length - 1]!)) parts.pop();
  const unescaped = parts.map((part) => {
    let text = part.startsWith('_$') ? part.slice(1) : part;
    text = text.replace(/\.\./g, '::');
    text = text.replace(/\$([A-Z]+|u[0-9a-f]+)\$/g, (whole, code: string) => {
      if (code.startsWith('u')) return String.fromCodePoint(parseInt(code.slice(1), 16));
      return RUST_ESCAPES[code] ?? whole;
    });
    return text;
  });
  return unescaped.join('::');
}

/** A source position. */
export interface SourceLocation {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based, or `null` when the table does not say. */
  readonly column: number | null;
}

/** One sequence of a line table: rows sorted by address, up to `end` (exclusive). */
interface Sequence {
  readonly start: number;
  readonly end: number;
  readonly addresses: readonly number[];
  readonly rows: readonly { readonly file: string | null; readonly line: number; readonly column: number }[];
}

/** A parsed `.debug_line` section: code offsets (relative to the code section's contents) to source positions. */
export class LineTable {
  private constructor(private readonly sequences: readonly Sequence[]) {}

  /** Parses `sections.debugLine`; `null` if there is none. A malformed unit ends the parse (the units before it are kept). */
  static parse(sections: DebugSections): LineTable | null {
    if (sections.debugLine === null) return null;
    const sequences: Sequence[] = [];
    try {
      parseLineUnits(sections, sequences);
    } catch {
      // Keep the sequences read so far.
    }
    sequences.sort((a, b) => a.start - b.start);
    return new LineTable(sequences);
  }

  /** The source position of the instruction at `address` (relative to the code section's contents), or `null`. */
  lookup(address: number): SourceLocation | null {
    const sequences = this.sequences;
    let lo = 0;
    let hi = sequences.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = sequences[mid]!;
      if (address < s.start) hi = mid - 1;
      else if (address >= s.end) lo = mid + 1;
      else return locate(s, address);
    }
    // Overlapping sequences (rare): a linear search.
    for (const s of sequences) if (address >= s.start && address < s.end) return locate(s, address);
    return null;
  }
}

function locate(s: Sequence, address: number): SourceLocation | null {
  let lo = 0;
  let hi = s.addresses.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (s.addresses[mid]! <= address) lo = mid;
    else hi = mid - 1;
  }
  const row = s.rows[lo]!;
  if (row.line === 0 || row.file === null) return null;
  return { file: row.file, line: row.line, column: row.column === 0 ? null : row.column };
}

/** A cursor over DWARF data (little-endian). */
class Dwarf {
  constructor(
    readonly bytes: Uint8Array,
    public pos = 0,
  ) {}

  u8(): number {
    if (this.pos >= this.bytes.length) throw new Error('unexpected end of DWARF data');
    return this.bytes[this.pos++]!;
  }

  u16(): number {
    return this.u8() | (this.u8() << 8);
  }

  u32(): number {
    return (this.u8() | (this.u8() << 8) | (this.u8() << 16) | (this.u8() << 24)) >>> 0;
  }

  /** An offset of 4 or 8 bytes; an 8-byte one must fit in 2^53. */
  offset(dwarf64: boolean): number {
    if (!dwarf64) return this.u32();
    const low = this.u32();
    return low + this.u32() * 2 ** 32;
  }

  uleb(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      const byte = this.u8();
      result += (byte & 0x7f) * scale;
      scale *= 128;
      if ((byte & 0x80) === 0) return result;
    }
  }

  sleb(): number {
    let result = 0;
    let scale = 1;
    let byte: number;
    do {
      byte = this.u8();
      result += (byte & 0x7f) * scale;
      scale *= 128;
    } while ((byte & 0x80) !== 0);
    return (byte & 0x40) !== 0 ? result - scale : result;
  }

  /** A NUL-terminated UTF-8 string. */
  cstring(): string {
    const start = this.pos;
    while (this.u8() !== 0) {
      // up to the NUL
    }
    return new TextDecoder().decode(this.bytes.subarray(start, this.pos - 1));
  }
}

/** The NUL-terminated string at `offset` of `section`. */
function stringAt(section: Uint8Array | null, offset: number): string {
  if (section === null || offset >= section.length) return '?';
  return new Dwarf(section, offset).cstring();
}

/** Joins a directory and a file name, unless the name is absolute or the directory empty. */
function joinPath(directory: string, file: string): string {
  if (directory === '' || file.startsWith('/') || /^[A-Za-z]:[\\/]/.test(file)) return file;
  return `${directory.replace(/[\\/]$/, '')}/${file}`;
}

const DW_FORM = { block: 0x09, data1: 0x0b, data2: 0x05, data4: 0x06, data8: 0x07, data16: 0x1e, string: 0x08, strp: 0x0e, udata: 0x0f, lineStrp: 0x1f };

/** Reads one attribute of a DWARF 5 directory or file entry; strings are returned, numbers as numbers. */
function readForm(d: Dwarf, form: number, dwarf64: boolean, sections: DebugSections): string | number {
  switch (form) {
    case DW_FORM.string:
      return d.cstring();
    case DW_FORM.lineStrp:
      return stringAt(sections.debugLineStr, d.offset(dwarf64));
    case DW_FORM.strp:
      return stringAt(sections.debugStr, d.offset(dwarf64));
    case DW_FORM.udata:
      return d.uleb();
    case DW_FORM.data1:
      return d.u8();
    case DW_FORM.data2:
      return d.u16();
    case DW_FORM.data4:
      return d.u32();
    case DW_FORM.data8:
      d.pos += 8;
      return 0;
    case DW_FORM.data16:
      d.pos += 16;
      return 0;
    case DW_FORM.block:
      d.pos += d.uleb();
      return 0;
    default:
      throw new Error(`unsupported DWARF form 0x${form.toString(16)} in a line table header`);
  }
}

/** Reads the DWARF 5 entry list of a line table header (directories or files): for each, its path and directory index. */
function readEntries(d: Dwarf, dwarf64: boolean, sections: DebugSections): { path: string; directory: number }[] {
  const formats: [number, number][] = [];
  for (let i = 0, n = d.u8(); i < n; i++) formats.push([d.uleb(), d.uleb()]);
  const entries: { path: string; directory: number }[] = [];
  for (let i = 0, n = d.uleb(); i < n; i++) {
    let path = '';
    let directory = 0;
    for (const [content, form] of formats) {
      const value = readForm(d, form, dwarf64, sections);
      if (content === 1) path = String(value); // DW_LNCT_path
      if (content === 2) directory = Number(value); // DW_LNCT_directory_index
    }
    entries.push({ path, directory });
  }
  return entries;
}

/** Parses every unit of `.debug_line` into `sequences`. */
function parseLineUnits(sections: DebugSections, sequences: Sequence[]): void {
  const data = sections.debugLine!;
  const d = new Dwarf(data);
  while (d.pos < data.length) {
    let unitLength = d.u32();
    const dwarf64 = unitLength === 0xffff_ffff;
    if (dwarf64) unitLength = d.offset(true);
    const unitEnd = d.pos + unitLength;
    const version = d.u16();
    if (version < 2 || version > 5) throw new Error(`DWARF line table version ${version}`);
    if (version >= 5) {
      d.u8(); // address_size
      d.u8(); // segment_selector_size
    }
    const headerLength = d.offset(dwarf64);
    const programStart = d.pos + headerLength;
    const minInstructionLength = d.u8();
    if (version >= 4) d.u8(); // maximum_operations_per_instruction
    const defaultIsStmt = d.u8() !== 0;
    const lineBase = (d.u8() << 24) >> 24;
    const lineRange = d.u8();
    const opcodeBase = d.u8();
    const standardLengths: number[] = [];
    for (let i = 1; i < opcodeBase; i++) standardLengths.push(d.u8());

    // File names, resolved to paths. DWARF 5 numbers files from 0, earlier versions from 1.
    const files: (string | null)[] = [];
    if (version >= 5) {
      // Directory 0 is the compilation directory: files in it are named relative to it, as in
      // earlier versions (where it is implicit).
      const directories = readEntries(d, dwarf64, sections).map((e, i) => (i === 0 ? '' : e.path));
      for (const f of readEntries(d, dwarf64, sections)) files.push(joinPath(directories[f.directory] ?? '', f.path));
    } else {
      const directories = [''];
      for (let dir = d.cstring(); dir !== ''; dir = d.cstring()) directories.push(dir);
      files.push(null);
      for (let name = d.cstring(); name !== ''; name = d.cstring()) {
        const directory = d.uleb();
        d.uleb(); // mtime
        d.uleb(); // length
        files.push(joinPath(directories[directory] ?? '', name));
      }
    }

    d.pos = programStart;
    let address = 0;
    let file = 1;
    let line = 1;
    let column = 0;
    let addresses: number[] = [];
    let rows: { file: string | null; line: number; column: number }[] = [];
    void defaultIsStmt;
    const emit = (): void => {
      addresses.push(address);
      rows.push({ file: files[file] ?? null, line, column });
    };
    const reset = (): void => {
      address = 0;
      file = 1;
      line = 1;
      column = 0;
    };
    while (d.pos < unitEnd) {
      const opcode = d.u8();
      if (opcode >= opcodeBase) {
        const adjusted = opcode - opcodeBase;
        address += Math.floor(adjusted / lineRange) * minInstructionLength;
        line += lineBase + (adjusted % lineRange);
        emit();
      } else if (opcode === 0) {
        const length = d.uleb();
        const end = d.pos + length;
        const sub = d.u8();
        if (sub === 1) {
          // DW_LNE_end_sequence
          if (addresses.length > 0) sequences.push({ start: addresses[0]!, end: address, addresses, rows });
          addresses = [];
          rows = [];
          reset();
        } else if (sub === 2) {
          // DW_LNE_set_address (4 bytes on wasm32; 8 on wasm64)
          address = length - 1 >= 8 ? d.offset(true) : d.u32();
        } else if (sub === 3 && version < 5) {
          // DW_LNE_define_file
          const name = d.cstring();
          const directory = d.uleb();
          files.push(directory === 0 ? name : `${directory}/${name}`);
        }
        d.pos = end;
      } else {
        switch (opcode) {
          case 1: // copy
            emit();
            break;
          case 2: // advance_pc
            address += d.uleb() * minInstructionLength;
            break;
          case 3: // advance_line
            line += d.sleb();
            break;
          case 4: // set_file
            file = d.uleb();
            break;
          case 5: // set_column
            column = d.uleb();
            break;
          case 8: // const_add_pc
            address += Math.floor((255 - opcodeBase) / lineRange) * minInstructionLength;
            break;
          case 9: // fixed_advance_pc
            address += d.u16();
            break;
          default:
            // negate_stmt, set_basic_block, set_prologue_end, set_epilogue_begin, set_isa and
            // unknown ones: skip their operands.
            for (let i = 0; i < (standardLengths[opcode - 1] ?? 0); i++) d.uleb();
        }
      }
    }
    d.pos = unitEnd;
  }
}
