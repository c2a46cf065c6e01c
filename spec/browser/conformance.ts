/**
 * The spec-suite runner of `spec/conformance/` in a browser: scripts arrive as data (a script's
 * commands and its module files, base64, as `spec/support/browser-spec-slice.ts` serves them),
 * run through the same `runScript` as in Node.js, and go back as data, one observation line per
 * command, for the test to compare with Node.js's.
 */
import type { Backend, FeaturesOption, VmConfig } from 'resumable-wasm';
import type { Command, Script } from '../conformance/script.js';
import { runScript } from '../conformance/script-runner.js';
import { type SliceOutcome, sliceOutcomeOf } from '../support/slice-outcome.js';

/** A script as the test serves it. */
export interface ScriptData {
  readonly name: string;
  /** Where the script was read (its folder names its suite: see `skip-reasons.ts`). */
  readonly path: string;
  readonly sourceFilename: string;
  readonly commands: readonly Command[];
  /** The module files its commands name, base64. */
  readonly modules: Readonly<Record<string, string>>;
}


function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Runs the scripts at `urls` (each a {@link ScriptData}) on `backend` with `features`, and the code rewrite's options `bounds` if given. */
export async function specScripts(request: {
  readonly backend: Backend;
  readonly bounds?: Pick<VmConfig, 'fuel' | 'maxStackHeight' | 'canonicalizeNaNs'>;
  readonly scripts: readonly { readonly url: string; readonly features: FeaturesOption }[];
}): Promise<SliceOutcome[]> {
  const outcomes: SliceOutcome[] = [];
  for (const { url, features } of request.scripts) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    const data = (await response.json()) as ScriptData;
    const script: Script = {
      name: data.name,
      path: data.path,
      sourceFilename: data.sourceFilename,
      commands: data.commands,
      module: (filename) => {
        const text = data.modules[filename];
        if (text === undefined) throw new Error(`${data.name}: no module file ${filename} was served`);
        return fromBase64(text);
      },
    };
    const result = await runScript(script, { backend: request.backend, features, ...(request.bounds === undefined ? {} : { bounds: request.bounds }) });
    outcomes.push(sliceOutcomeOf(result));
  }
  return outcomes;
}
