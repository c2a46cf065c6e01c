/**
 * The WebAssembly feature sets a guest may be allowed: their names (`VmConfig.features`) and
 * what each allows. The loader's feature scan (`load/features.ts`) enforces a set; the
 * transform (`transform/instrument.ts`) tells Binaryen the same set so it never adds others.
 *
 * @module
 */

/**
 * The named feature sets of {@link VmConfig.features}: `'default'` (the MVP plus sign-extension,
 * non-trapping float-to-int conversions and exported mutable globals) or `'mvp'`.
 */
export type FeatureSetName = 'default' | 'mvp';

/** Which post-MVP features a guest may use. Everything not listed here is always refused. */
export interface FeatureSet {
  /** `i32.extend8_s` and friends. */
  readonly signExtension: boolean;
  /** `i32.trunc_sat_f32_s` and friends. */
  readonly saturatingFloatToInt: boolean;
  /** Exporting a mutable global. */
  readonly mutableGlobals: boolean;
}

/** The feature set a {@link FeatureSetName} stands for. */
export function featureSet(name: FeatureSetName): FeatureSet {
  const postMvp = name === 'default';
  return { signExtension: postMvp, saturatingFloatToInt: postMvp, mutableGlobals: postMvp };
}

