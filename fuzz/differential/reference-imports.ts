/**
 * With reference types, `wasm-opt -ttf` gives almost every module imports the VM can never
 * provide: an `externref` global (`__fuzz_import.extern$`), and `fuzzing-support` functions
 * that take or return references (`table-get`, `table-set`, `call-ref`, `call-ref-catch`). The
 * VM only imports functions whose values cross its API (numbers, at most one result), so such
 * modules would all be refused and nothing of reference types would be compared.
 *
 * This rewrite turns each of those imports into a definition of the same type, with Binaryen
 * (which refers to functions and globals by name, so every use stays valid): an imported
 * global becomes a defined one holding its type's zero (`ref.null` for references); an imported
 * function whose signature cannot cross becomes a function that returns zeros and does nothing
 * else. Both sides of the comparison run the rewritten module, so what the stubs do only has to
 * be deterministic.
 *
 * @module
 */

type Binaryen = typeof import('binaryen').default;

let binaryenPromise: Promise<Binaryen> | null = null;

/** The Binaryen features of the `'modern'` profile. */
function modernFeatures(binaryen: Binaryen): number {
  const F = binaryen.Features;
  return (
    F.MVP |
    F.SignExt |
    F.NontrappingFPToInt |
    F.MutableGlobals |
    F.BulkMemory |
    F.BulkMemoryOpt |
    F.Multivalue |
    F.ReferenceTypes |
    F.CallIndirectOverlong
  );
}

/**
 * `bytes` with every global import, and every function import whose signature has a reference
 * type or several results, replaced by a definition as described above; `null` if it has none.
 */
export async function defineUnsupportedImports(bytes: Uint8Array): Promise<Uint8Array | null> {
  binaryenPromise ??= import('binaryen').then((m) => m.default);
  const binaryen = await binaryenPromise;
  const features = modernFeatures(binaryen);
  const read = binaryen.readBinary as (data: Uint8Array, features?: number) => ReturnType<Binaryen['readBinary']>;
  const module = read(bytes, features);
  try {
    module.setFeatures(features);
    const numbers = new Set([binaryen.i32, binaryen.i64, binaryen.f32, binaryen.f64]);
    const zero = (type: number): number => {
      if (type === binaryen.i32) return module.i32.const(0);
      if (type === binaryen.i64) return module.i64.const(0, 0);
      if (type === binaryen.f32) return module.f32.const(0);
      if (type === binaryen.f64) return module.f64.const(0);
      return module.ref.null(type);
    };
    let changed = false;

    // Every global is removed and added again in its order, the imported ones as definitions:
    // an initializer may read an earlier global (`global.get` of an import), which must stay
    // earlier. (Expressions live in the module's arena: an initializer outlives its global.)
    const globals = [];
    for (let i = 0; i < module.getNumGlobals(); i++) globals.push(binaryen.getGlobalInfo(module.getGlobalByIndex(i)));
    if (globals.some((g) => g.module !== null && g.module !== '')) {
      for (const global of globals) module.removeGlobal(global.name);
      for (const global of globals) {
        const imported = global.module !== null && global.module !== '';
        module.addGlobal(global.name, global.type, global.mutable, imported ? zero(global.type) : global.init);
      }
      changed = true;
    }

    const functions = [];
    for (let i = 0; i < module.getNumFunctions(); i++) functions.push(binaryen.getFunctionInfo(module.getFunctionByIndex(i)));
    for (const fn of functions) {
      if (fn.module === null || fn.module === '') continue;
      const params = binaryen.expandType(fn.params);
      const results = binaryen.expandType(fn.results);
      if (results.length <= 1 && [...params, ...results].every((t) => numbers.has(t))) continue;
      const values = results.map(zero);
      const body = values.length === 0 ? module.nop() : values.length === 1 ? values[0]! : module.tuple.make(values);
      module.removeFunction(fn.name);
      module.addFunction(fn.name, fn.params, fn.results, [], body);
      changed = true;
    }
    return changed ? module.emitBinary() : null;
  } finally {
    module.dispose();
  }
}
