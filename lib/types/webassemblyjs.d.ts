// The parts of @webassemblyjs/wasm-parser's (untyped) API this library uses. The AST is typed
// where it is consumed, in module-facts.ts.
declare module '@webassemblyjs/wasm-parser' {
  export interface DecoderOpts {
    ignoreCodeSection?: boolean;
    ignoreDataSection?: boolean;
    ignoreCustomNameSection?: boolean;
  }
  export function decode(buffer: ArrayBuffer | Uint8Array, opts?: DecoderOpts): unknown;
}
