/**
 * `resumable-wasm inspect <module-file>`: what is in a module, and whether the VM would take it.
 *
 * The verdict comes from the library's own checks (`checkModule`, the first steps of
 * `VirtualMachinePrototype.create`: validation, the feature scan, the module rules, import
 * resolution), run with the default configuration, or the module options given as `call` takes
 * them (`--features modern`, `--start-function`, ...), and a `symbols` callback that accepts
 * every import. So "accepted" here means `create()` would get past everything but the transform, and
 * a refusal is reported exactly as `create()` would report it. For a Substrate runtime the
 * report adds how each import would be served and the version embedded in the custom sections.
 *
 * @module
 */

import { type EngineReport, engineReport } from './engine-check.js';
import { resolveConfig } from '../base/config.js';
import { customSections } from '../base/header-walks.js';
import { NewError, VmError } from '../base/errors.js';
import { checkModule } from '../load/load-module.js';
import { type ModuleFacts, readModuleFacts } from '../load/module-facts.js';
import { type RuntimeVersion, decodeRuntimeCode, readEmbeddedRuntimeVersion } from '../substrate/index.js';
import { routeImport } from '../substrate/host/catalogue.js';
import { bytes, columns, count, signature } from './format.js';
import type { InputFile } from './input-file.js';
import type { ModuleOptions } from './module-options.js';

/** Everything `inspect` reports; also its `--json` output. */
export interface InspectReport {
  readonly file: string;
  readonly format: InputFile['format'];
  readonly compressed: boolean;
  readonly codeSize: number;
  readonly wasmSize: number;
  /** The module options the verdict was given for (`--features`, `--start-function`, ...). */
  readonly options: ModuleOptions;
  /** Whether `VirtualMachinePrototype.create` would accept the module (short of the transform). */
  readonly accepted: boolean;
  /** Why not, as `create()` would say it. */
  readonly refusal: {
    readonly error: string;
    readonly kind: string;
    readonly message: string;
    /** The `VmConfig` options that would allow what was refused, one per reason that has one. */
    readonly allowedBy: readonly string[];
  } | null;
  /** The module's first memory (the VM accepts one at most; the refusal says if there are more). */
  readonly memory: {
    readonly imported: boolean;
    /** The names it is imported under, for an imported memory. */
    readonly import: { readonly module: string; readonly name: string } | null;
    /** The names it is exported under. */
    readonly exports: readonly string[];
    readonly initialPages: number;
    readonly maximumPages: number | null;
  } | null;
  readonly imports: readonly {
    readonly module: string;
    readonly name: string;
    readonly kind: string;
    readonly signature?: string;
    /** For a Substrate runtime's function imports: how the host layer would serve it. */
    readonly route?: string;
  }[];
  readonly exports: readonly { readonly name: string; readonly kind: string; readonly type?: string }[];
  readonly customSections: readonly { readonly name: string; readonly size: number }[];
  /** What this engine can run, and so on which backend the module would run here. */
  readonly engine: EngineReport;
  /** Present when the module exports `__heap_base`, the mark of a Substrate runtime. */
  readonly substrate: {
    readonly version: RuntimeVersion | null;
    /** Why no version could be read from the custom sections (then `Core_version` is needed). */
    readonly versionNote: string | null;
  } | null;
}

/**
 * Builds the report for the module in `input`. Throws `RuntimeCodeError` if the code cannot be
 * decoded, and `NewError(InvalidWasm)` for bytes that this engine does not accept as WebAssembly
 * at all (text, a truncated module): there is no module to report on, so that is a failure of
 * the command rather than a refusal in the report.
 */
