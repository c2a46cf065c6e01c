/**
 * The hostile inputs: case classes, the mixes that weight them, and the generator of case
 * number `index` of a run with seed `seed`.
 *
 * A case is a module (bytes) plus a config plan. Classes:
 *
 * - `random-bytes`: noise, noise behind a valid header, random sections, text-format lookalikes.
 * - `small-valid`: a hand-written module from `small-corpus.ts`, unchanged, with a random config.
 * - `small-mutated`: the same, after 1–4 byte or section mutations.
 * - `small-truncated`: the same, cut short (at random, at a section boundary, in the headers).
 * - `resource`: valid modules extreme in one dimension (`resource-modules.ts`).
 * - `runtime-truncated`: a real runtime cut short.
 * - `runtime-mutated`: a real runtime after 1–4 mutations, half of them aimed at its headers.
 *
 * The cost asymmetry drives the mixes. A refusal (engine validation, the feature scan, the
 * module rules) takes milliseconds even for a 6 MB runtime; a runtime that is still valid after
 * mutation (20–30% of runtime mutants in practice: data, custom-section and many code bytes can
 * change without breaking validation) goes through the full Binaryen transform, 10–30 s on a
 * 2-core machine. So each runtime case draws a coin, {@link HostileCase.fullCreate}, with
 * probability {@link CaseMix.runtimeFullRate}: a runtime case whose module would reach the
 * transform is fully created, instantiated and run only when its coin says so; otherwise it is
 * checked through every step before the transform and counted separately as "deferred". Cases
 * that are refused earlier are always created for real, whatever their coin.
 *
 * @module
 */

import { type ConfigPlan, runtimeConfigPlan, smallConfigPlan } from './config-plan.js';
import { type MutationRecord, mutate, truncate } from './mutations.js';
import { Prng } from './prng.js';
import { RESOURCE_SHAPES, resourceModule } from './resource-modules.js';
import type { RuntimeName, Runtimes } from './runtimes.js';
import type { SmallModule } from './small-corpus.js';
import { u32 } from './module-builder.js';
import { WASM_HEADER } from './wasm-sections.js';

/** The case classes; see the module documentation. */
export const CASE_CLASSES = [
  'random-bytes',
  'small-valid',
  'small-mutated',
  'small-truncated',
  'resource',
  'runtime-truncated',
  'runtime-mutated',
] as const;

/** One of {@link CASE_CLASSES}. */
export type CaseClass = (typeof CASE_CLASSES)[number];

/** The names of the mixes. */
export type MixName = 'long' | 'fast';

/** How a run weights the classes and how much of the expensive path it pays for. */
export interface CaseMix {
  readonly name: MixName;
  /** Relative weight of each class. */
  readonly weights: Readonly<Record<CaseClass, number>>;
  /** Probability that a runtime case reaching the transform is fully created (see the module documentation). */
  readonly runtimeFullRate: number;
  /** Probability that a small-module case gets a malformed config. */
  readonly malformedRate: number;
  /** The runtimes to use. */
  readonly runtimes: readonly RuntimeName[];
}

/** The mixes, by name. */
export const MIXES: Readonly<Record<MixName, CaseMix>> = {
  // The long run: every class well represented; 1 in 10 runtime modules that reach the
  // transform is fully created (at 25–60 s each, about 40 of them in 10,000 cases).
  long: {
    name: 'long',
    weights: {
      'random-bytes': 14,
      'small-valid': 12,
      'small-mutated': 30,
      'small-truncated': 5,
      resource: 1,
      'runtime-truncated': 10,
      'runtime-mutated': 28,
    },
    runtimeFullRate: 1 / 10,
    malformedRate: 0.04,
    runtimes: ['westend', 'assethub'],
  },
  // The Jest slice: same classes, no full runtime transform (a single one would take half the
  // time budget), resource modules only at their smallest size (larger ones take seconds to
  // minutes to transform: see the report).
  fast: {
    name: 'fast',
    weights: {
      'random-bytes': 20,
      'small-valid': 12,
      'small-mutated': 36,
      'small-truncated': 6,
      resource: 2,
      'runtime-truncated': 8,
      'runtime-mutated': 16,
    },
    runtimeFullRate: 0,
    malformedRate: 0.05,
    runtimes: ['westend', 'assethub'],
  },
};

