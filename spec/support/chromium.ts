/**
 * Headless Chromium for the browser tests, from npm with nothing installed by hand: the binary
 * of `@sparticuz/chromium` (Chromium 153: JSPI, multi-memory) driven by `puppeteer-core`, both
 * exact devDependencies. Started with background networking disabled: these machines have no
 * network, and a test must not depend on one.
 *
 * This build of Chromium crashes (the whole browser, in its `--single-process` mode) when a guest
 * reads or writes out of bounds: V8's WebAssembly trap handler turns the guard page's SIGSEGV into
 * a trap only when the crash reporter forwards the signal to it, and this build has none. So by
 * default V8 is told to check memory bounds explicitly (`--wasm-enforce-bounds-checks`), which is
 * how engines without a trap handler work: a trap is then a `RuntimeError`, as everywhere else.
 * The benchmark, whose guests never trap, keeps the trap handler's faster code.
 */
import chromium from '@sparticuz/chromium';
import puppeteer from 'puppeteer-core';
import { type EngineStart, firstLine } from './browser-engine.js';
import { puppeteerEngine } from './puppeteer-engine.js';

/**
 * Starts headless Chromium; never throws (a failure is returned, in one line, for the tests to
 * skip with). `explicitBoundsChecks: false` keeps V8's trap handler: see the module documentation.
 */
export async function startChromium(options: { readonly explicitBoundsChecks?: boolean } = {}): Promise<EngineStart> {
  let executablePath: string;
  try {
    executablePath = await chromium.executablePath();
  } catch (e) {
    return { unavailable: `@sparticuz/chromium could not unpack its Chromium: ${firstLine(e)}` };
  }
  try {
    const browser = await puppeteer.launch({
      executablePath,
      headless: true,
      args: [
        ...chromium.args,
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        ...(options.explicitBoundsChecks === false ? [] : ['--js-flags=--wasm-enforce-bounds-checks']),
      ],
      // A hang guard for the start only; tests are bounded by their work.
      timeout: 5 * 60_000,
      protocolTimeout: 30 * 60_000,
    });
    // "HeadlessChrome/153.0.8010.0"
    const version = (await browser.version()).replace(/^HeadlessChrome\//, 'Chromium ');
    return { engine: puppeteerEngine('chromium', version, browser) };
  } catch (e) {
    return { unavailable: `Chromium (${executablePath}) did not start: ${firstLine(e)}` };
  }
}
