/**
 * Headless Firefox for the browser tests: Debian's `firefox-esr` package (153 ESR: JSPI and
 * multi-memory), driven by `puppeteer-core` over WebDriver BiDi (`browser: 'firefox'`). Not an
 * npm dependency: where it is not installed the tests say so and skip
 * (`apt-get install -y --no-install-recommends firefox-esr`).
 */
import { existsSync } from 'node:fs';
import puppeteer from 'puppeteer-core';
import { type EngineStart, firstLine } from './browser-engine.js';
import { puppeteerEngine } from './puppeteer-engine.js';

/**
 * Where Firefox may be: the variable `FIREFOX_BIN`, then where Debian's `firefox-esr` and
 * `firefox` packages put it.
 */
function candidates(): string[] {
  const fromEnvironment = process.env['FIREFOX_BIN'];
  return [...(fromEnvironment === undefined ? [] : [fromEnvironment]), '/usr/bin/firefox-esr', '/usr/lib/firefox-esr/firefox-esr', '/usr/bin/firefox'];
}

/** Starts headless Firefox; never throws (a failure is returned, in one line, for the tests to skip with). */
export async function startFirefox(): Promise<EngineStart> {
  const executablePath = candidates().find((path) => existsSync(path));
  if (executablePath === undefined) {
    return { unavailable: 'Firefox is not installed (Debian: apt-get install -y --no-install-recommends firefox-esr; or set FIREFOX_BIN)' };
  }
  try {
    const browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath,
      headless: true,
      extraPrefsFirefox: {
        // No network: no update checks, telemetry or remote settings.
        'app.update.enabled': false,
        'datareporting.policy.dataSubmissionEnabled': false,
        'toolkit.telemetry.enabled': false,
        'network.captive-portal-service.enabled': false,
      },
      // A hang guard for the start only; tests are bounded by their work.
      timeout: 5 * 60_000,
      protocolTimeout: 30 * 60_000,
    });
    // "firefox/153.8.0"
    const version = (await browser.version()).replace(/^firefox\//i, 'Firefox ');
    return { engine: puppeteerEngine('firefox', version, browser) };
  } catch (e) {
    return { unavailable: `Firefox (${executablePath}) did not start: ${firstLine(e)}` };
  }
}
