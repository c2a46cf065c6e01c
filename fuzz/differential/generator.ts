/**
 * From a seed to a module: the seeded choice of generator options, the random bytes, and a run
 * of Binaryen's `wasm-opt -ttf` ("translate to fuzz"), which turns any bytes into a valid module.
 *
 * ## Options
 *
 * `wasm-opt` is told the VM's feature set exactly, for the profile asked for: `'default'`
 * (`--mvp-features` and then `--enable-sign-ext --enable-nontrapping-float-to-int
 * --enable-mutable-globals`) or `'modern'` (those, plus bulk memory, multi-value and reference
 * types: the VM is then created with `features: 'modern'`). With fewer features the VM's
 * feature scan would never see the others; with more, it would refuse most modules (the
 * generator uses every feature it is allowed to). With reference types, the imports the VM
 * cannot provide (an `externref` global, functions taking references) are turned into
 * definitions (`reference-imports.ts`).
 *
 * The seed also picks:
 * - the input size (1 to 48 KiB, log-uniform): `-ttf` consumes the bytes as it decides, and
 *   scales its function count and hang limit with the input size;
 * - the initial content (`--initial-fuzz`, see `initial-content.ts`), for memory growth;
 * - `--fuzz-passes` half of the time, which runs a random set of optimisation passes over the
 *   result, giving code shapes (loops, locals, blocks) that `-ttf` alone does not produce;
 * - whether the defined memory is rewritten into an import of `env`.`memory` (`rewrite.ts`).
 *
 * `-ttf` sometimes gives the module a start function (about one module in ten), which the VM
 * refuses by design; there is no option to prevent it, so such modules count as refused.
 *
 * Binaryen's output depends only on its input bytes and options, and `binaryen` is pinned in
 * `package.json`, so a seed gives the same module on every machine.
 *
 * @module
 */

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../spec/support/shared.js';
import { type InitialContent, initialContentBytes } from './initial-content.js';
import { Prng } from './prng.js';
import { defineUnsupportedImports } from './reference-imports.js';
import { importMemory } from './rewrite.js';

export { REPO_ROOT };

/** Binaryen's `wasm-opt`, a Node.js script in the `binaryen` package. */
const WASM_OPT = join(REPO_ROOT, 'node_modules', 'binaryen', 'bin', 'wasm-opt');

/** The VM feature presets the generator can target. */
export type Profile = 'default' | 'modern';

/** The feature flags that match the VM's default feature set. */
export const FEATURE_FLAGS: readonly string[] = [
  '--mvp-features',
  '--enable-sign-ext',
  '--enable-nontrapping-float-to-int',
  '--enable-mutable-globals',
];

/** The flags of reference types, which a `'modern'` seed may leave out. */
const REFERENCE_FLAGS: readonly string[] = ['--enable-reference-types', '--enable-call-indirect-overlong'];

/** The feature flags of each profile. */
export const PROFILE_FLAGS: Readonly<Record<Profile, readonly string[]>> = {
  default: FEATURE_FLAGS,
  modern: [
    ...FEATURE_FLAGS,
    '--enable-bulk-memory',
    '--enable-bulk-memory-opt',
    '--enable-multivalue',
    '--enable-reference-types',
    '--enable-call-indirect-overlong',
  ],
};

/** Everything the seed decides about a module. */
export interface GenerationChoice {
  readonly inputSize: number;
  readonly initialContent: InitialContent;
  readonly fuzzPasses: boolean;
  readonly importMemory: boolean;
  /**
   * Profile `'modern'` only: whether reference types are enabled too (one seed in two). Without
   * them the modules have bulk memory and multi-value only, which the Asyncify backend runs in
   * full; with them most modules hold references in functions that may pause, which Binaryen's
   * Asyncify cannot instrument, so they run on JSPI only (see `differential.ts`).
   */
  readonly referenceTypes: boolean;
}

/** A generated module and how it was made. */
export interface GeneratedModule {
  readonly seed: number;
  readonly choice: GenerationChoice;
  /** The `wasm-opt` arguments (with placeholder file names), for reports. */
  readonly args: readonly string[];
  /** The module both sides run. */
  readonly bytes: Uint8Array;
  /**
   * Whether the memory was rewritten into an import (`choice.importMemory` asks for it, but a
   * module that exports its memory keeps it defined).
   */
  readonly memoryImported: boolean;
}

/** The seed's choices and the bytes `-ttf` reads. */
export function chooseGeneration(seed: number): { choice: GenerationChoice; input: Uint8Array } {
  const prng = new Prng(seed, 0);
  const inputSize = Math.round(1024 * 2 ** (prng.below(5586) / 1000));
  const choice: GenerationChoice = {
    inputSize,
    initialContent: prng.pick<InitialContent>(['none', 'none', 'memory-ops', 'memory-ops-exported']),
    fuzzPasses: prng.oneIn(2),
    importMemory: prng.oneIn(4),
    // A stream of its own, so that the choices above stay what they were for every seed.
    referenceTypes: new Prng(seed, 4).oneIn(2),
  };
  return { choice, input: prng.bytes(inputSize) };
}

/** Runs `wasm-opt` with the current Node.js binary; resolves when it exits. */
function runWasmOpt(args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [WASM_OPT, ...args], { maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) => {
      if (error !== null) reject(new Error(`wasm-opt failed: ${error.message}\n${stderr}`));
      else resolve();
    });
  });
}

/**
 * Makes modules from seeds. Holds a private temporary folder for `wasm-opt`'s input and output
 * files (it cannot use pipes), removed by {@link dispose}.
 */
export class Generator {
  readonly #dir = mkdtempSync(join(tmpdir(), 'resumable-wasm-differential-'));
  #counter = 0;

  /** `profile`: the VM feature preset the modules target. */
  constructor(readonly profile: Profile = 'default') {}

  /** The module for `seed`. Several calls may run at once (each uses its own files). */
  async generate(seed: number): Promise<GeneratedModule> {
    const { choice, input } = chooseGeneration(seed);
    const id = this.#counter++;
    const inputFile = join(this.#dir, `${id}.input`);
    const initialFile = join(this.#dir, `${id}.initial.wasm`);
    const outputFile = join(this.#dir, `${id}.wasm`);
    writeFileSync(inputFile, input);
    const flags = PROFILE_FLAGS[this.profile];
    const args = ['INPUT', '-ttf', ...(this.profile === 'modern' && !choice.referenceTypes ? flags.filter((f) => !REFERENCE_FLAGS.includes(f)) : flags)];
    const initial = await initialContentBytes(choice.initialContent);
    if (initial !== null) {
      writeFileSync(initialFile, initial);
      args.push(`--initial-fuzz=INITIAL(${choice.initialContent})`);
    }
    if (choice.fuzzPasses) args.push('--fuzz-passes');
    args.push('-o', 'OUTPUT');
    const realArgs = args.map((a) =>
      a === 'INPUT' ? inputFile : a === 'OUTPUT' ? outputFile : a.startsWith('--initial-fuzz=') ? `--initial-fuzz=${initialFile}` : a,
    );
    try {
      await runWasmOpt(realArgs);
      let generated: Uint8Array = new Uint8Array(readFileSync(outputFile));
      if (this.profile === 'modern') generated = (await defineUnsupportedImports(generated)) ?? generated;
      const rewritten = choice.importMemory ? importMemory(generated) : null;
      return { seed, choice, args, bytes: rewritten ?? generated, memoryImported: rewritten !== null };
    } finally {
      for (const file of [inputFile, initialFile, outputFile]) rmSync(file, { force: true });
    }
  }

  /** Removes the temporary folder. */
  dispose(): void {
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