/** Everything cases are made from. */
export interface CaseInputs {
  readonly small: readonly SmallModule[];
  readonly runtimes: Runtimes;
}

/** One hostile input. */
export interface HostileCase {
  readonly seed: number;
  readonly index: number;
  readonly mix: MixName;
  readonly cls: CaseClass;
  /** What it was made from, e.g. `small:types`, `runtime:westend`, `resource:nested-blocks`, `random:noise`. */
  readonly origin: string;
  /** What was done to it, for reports. */
  readonly description: string;
  /** The sections its mutations or truncation hit (empty for other classes). */
  readonly sectionsHit: readonly string[];
  readonly bytes: Uint8Array;
  readonly plan: ConfigPlan;
  /** For runtime cases: whether a module that reaches the transform is fully created. */
  readonly fullCreate: boolean;
  /** Seed of the choices made while running an accepted module (which exports, in which order). */
  readonly exerciseSeed: number;
}

/** Case number `index` of a run with `seed` and `mix`. Depends on nothing else. */
export function generateCase(seed: number, index: number, mix: CaseMix, inputs: CaseInputs): HostileCase {
  const prng = new Prng(seed, index);
  const cls = prng.weighted(mix.weights);
  const made = makeBytes(prng, cls, mix, inputs);
  const isRuntime = cls === 'runtime-truncated' || cls === 'runtime-mutated';
  const plan = isRuntime ? runtimeConfigPlan(prng) : smallConfigPlan(prng, cls === 'resource' ? 0 : mix.malformedRate);
  const fullCreate = isRuntime ? prng.chance(mix.runtimeFullRate) : true;
  return { seed, index, mix: mix.name, cls, ...made, plan, fullCreate, exerciseSeed: prng.u32() };
}

type Made = Pick<HostileCase, 'origin' | 'description' | 'sectionsHit' | 'bytes'>;

function describeMutations(records: readonly MutationRecord[]): string {
  return records.map((r) => `${r.op}@${r.offset}(${r.section})`).join(' ');
}

function makeBytes(prng: Prng, cls: CaseClass, mix: CaseMix, inputs: CaseInputs): Made {
  switch (cls) {
    case 'random-bytes':
      return randomBytes(prng);
    case 'small-valid': {
      const seed = prng.pick(inputs.small);
      return { origin: `small:${seed.name}`, description: 'unchanged', sectionsHit: [], bytes: seed.bytes.slice() };
    }
    case 'small-mutated': {
      const seed = prng.pick(inputs.small);
      // Mostly one mutation: a small module is dense, and every extra mutation roughly halves the
      // chance that it stays valid and reaches the "accepted, then run" branch.
      const count = Number(prng.weighted({ 1: 6, 2: 2, 3: 1, 4: 1 }));
      const mutant = mutate(prng, seed.bytes, count, prng.chance(0.3) ? 'headers' : 'anywhere', 0.15, 0.3);
      return {
        origin: `small:${seed.name}`,
        description: describeMutations(mutant.records),
        sectionsHit: mutant.records.map((r) => r.section),
        bytes: mutant.bytes,
      };
    }
    case 'small-truncated': {
      const seed = prng.pick(inputs.small);
      const cut = truncate(prng, seed.bytes, prng.pick(['random', 'boundary', 'headers'] as const));
      return { origin: `small:${seed.name}`, description: `truncated at ${cut.at}/${seed.bytes.length} (${cut.section})`, sectionsHit: [cut.section], bytes: cut.bytes };
    }
    case 'resource': {
      const shape = prng.pick(RESOURCE_SHAPES);
      const module = resourceModule(prng, shape, mix.name === 'fast');
      return { origin: `resource:${shape}`, description: module.description, sectionsHit: [], bytes: module.bytes };
    }
    case 'runtime-truncated': {
      const [name, runtime] = pickRuntime(prng, mix, inputs);
      const cut = truncate(prng, runtime, prng.weighted({ random: 2, boundary: 1, headers: 1 }));
      return { origin: `runtime:${name}`, description: `truncated at ${cut.at}/${runtime.length} (${cut.section})`, sectionsHit: [cut.section], bytes: cut.bytes };
    }
    case 'runtime-mutated': {
      const [name, runtime] = pickRuntime(prng, mix, inputs);
      const count = prng.weighted({ 1: 4, 2: 2, 3: 1, 4: 1 });
      const mutant = mutate(prng, runtime, Number(count), prng.chance(0.5) ? 'headers' : 'anywhere', 0.03, 0.1);
      return {
        origin: `runtime:${name}`,
        description: describeMutations(mutant.records),
        sectionsHit: mutant.records.map((r) => r.section),
        bytes: mutant.bytes,
      };
    }
  }
}

