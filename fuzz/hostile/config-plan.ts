/**
 * The configuration a case passes to `VirtualMachinePrototype.create`, as plain data.
 *
 * A case's config is described by a {@link ConfigPlan} (JSON-serialisable, so a failure can be
 * saved and replayed) and turned into a real {@link VmConfig} by {@link buildConfig}. Plans
 * vary every option, including the `symbols` callback's behaviour (accept, refuse, throw,
 * return a bad id) and inline imports, and a few percent are *malformed*: the library must
 * refuse those with a `UsageError`, and must never refuse a well-formed one that way.
 *
 * Each call of {@link buildConfig} makes fresh callbacks whose answers depend only on the plan
 * and on the order of the calls, so that two configs built from one plan (the harness predicts
 * the path of a case before creating it) answer the same way.
 *
 * @module
 */

import type { Signature, VmConfig } from '../../lib/index.js';
import type { Prng } from './prng.js';

/** How the `symbols` callback answers. `index` counts the calls of `symbols` from 0. */
export type SymbolsPlan =
  | { readonly policy: 'accept' }
  | { readonly policy: 'refuse'; readonly index: number }
  | { readonly policy: 'throw'; readonly index: number }
  | { readonly policy: 'bad-id'; readonly index: number; readonly value: 'negative' | 'fraction' | 'string' | 'nan' };

/** Which imports are answered inline (`VmConfig.inlineImports`), and how; `inlineImports` calls are counted from 0. */
export type InlinePlan =
  | { readonly policy: 'none' }
  /** Every odd-numbered call of `inlineImports` answers its import inline with a zero value. */
  | { readonly policy: 'odd-zero' }
  /** Like `odd-zero`, but the inline functions throw (a `HostFunction` trap when called). */
  | { readonly policy: 'odd-throw' };

/** Ways a config can be malformed; each must be refused with `UsageError('InvalidArgument')`. */
export const MALFORMED_KINDS = [
  'config-null',
  'config-string',
  'bytes-arraybuffer',
  'bytes-number-array',
  'bytes-string',
  'bytes-missing',
  'bytes-int8array',
  'symbols-missing',
  'symbols-string',
  'features-unknown',
  'unwind-zero',
  'unwind-fraction',
  'unwind-huge',
  'unwind-string',
  'inline-not-function',
  'max-memory-negative',
  'max-memory-huge',
  'progress-not-function',
  'cache-without-methods',
] as const;

/** One of {@link MALFORMED_KINDS}. */
export type MalformedKind = (typeof MALFORMED_KINDS)[number];

/** How the module bytes are handed over (all well-formed). */
export type BytesForm = 'plain' | 'buffer' | 'offset-view';

/** A serialisable description of a config; see the module documentation. */
export interface ConfigPlan {
  readonly features?: 'default' | 'mvp' | 'modern';
  readonly floats?: boolean;
  readonly startFunction?: boolean;
  readonly anyMemoryImport?: boolean;
  readonly requireMemory?: boolean;
  readonly unwindBufferPages?: number;
  readonly maxMemoryPages?: number;
  readonly symbols: SymbolsPlan;
  readonly inline: InlinePlan;
  readonly bytesForm: BytesForm;
  readonly malformed?: MalformedKind;
}

/** What the harness needs to answer interrupts: the signature of each resolved pausing import, by id. */
export type ImportLedger = Map<number, Signature>;

/** A config plan for a real runtime: mostly the defaults, as a light client would create it. */
export function runtimeConfigPlan(prng: Prng): ConfigPlan {
  return {
    symbols: prng.chance(0.05) ? { policy: 'refuse', index: prng.below(40) } : { policy: 'accept' },
    inline: { policy: 'none' },
    bytesForm: prng.chance(0.1) ? 'offset-view' : 'plain',
    ...(prng.chance(0.1) ? { features: 'mvp' as const } : {}),
  };
}

