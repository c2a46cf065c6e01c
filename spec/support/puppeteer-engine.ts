/**
 * A {@link BrowserEngine} over a browser that `puppeteer-core` launched: Chromium (over the
 * Chrome DevTools Protocol) and Firefox (over WebDriver BiDi) are driven alike.
 */
import type { Browser, Page } from 'puppeteer-core';
import type { BrowserEngine, BrowserPage, EngineName } from './browser-engine.js';

/** Adapts a launched puppeteer `browser` to the suite's interface. */
export function puppeteerEngine(name: EngineName, version: string, browser: Browser): BrowserEngine {
  return {
    name,
    version,
    async openPage(url) {
      const page = await browser.newPage();
      await page.goto(url, { timeout: 0 });
      return puppeteerPage(page);
    },
    async close() {
      try {
        await browser.close();
      } catch {
        // Already gone, or refusing to close gracefully: end its process (and children).
        try {
          browser.process()?.kill('SIGKILL');
        } catch {
          // Nothing left to end.
        }
      }
    },
  };
}

function puppeteerPage(page: Page): BrowserPage {
  return {
    evaluate: async (fn, ...args) => (await page.evaluate(fn as never, ...(args as unknown as never[]))) as never,
    goto: async (url) => void (await page.goto(url, { timeout: 0 })),
    reload: async () => void (await page.reload({ timeout: 0 })),
    close: async () => {
      try {
        await page.close();
      } catch {
        // The browser may be closing already.
      }
    },
  };
}
