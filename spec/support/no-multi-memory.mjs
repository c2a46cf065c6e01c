// An engine without multi-memory (JavaScriptCore: every Safari, WebKitGTK, WPE), simulated for
// spec/single-memory.test.ts in a process of its own: before the library loads, the engine's
// WebAssembly API is made to refuse every module with more than one memory (validation,
// compilation, instantiation from bytes), as such an engine does. Then the built package
// (argv[2]) is asked what that engine would get: the files of argv[3] (JSON: the guest module
// `module`, and artifacts of it made elsewhere with each placement). Prints one JSON object.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** How many memories `bytes` declare (imported and defined), from the import and memory sections. */
function memoryCount(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(ArrayBuffer.isView(bytes) ? bytes.buffer : bytes);
  let at = 8;
  let count = 0;
  const leb = () => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = b[at++];
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if ((byte & 0x80) === 0) return result;
    }
  };
  const name = () => {
    const length = leb();
    at += length;
  };
  const limits = () => {
    const flags = b[at++];
    leb();
    if (flags & 1) leb();
  };
  while (at < b.length) {
    const id = b[at++];
    const size = leb();
    const end = at + size;
    if (id === 2) {
      for (let n = leb(); n > 0; n--) {
        name();
        name();
        const kind = b[at++];
        if (kind === 0) leb();
        else if (kind === 1) {
          at++;
          limits();
        } else if (kind === 2) {
          count++;
          limits();
        } else if (kind === 3) at += 2;
      }
    } else if (id === 5) {
      count += leb();
    }
    at = end;
  }
  return count;
}

const refused = () => new WebAssembly.CompileError('multiple memories are not supported');
const original = { validate: WebAssembly.validate, compile: WebAssembly.compile, Module: WebAssembly.Module, instantiate: WebAssembly.instantiate };
WebAssembly.validate = (bytes, ...rest) => memoryCount(bytes) <= 1 && original.validate(bytes, ...rest);
WebAssembly.compile = (bytes, ...rest) => (memoryCount(bytes) <= 1 ? original.compile(bytes, ...rest) : Promise.reject(refused()));
WebAssembly.instantiate = (source, ...rest) =>
  source instanceof original.Module || memoryCount(source) <= 1 ? original.instantiate(source, ...rest) : Promise.reject(refused());
WebAssembly.Module = function Module(bytes, ...rest) {
  if (memoryCount(bytes) > 1) throw refused();
  return new original.Module(bytes, ...rest);
};
Object.assign(WebAssembly.Module, { imports: original.Module.imports, exports: original.Module.exports, customSections: original.Module.customSections });
WebAssembly.Module.prototype = original.Module.prototype;

const { VirtualMachinePrototype, WasmValue } = await import(pathToFileURL(process.argv[2]).href);
const files = JSON.parse(process.argv[3]);
const moduleBytes = new Uint8Array(readFileSync(files.module));
const config = (extra = {}) => ({ moduleBytes, symbols: () => 0, features: ['default', 'bulk-memory'], ...extra });

/** Runs a pausing call of `proto` to its end: its outcome's type. */
async function run(proto) {
  const vm = proto.prepare().start('attempt', [WasmValue.i32(20), WasmValue.i32(0)]);
  let outcome = await vm.runAsync(null);
  while (outcome.type === 'interrupted') outcome = await vm.runAsync(WasmValue.i32(0));
  return outcome.type;
}

/** What a refusal was: its class, kind, and whether its message names multi-memory. */
async function refusal(promise) {
  try {
    await promise;
    return 'accepted';
  } catch (e) {
    return { name: e.name, kind: e.kind, namesWhy: /multi-memory/.test(e.message) };
  }
}

const result = {};
// The probe the library makes sees what such an engine says.
result.probe = WebAssembly.validate(Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 5, 2, 0, 0, 0, 0));
const auto = await VirtualMachinePrototype.create(config());
result.auto = { asyncifyStack: auto.asyncifyStack, outcome: await run(auto) };
const suspending = Object.getOwnPropertyDescriptor(WebAssembly, 'Suspending');
delete WebAssembly.Suspending;
const chosen = await VirtualMachinePrototype.create(config({ backend: 'auto' }));
Object.defineProperty(WebAssembly, 'Suspending', suspending);
result.autoBackendWithoutJspi = { backend: chosen.backend, asyncifyStack: chosen.asyncifyStack };
result.secondMemory = await refusal(VirtualMachinePrototype.create(config({ asyncifyStack: 'second-memory' })));
result.secondMemoryArtifact = await refusal(VirtualMachinePrototype.fromArtifact(readFileSync(files['second-memory']), config()));
const single = await VirtualMachinePrototype.fromArtifact(readFileSync(files['single-memory']), config());
result.singleMemoryArtifact = { asyncifyStack: single.asyncifyStack, outcome: await run(single) };
result.singleMemoryArtifactAsSecond = await refusal(
  VirtualMachinePrototype.fromArtifact(readFileSync(files['single-memory']), config({ asyncifyStack: 'second-memory' })),
);
process.stdout.write(JSON.stringify(result));
