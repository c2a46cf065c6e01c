/**
 * Runs a list of scripts one after the other and collects their results.
 *
 * @module
 */

import type { ScriptResult } from './results.js';
import { loadScript } from './script.js';
import { type RunOptions, runScript } from './script-runner.js';
import { emptyTally } from './results.js';
import { scriptPath } from './suite.js';

/** Runs the scripts `names` of the suite in `dir`; `onScript` sees each result as it comes. */
export async function runSuite(
  names: readonly string[],
  options: RunOptions & { readonly dir?: string; readonly onScript?: (result: ScriptResult) => void },
): Promise<ScriptResult[]> {
  const results: ScriptResult[] = [];
  for (const name of names) {
    let result: ScriptResult;
    const started = performance.now();
    try {
      result = await runScript(loadScript(scriptPath(name, options.dir)), options);
    } catch (e) {
      // An unreadable script fails as a whole, visibly, without stopping the others.
      const tally = emptyTally();
      tally.failed = 1;
      const message = e instanceof Error ? e.message : String(e);
      result = {
        script: name,
        tally,
        failures: [{ script: name, line: 0, command: 'script', module: null, what: `load ${name}.json`, detail: message }],
        skips: [],
        observations: [],
        fuel: [],
        interrupts: 0,
        milliseconds: performance.now() - started,
        error: message,
      };
    }
    options.onScript?.(result);
    results.push(result);
  }
  return results;
}