export function inspectModule(file: string, input: InputFile, options: ModuleOptions = {}): InspectReport {
  const decoded = decodeRuntimeCode(input.code);
  const wasm = decoded.wasm;

  let refusal: InspectReport['refusal'] = null;
  try {
    checkModule(resolveConfig({ moduleBytes: wasm, symbols: () => 0, ...options }));
  } catch (e) {
    if (!(e instanceof VmError)) throw e;
    // The engine's own verdict tells "not a module" from "a module outside the VM's rules"
    // (a feature outside the feature set is also InvalidWasm, but the engine validates it).
    if (e instanceof NewError && e.kind === 'InvalidWasm' && !WebAssembly.validate(wasm as Uint8Array<ArrayBuffer>)) throw e;
    const allowedBy = e instanceof NewError ? e.refusals.flatMap((r) => (r.allowedBy === null ? [] : [r.allowedBy])) : [];
    refusal = { error: e.name, kind: e.kind, message: e.message, allowedBy: [...new Set(allowedBy)] };
  }

  let facts: ModuleFacts | null = null;
  try {
    facts = readModuleFacts(wasm);
  } catch {
    // Malformed beyond reading its headers: the refusal above says why.
  }
  let sections: { name: string; size: number }[] = [];
  try {
    sections = customSections(wasm).map((s) => ({ name: s.name, size: s.data.length }));
  } catch {
    // Same.
  }

  const isRuntime = facts?.exports.some((e) => e.name === '__heap_base' && e.kind === 'global') ?? false;
  const imports = (facts?.imports ?? []).map((imp) => {
    if (imp.kind !== 'function') {
      const limits =
        imp.limits === undefined
          ? undefined
          : `${imp.limits.initial} pages${imp.limits.maximum === null ? '' : `, at most ${imp.limits.maximum}`}`;
      return { module: imp.module, name: imp.name, kind: imp.kind, ...(limits === undefined ? {} : { signature: limits }) };
    }
    const sig = imp.signature!;
    const entry = { module: imp.module, name: imp.name, kind: imp.kind, signature: signature(sig.params, sig.results) };
    if (!isRuntime) return entry;
    let route: string;
    try {
      route = routeImport(imp.module, imp.name, {
        params: sig.params as ('i32' | 'i64' | 'f32' | 'f64')[],
        result: (sig.results[0] as 'i32' | 'i64' | 'f32' | 'f64' | undefined) ?? null,
      });
    } catch (e) {
      route = `refused: ${(e as Error).message}`;
    }
    return { ...entry, route };
  });
  const exports = (facts?.exports ?? []).map((exp) => {
    let type: string | undefined;
    if (exp.kind === 'function') {
      const sig = facts!.functions[exp.index];
      if (sig !== undefined) type = signature(sig.params, sig.results);
    } else if (exp.kind === 'global') {
      const global = facts!.globals[exp.index];
      if (global !== undefined) type = `${global.mutable ? 'mut ' : ''}${global.valueType}`;
    }
    return { name: exp.name, kind: exp.kind, ...(type === undefined ? {} : { type }) };
  });

  let substrate: InspectReport['substrate'] = null;
  if (isRuntime) {
    let version: RuntimeVersion | null = null;
    let versionNote: string | null = null;
    try {
      version = readEmbeddedRuntimeVersion(wasm);
      if (version === null) {
        versionNote = 'the runtime_version and runtime_apis custom sections are not both present: the version needs a call to Core_version';
      }
    } catch (e) {
      versionNote = `the version custom sections are malformed: ${(e as Error).message}`;
    }
    substrate = { version, versionNote };
  }

  const memory = facts?.memories[0];
  // Imported memories come first in the memory index space, so memory 0 is the first import.
  const memoryImport = memory?.imported === true ? (facts!.imports.find((i) => i.kind === 'memory') ?? null) : null;
  const memoryExports = (facts?.exports ?? []).filter((e) => e.kind === 'memory' && e.index === 0).map((e) => e.name);
  return {
    file,
    format: input.format,
    compressed: decoded.compressed,
    codeSize: decoded.codeSize,
    wasmSize: wasm.length,
    options,
    accepted: refusal === null,
    refusal,
    memory:
      memory === undefined
        ? null
        : {
            imported: memory.imported,
            import: memoryImport === null ? null : { module: memoryImport.module, name: memoryImport.name },
            exports: memoryExports,
            initialPages: memory.limits.initial,
            maximumPages: memory.limits.maximum,
          },
    imports,
    exports,
    customSections: sections,
    engine: engineReport(),
    substrate,
  };
}

