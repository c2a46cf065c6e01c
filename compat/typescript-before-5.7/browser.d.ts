/**
 * What TypeScript before 5.7 gets for `resumable-wasm/browser`, through the `types@<5.7` condition of the
 * package's `exports`. resumable-wasm's declarations use the generic `Uint8Array<ArrayBuffer>`
 * of TypeScript 5.7's standard library, which older versions reject ("Type 'Uint8Array' is not
 * generic") unless `skipLibCheck` is on. This file re-exports the declarations unchanged, so a
 * project with `skipLibCheck` keeps working, and adds one deliberate error whose text says what
 * to do: upgrade TypeScript to 5.7 or later, or turn `skipLibCheck` on.
 */
export * from '../../dist/browser/index.js';

interface ResumableWasmDeclarations {
  'resumable-wasm needs TypeScript 5.7 or later (or skipLibCheck: true)': true;
}
interface ThisTypeScriptIsOlderThan5_7 extends ResumableWasmDeclarations {
  'resumable-wasm needs TypeScript 5.7 or later (or skipLibCheck: true)': false;
}