/** A runtime from the mix's list; a missing one is replaced by one that is present. */
function pickRuntime(prng: Prng, mix: CaseMix, inputs: CaseInputs): [RuntimeName, Uint8Array] {
  const wanted = prng.pick(mix.runtimes);
  const bytes = inputs.runtimes.get(wanted);
  if (bytes !== undefined) return [wanted, bytes];
  const [fallback] = [...inputs.runtimes.entries()];
  if (fallback === undefined) throw new Error('no runtime is available for a runtime case');
  return fallback;
}

function randomLength(prng: Prng): number {
  // Log-uniform up to 4 KiB: short inputs are where header parsing goes wrong.
  return Math.floor(2 ** (prng.float() * 12)) - 1;
}

function randomBytes(prng: Prng): Made {
  const kind = prng.weighted({ noise: 3, 'header-noise': 3, sections: 3, text: 1 });
  const header = Uint8Array.from(WASM_HEADER);
  switch (kind) {
    case 'noise': {
      const bytes = prng.bytes(randomLength(prng));
      return { origin: 'random:noise', description: `${bytes.length} random bytes`, sectionsHit: [], bytes };
    }
    case 'header-noise': {
      const body = prng.bytes(randomLength(prng));
      const bytes = new Uint8Array(8 + body.length);
      bytes.set(header);
      bytes.set(body, 8);
      return { origin: 'random:header-noise', description: `header + ${body.length} random bytes`, sectionsHit: [], bytes };
    }
    case 'sections': {
      // Plausible section framing around random payloads: ids mostly in range, sizes mostly right.
      const parts: number[] = [...header];
      const count = prng.between(1, 8);
      const ids: number[] = [];
      for (let i = 0; i < count; i++) {
        const id = prng.chance(0.9) ? prng.below(13) : prng.below(256);
        ids.push(id);
        const payload = prng.bytes(Math.floor(2 ** (prng.float() * 8)) - 1);
        let size = payload.length;
        if (prng.chance(0.1)) size += prng.between(-3, 3);
        if (prng.chance(0.05)) size = 0xffffffff;
        parts.push(id, ...u32(Math.max(size, 0)));
        parts.push(...payload);
      }
      return { origin: 'random:sections', description: `sections ${ids.join(',')}`, sectionsHit: [], bytes: Uint8Array.from(parts) };
    }
    case 'text': {
      const prefix = prng.pick(['(module', '\uFEFF(module', ';; comment\n(module', '  (func', '(']);
      let text = prefix;
      const length = prng.below(200);
      for (let i = 0; i < length; i++) text += String.fromCharCode(prng.chance(0.95) ? prng.between(0x20, 0x7e) : prng.between(0, 0x3000));
      const bytes = new TextEncoder().encode(text);
      return { origin: 'random:text', description: `${bytes.length} bytes of text-format lookalike`, sectionsHit: [], bytes };
    }
  }
}
