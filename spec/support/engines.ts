/**
 * The browser engines the browser tests and `npm run bench -- --browsers` run on, each with its
 * launcher: Chromium (npm, always there), Firefox ESR and WebKitGTK (Debian packages, where
 * installed). See `browser-engine.ts` for what a launcher returns.
 */
import type { EngineName, EngineStart } from './browser-engine.js';
import { startChromium } from './chromium.js';
import { startFirefox } from './firefox.js';
import { startWebKitGtk } from './webkitgtk.js';

/** One engine: its name, what to call it, and how to start it. */
export interface EngineLauncher {
  readonly name: EngineName;
  /** The engine's family, for messages about an engine that did not start. */
  readonly label: string;
  readonly start: () => Promise<EngineStart>;
}

/** Every engine, in the order the suite runs them. */
export const ENGINES: readonly EngineLauncher[] = [
  { name: 'chromium', label: 'Chromium', start: startChromium },
  { name: 'firefox', label: 'Firefox', start: startFirefox },
  { name: 'webkitgtk', label: 'WebKitGTK', start: startWebKitGtk },
];

/**
 * The engines named in the variable `BROWSER_ENGINES` (comma-separated, e.g. `firefox,webkitgtk`),
 * or all of them: lets a contributor run the suite on one engine.
 */
export function selectedEngines(): readonly EngineLauncher[] {
  const wanted = process.env['BROWSER_ENGINES'];
  if (wanted === undefined || wanted.trim() === '') return ENGINES;
  const names = new Set(wanted.split(',').map((name) => name.trim()));
  return ENGINES.filter((engine) => names.has(engine.name));
}