/** A config plan for a small module: every option varied. */
export function smallConfigPlan(prng: Prng, malformedRate: number): ConfigPlan {
  const symbols: SymbolsPlan = (() => {
    switch (prng.weighted({ accept: 85, refuse: 6, throw: 4, bad: 5 })) {
      case 'accept':
        return { policy: 'accept' };
      case 'refuse':
        return { policy: 'refuse', index: prng.below(4) };
      case 'throw':
        return { policy: 'throw', index: prng.below(4) };
      default:
        return { policy: 'bad-id', index: prng.below(4), value: prng.pick(['negative', 'fraction', 'string', 'nan'] as const) };
    }
  })();
  const inline: InlinePlan = prng.chance(0.85)
    ? { policy: 'none' }
    : prng.chance(0.8)
      ? { policy: 'odd-zero' }
      : { policy: 'odd-throw' };
  return {
    ...(prng.chance(0.2) ? { features: prng.pick(['default', 'mvp', 'modern'] as const) } : {}),
    ...(prng.chance(0.4) ? { floats: prng.chance(0.5) } : {}),
    ...(prng.chance(0.4) ? { requireMemory: prng.chance(0.5) } : {}),
    ...(prng.chance(0.3) ? { unwindBufferPages: prng.pick([1, 2, 4, 16, 64]) } : {}),
    ...(prng.chance(0.1) ? { maxMemoryPages: prng.pick([0, 1, 2, 4, 16, 65536]) } : {}),
    symbols,
    inline,
    bytesForm: prng.weighted({ plain: 8, buffer: 1, 'offset-view': 1 }),
    ...(prng.chance(malformedRate) ? { malformed: prng.pick(MALFORMED_KINDS) } : {}),
    ...(prng.chance(0.15) ? { startFunction: true } : {}),
    ...(prng.chance(0.15) ? { anyMemoryImport: true } : {}),
  };
}

/** The zero value a host answers an import of type `signature` with (engine representation). */
export function zeroResult(signature: Signature): number | bigint | undefined {
  if (signature.result === null) return undefined;
  return signature.result === 'i64' ? 0n : 0;
}

/**
 * The {@link VmConfig} a plan describes, for `bytes`. `ledger` is filled with the id and
 * signature of every import `symbols` resolves. For a malformed plan the result is deliberately
 * not a valid `VmConfig`, whatever its static type says.
 */
