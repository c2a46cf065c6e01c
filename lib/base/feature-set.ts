/**
 * The WebAssembly features a guest may be allowed: their names (`VmConfig.features`) and what
 * each allows. The loader's feature scan (`load/features.ts`) enforces a set; the transform
 * (`transform/instrument.ts`) tells Binaryen the same set so it never adds others.
 *
 * A set is named by a preset (`'mvp'`, `'default'`, `'modern'`) or by a list of presets and
 * features (`['default', 'bulk-memory']`), which allows their union.
 *
 * @module
 */

/**
 * The presets of {@link VmConfig.features}:
 *
 * - `'mvp'`: the 2017 MVP only;
 * - `'default'`: the MVP plus sign-extension, non-trapping float-to-int conversions and exported
 *   mutable globals (what Substrate runtimes and Rust's wasm32 target until 2024 emit; smoldot's
 *   set);
 * - `'modern'`: `'default'` plus bulk memory, multi-value and reference types: what today's
 *   toolchains emit by default (Rust >= 1.87 / LLVM 20, AssemblyScript 0.28, Emscripten).
 */
export type FeatureSetName = 'default' | 'mvp' | 'modern';

/** A post-MVP feature that can be allowed on its own, named as in the proposals (and LLVM). */
export type FeatureName =
  | 'sign-extension'
  | 'non-trapping-float-to-int'
  | 'mutable-globals'
  | 'bulk-memory'
  | 'multi-value'
  | 'reference-types';

/** What `VmConfig.features` accepts: a preset, or a list of presets and features (their union). */
export type FeaturesOption = FeatureSetName | readonly (FeatureSetName | FeatureName)[];

/** Every feature that can be named, in documentation order. */
export const FEATURE_NAMES: readonly FeatureName[] = [
  'sign-extension',
  'non-trapping-float-to-int',
  'mutable-globals',
  'bulk-memory',
  'multi-value',
  'reference-types',
];

/** The features each preset allows. */
export const PRESETS: Readonly<Record<FeatureSetName, readonly FeatureName[]>> = {
  mvp: [],
  default: ['sign-extension', 'non-trapping-float-to-int', 'mutable-globals'],
  modern: ['sign-extension', 'non-trapping-float-to-int', 'mutable-globals', 'bulk-memory', 'multi-value', 'reference-types'],
};

/** Which post-MVP features a guest may use. Everything not listed here is always refused. */
export interface FeatureSet {
  /** How the set is named in messages and artifacts: a preset's name, or the features joined by `+`. */
  readonly name: string;
  /** `i32.extend8_s` and friends. */
  readonly signExtension: boolean;
  /** `i32.trunc_sat_f32_s` and friends. */
  readonly saturatingFloatToInt: boolean;
  /** Exporting a mutable global. */
  readonly mutableGlobals: boolean;
  /**
   * Passive data and element segments, `memory.init`, `data.drop`, `memory.copy`,
   * `memory.fill`, `table.init`, `elem.drop`, `table.copy`, the data count section.
   */
  readonly bulkMemory: boolean;
  /** Functions and blocks with several results, blocks with parameters. */
  readonly multiValue: boolean;
  /**
   * `funcref`/`externref` values, several tables, `table.get`/`set`/`grow`/`size`/`fill`,
   * `ref.null`/`ref.is_null`/`ref.func`, typed `select`, `call_indirect` through any table.
   */
  readonly referenceTypes: boolean;
}

/** `true` if `value` names a preset. */
export function isFeatureSetName(value: unknown): value is FeatureSetName {
  return value === 'mvp' || value === 'default' || value === 'modern';
}

/** `true` if `value` names a feature. */
export function isFeatureName(value: unknown): value is FeatureName {
  return (FEATURE_NAMES as readonly unknown[]).includes(value);
}

/** The features `option` allows, in {@link FEATURE_NAMES} order. The option must be well-formed. */
export function featureNames(option: FeaturesOption): FeatureName[] {
  const items = typeof option === 'string' ? [option] : option;
  const allowed = new Set<FeatureName>();
  for (const item of items) {
    if (isFeatureSetName(item)) for (const f of PRESETS[item]) allowed.add(f);
    else allowed.add(item);
  }
  return FEATURE_NAMES.filter((f) => allowed.has(f));
}

/**
 * The canonical name of a set of features: the preset with exactly these features, or the
 * largest preset it contains followed by the other features, joined by `+`
 * (`default+bulk-memory`).
 */
function setName(features: readonly FeatureName[]): string {
  for (const preset of ['modern', 'default', 'mvp'] as const) {
    const wanted = PRESETS[preset];
    if (!wanted.every((f) => features.includes(f))) continue;
    const extra = features.filter((f) => !wanted.includes(f));
    return extra.length === 0 ? preset : preset === 'mvp' ? extra.join('+') : [preset, ...extra].join('+');
  }
  return features.join('+');
}

/** The feature set `option` stands for. */
export function featureSet(option: FeaturesOption): FeatureSet {
  const names = featureNames(option);
  const has = (f: FeatureName): boolean => names.includes(f);
  return {
    name: setName(names),
    signExtension: has('sign-extension'),
    saturatingFloatToInt: has('non-trapping-float-to-int'),
    mutableGlobals: has('mutable-globals'),
    bulkMemory: has('bulk-memory'),
    multiValue: has('multi-value'),
    referenceTypes: has('reference-types'),
  };
}

/**
 * How a user allows `feature` on top of `current` (for refusals): the smallest preset that has
 * it, or the list form.
 */
export function howToAllow(feature: FeatureName, current: FeatureSet): string {
  const list = current.name.split('+').map((f) => `'${f}'`);
  const preset = (['default', 'modern'] as const).find((p) => PRESETS[p].includes(feature))!;
  return `features: '${preset}' or [${[...list, `'${feature}'`].join(', ')}]`;
}
