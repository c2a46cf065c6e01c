/**
 * A module larger than Chromium's 8 MB limit on synchronous compilation and instantiation on a
 * page's main thread, cheaply: almost all of it one data segment. It imports `env`.`ask`
 * (() -> i32), exports `memory` (starting with the segment, growable) and `main`, which returns
 * what `ask` answers. Written directly in the binary format (the text format of 9 MB of data
 * would be three times larger and slow to parse).
 */

function uleb(value: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (value !== 0);
  return bytes;
}

function section(id: number, content: number[] | Uint8Array): Uint8Array {
  const body = content instanceof Uint8Array ? content : Uint8Array.from(content);
  const head = [id, ...uleb(body.length)];
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

const name = (text: string): number[] => [...uleb(text.length), ...new TextEncoder().encode(text)];

/** The module, with a data segment of `dataBytes` bytes (byte i is `i % 251`) at address 0. */
export function largeModule(dataBytes: number): Uint8Array {
  const pages = Math.ceil(dataBytes / 65536) + 1;
  const data = new Uint8Array(dataBytes);
  for (let i = 0; i < dataBytes; i++) data[i] = i % 251;
  const dataHead = [1, 0x00, 0x41, 0x00, 0x0b, ...uleb(dataBytes)]; // one active segment, memory 0, (i32.const 0)
  const dataSection = new Uint8Array(dataHead.length + dataBytes);
  dataSection.set(dataHead);
  dataSection.set(data, dataHead.length);
  const parts = [
    Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00),
    section(1, [1, 0x60, 0, 1, 0x7f]), // type 0: () -> i32
    section(2, [1, ...name('env'), ...name('ask'), 0x00, 0]), // import env.ask: type 0
    section(3, [1, 0]), // function 1: type 0
    section(5, [1, 0x01, ...uleb(pages), ...uleb(pages + 16)]), // memory: pages .. pages + 16
    section(7, [2, ...name('memory'), 0x02, 0, ...name('main'), 0x00, 1]),
    section(10, [1, 4, 0, 0x10, 0, 0x0b]), // main: call 0
    section(11, dataSection),
  ];
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