/** Writes `report` for humans, one line at a time. */
export function printInspectReport(report: InspectReport, write: (line: string) => void): void {
  const source = report.compressed
    ? `${bytes(report.codeSize)} of zstd-compressed code, ${bytes(report.wasmSize)} of wasm`
    : `${bytes(report.wasmSize)} of wasm`;
  write(`${report.file}: ${source}${report.format === 'binary' ? '' : ` (read as ${report.format})`}`);
  write(
    report.accepted
      ? 'VirtualMachinePrototype.create: accepted'
      : `VirtualMachinePrototype.create: refused with ${report.refusal!.error}(${report.refusal!.kind}): ${report.refusal!.message}`,
  );
  if (!report.accepted && report.refusal!.allowedBy.length > 0) {
    write(
      '  (on the command line: --features <preset or list>, --start-function, --any-memory-import, --floats, --no-memory; ' +
        'inspect and call take them)',
    );
  }
  const { engine } = report;
  write(
    engine.backend === null
      ? 'this engine: cannot run it (no JSPI, no multi-memory: use Node.js 22 or later, or a current browser)'
      : `this engine: ${report.accepted ? 'runs it' : 'would run it'} on ${engine.backend}` +
          engine.others.map((o) => (o.unsupported === null ? ` (${o.backend} available too)` : ` (${o.backend} unavailable: ${shortReason(o.unsupported)})`)).join(''),
  );
  if (report.memory !== null) {
    const m = report.memory;
    const imported = m.import === null ? 'defined' : `imported as ${m.import.module}.${m.import.name}`;
    const exported = m.exports.length === 0 ? (m.import === null ? ', not exported' : '') : `, exported as ${m.exports.join(', ')}`;
    write(
      `memory: ${imported}${exported}, ${m.initialPages} pages initially, ` +
        (m.maximumPages === null ? 'no maximum' : `at most ${m.maximumPages} pages`),
    );
  } else {
    write('memory: none');
  }

  const functions = report.imports.filter((i) => i.kind === 'function');
  write(`imports: ${count(report.imports.length)} (${count(functions.length)} functions)`);
  for (const line of columns(report.imports.map((i) => [`${i.module}.${i.name}`, i.kind === 'function' ? i.signature! : `${i.kind} ${i.signature ?? ''}`.trim(), i.route === undefined ? '' : `[${i.route}]`]))) {
    write(line.trimEnd());
  }
  write(`exports: ${count(report.exports.length)}`);
  for (const line of columns(report.exports.map((e) => [e.name, e.kind, e.type ?? '']))) write(line.trimEnd());
  write(`custom sections: ${report.customSections.length === 0 ? 'none' : ''}`.trimEnd());
  for (const line of columns(report.customSections.map((s) => [s.name, bytes(s.size)]))) write(line);

  if (report.substrate !== null) {
    const { version, versionNote } = report.substrate;
    if (version === null) {
      write(`Substrate runtime: ${versionNote}`);
    } else {
      write(`Substrate runtime version (from the custom sections): ${describeVersion(version)}`);
      write(`  APIs: ${version.apis.map((a) => `${a.name ?? a.id} v${a.version}`).join(', ')}`);
    }
    const routes = new Map<string, number>();
    for (const i of functions) routes.set(i.route ?? '', (routes.get(i.route ?? '') ?? 0) + 1);
    write(
      `  host functions: ${[...routes].map(([route, n]) => `${n} ${route}`).join(', ')} ` +
        '(inline: answered in place; storage: pause for the storage provider; handler: pause for onHostCall)',
    );
  }
}

/** A runtime version on one line. */
export function describeVersion(v: RuntimeVersion): string {
  return (
    `${v.specName} ${v.specVersion} (impl ${v.implName} ${v.implVersion}, authoring ${v.authoringVersion}, ` +
    `transaction ${v.transactionVersion ?? 'n/a'}, state ${v.stateVersion ?? 'n/a'}, ${v.apis.length} APIs)`
  );
}

/** The first clause of a backend's refusal (`this JavaScript engine has no ...`), for one line. */
function shortReason(reason: string): string {
  return reason.split(/[,:]/)[0]!.replace(/^this JavaScript engine /, '');
}
