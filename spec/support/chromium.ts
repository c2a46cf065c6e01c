/**
 * Headless Chromium for the browser tests, from npm with nothing installed by hand: the binary
 * of `@sparticuz/chromium` (Chromium 153: JSPI, multi-memory) driven by `puppeteer-core`, both
 * exact devDependencies. Started with background networking disabled: these machines have no
 * network, and a test must not depend on one.
 */
import chromium from '@sparticuz/chromium';
import puppeteer, { type Browser } from 'puppeteer-core';

/** The browser, or why it could not be started. */
export type ChromiumStart = { readonly browser: Browser; readonly version: string } | { readonly unavailable: string };

/** Starts headless Chromium; never throws (a failure is returned, for the tests to skip with). */
export async function startChromium(): Promise<ChromiumStart> {
  let executablePath: string;
  try {
    executablePath = await chromium.executablePath();
  } catch (e) {
    return { unavailable: `@sparticuz/chromium could not unpack its Chromium: ${(e as Error).message}` };
  }
  try {
    const browser = await puppeteer.launch({
      executablePath,
      headless: true,
      args: [...chromium.args, '--disable-background-networking', '--disable-component-update', '--no-first-run'],
      timeout: 5 * 60_000,
      // Tests are bounded by their work; Jest's own timeout is the hang guard.
      protocolTimeout: 30 * 60_000,
    });
    return { browser, version: await browser.version() };
  } catch (e) {
    return { unavailable: `Chromium (${executablePath}) did not start: ${(e as Error).message.split('\n')[0]}` };
  }
}
