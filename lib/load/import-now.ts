/**
 * Loading a module of this library synchronously where the platform can: Node.js's `require` of
 * an ES module (Node.js 22.12 and later, `process.features.require_module`), reached through
 * `process.getBuiltinModule`, never an `import`, so that bundlers see nothing to follow (a page
 * keeps loading the module lazily, a chunk of its own, with `import()`).
 *
 * A pipeline that must not read its caller's bytes after an `await` uses it to avoid the `await`
 * of a lazy `import()`, and with it a private copy of the bytes (a 6 MB runtime: a copy costs
 * 20 ms of page faults on some machines, as much as the engine's own compilation).
 *
 * @module
 */

/** What `process` offers, where there is one. */
interface NodeProcess {
  readonly features?: { readonly require_module?: boolean };
  getBuiltinModule?(name: string): unknown;
}

/**
 * The module `specifier` (a path relative to `from`, the importing module's `import.meta.url`),
 * loaded now, or `null` where it cannot be loaded synchronously (no Node.js, a Node.js without
 * `require` of ES modules, the library bundled so that the file is not there): the caller then
 * uses `import()`.
 */
export function importNow<T>(from: string, specifier: string): T | null {
  const process = (globalThis as { process?: NodeProcess }).process;
  if (process?.features?.require_module !== true || !from.startsWith('file:')) return null;
  const module = process.getBuiltinModule?.('node:module') as { createRequire?: (from: string) => (id: string) => unknown } | undefined;
  if (module?.createRequire === undefined) return null;
  try {
    return module.createRequire(from)(specifier) as T;
  } catch {
    return null;
  }
}