export function buildConfig(plan: ConfigPlan, bytes: Uint8Array, ledger: ImportLedger): VmConfig {
  const moduleBytes = formBytes(plan.bytesForm, bytes);
  // Ids are handed out in the order of the calls, and the ledger records the signature each
  // call was given: the harness does not rely on the order in which the library consults the
  // callbacks, only on each id meaning what the callback was told when it returned it.
  let symbolsCalls = 0;
  const symbols = (_module: string, _name: string, signature: Signature): number | null | undefined => {
    const index = symbolsCalls++;
    const s = plan.symbols;
    if (s.policy !== 'accept' && s.index === index) {
      switch (s.policy) {
        case 'refuse':
          return null;
        case 'throw':
          throw new Error(`the harness refuses import ${index}`);
        case 'bad-id':
          return { negative: -1, fraction: 0.5, string: '3' as unknown as number, nan: Number.NaN }[s.value];
      }
    }
    ledger.set(index, signature);
    return index;
  };
  let inlineCalls = 0;
  const inlineImports =
    plan.inline.policy === 'none'
      ? undefined
      : (_module: string, _name: string, signature: Signature) => {
          const index = inlineCalls++;
          if (index % 2 === 0) return null;
          if (plan.inline.policy === 'odd-throw') {
            return () => {
              throw new Error(`inline import ${index} throws, as planned`);
            };
          }
          const zero = zeroResult(signature);
          return () => zero;
        };

  const config: Record<string, unknown> = {
    moduleBytes,
    symbols,
    ...(inlineImports === undefined ? {} : { inlineImports }),
    ...(plan.features === undefined ? {} : { features: plan.features }),
    ...(plan.floats === undefined ? {} : { floats: plan.floats }),
    ...(plan.startFunction === undefined ? {} : { startFunction: plan.startFunction }),
    ...(plan.anyMemoryImport === undefined ? {} : { anyMemoryImport: plan.anyMemoryImport }),
    ...(plan.requireMemory === undefined ? {} : { requireMemory: plan.requireMemory }),
    ...(plan.unwindBufferPages === undefined ? {} : { unwindBufferPages: plan.unwindBufferPages }),
    ...(plan.maxMemoryPages === undefined ? {} : { maxMemoryPages: plan.maxMemoryPages }),
  };
  switch (plan.malformed) {
    case undefined:
      return config as unknown as VmConfig;
    case 'config-null':
      return null as unknown as VmConfig;
    case 'config-string':
      return 'moduleBytes' as unknown as VmConfig;
    case 'bytes-arraybuffer':
      return { ...config, moduleBytes: bytes.slice().buffer } as unknown as VmConfig;
    case 'bytes-number-array':
      return { ...config, moduleBytes: Array.from(bytes.subarray(0, 64)) } as unknown as VmConfig;
    case 'bytes-string':
      return { ...config, moduleBytes: Buffer.from(bytes.subarray(0, 64)).toString('latin1') } as unknown as VmConfig;
    case 'bytes-missing': {
      const { moduleBytes: _omitted, ...rest } = config;
      return rest as unknown as VmConfig;
    }
    case 'bytes-int8array':
      return { ...config, moduleBytes: new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length) } as unknown as VmConfig;
    case 'symbols-missing': {
      const { symbols: _omitted, ...rest } = config;
      return rest as unknown as VmConfig;
    }
    case 'symbols-string':
      return { ...config, symbols: 'symbols' } as unknown as VmConfig;
    case 'features-unknown':
      return { ...config, features: 'simd' } as unknown as VmConfig;
    case 'unwind-zero':
      return { ...config, unwindBufferPages: 0 } as unknown as VmConfig;
    case 'unwind-fraction':
      return { ...config, unwindBufferPages: 1.5 } as unknown as VmConfig;
    case 'unwind-huge':
      return { ...config, unwindBufferPages: 1e9 } as unknown as VmConfig;
    case 'unwind-string':
      return { ...config, unwindBufferPages: '4' } as unknown as VmConfig;
    case 'inline-not-function':
      return { ...config, inlineImports: {} } as unknown as VmConfig;
    case 'max-memory-negative':
      return { ...config, maxMemoryPages: -1 } as unknown as VmConfig;
    case 'max-memory-huge':
      return { ...config, maxMemoryPages: 65537 } as unknown as VmConfig;
    case 'progress-not-function':
      return { ...config, onProgress: 'progress' } as unknown as VmConfig;
    case 'cache-without-methods':
      return { ...config, cache: {} } as unknown as VmConfig;
  }
}

/** The module bytes in the form the plan asks for; every form is a `Uint8Array` with the same content. */
function formBytes(form: BytesForm, bytes: Uint8Array): Uint8Array {
  switch (form) {
    case 'plain':
      return bytes;
    case 'buffer':
      return Buffer.from(bytes);
    case 'offset-view': {
      // A view into the middle of a larger buffer, whose neighbouring bytes are not zero.
      const backing = new Uint8Array(bytes.length + 32).fill(0xee);
      backing.set(bytes, 16);
      return backing.subarray(16, 16 + bytes.length);
    }
  }
}

/** A one-line description of a plan, for reports. */
export function describePlan(plan: ConfigPlan): string {
  const parts: string[] = [];
  if (plan.malformed !== undefined) parts.push(`MALFORMED:${plan.malformed}`);
  if (plan.features !== undefined) parts.push(`features=${plan.features}`);
  if (plan.floats !== undefined) parts.push(`floats=${plan.floats}`);
  if (plan.startFunction !== undefined) parts.push(`startFunction=${plan.startFunction}`);
  if (plan.anyMemoryImport !== undefined) parts.push(`anyMemoryImport=${plan.anyMemoryImport}`);
  if (plan.requireMemory !== undefined) parts.push(`requireMemory=${plan.requireMemory}`);
  if (plan.unwindBufferPages !== undefined) parts.push(`unwind=${plan.unwindBufferPages}`);
  if (plan.maxMemoryPages !== undefined) parts.push(`maxMemoryPages=${plan.maxMemoryPages}`);
  if (plan.symbols.policy !== 'accept') parts.push(`symbols=${JSON.stringify(plan.symbols)}`);
  if (plan.inline.policy !== 'none') parts.push(`inline=${plan.inline.policy}`);
  if (plan.bytesForm !== 'plain') parts.push(`bytes=${plan.bytesForm}`);
  return parts.length === 0 ? 'defaults' : parts.join(' ');
}
