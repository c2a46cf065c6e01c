/**
 * What the browser tests and the browser benchmark ask of a browser, whichever engine runs it
 * and however it is driven (puppeteer-core over CDP or WebDriver BiDi, or W3C WebDriver): open a
 * page, run a function in it, close everything. Each engine's launcher (`chromium.ts`,
 * `firefox.ts`, `webkitgtk.ts`) returns a {@link BrowserEngine}, or one line saying why it is
 * unavailable; `engines.ts` lists them.
 */

/** The engines the suite knows how to start. */
export type EngineName = 'chromium' | 'firefox' | 'webkitgtk';

/** A started browser. */
export interface BrowserEngine {
  readonly name: EngineName;
  /** Product and version as the browser reports them, e.g. `Firefox 153.8.0`. */
  readonly version: string;
  /** Opens a new page (a tab) at `url`, once its load event has fired. */
  openPage(url: string): Promise<BrowserPage>;
  /** Closes the browser and ends every process it started; never throws. */
  close(): Promise<void>;
}

/** A page of a {@link BrowserEngine}. */
export interface BrowserPage {
  /**
   * Runs `fn(...args)` in the page and resolves with its result (awaited if it is a promise).
   * `fn` is sent as source text: it may use only its arguments and the page's globals; the
   * arguments and the result must survive JSON. A rejection or a throw in the page rejects
   * with an `Error` carrying the page's message.
   */
  evaluate<A extends unknown[], R>(fn: (...args: A) => R | Promise<R>, ...args: A): Promise<R>;
  /** Navigates to `url` and waits for its load event. */
  goto(url: string): Promise<void>;
  /** Reloads the page and waits for its load event. */
  reload(): Promise<void>;
  /** Closes the page; never throws. */
  close(): Promise<void>;
}

/** What a launcher gives: the browser, or one line saying why it could not be started. */
export type EngineStart = { readonly engine: BrowserEngine } | { readonly unavailable: string };

/** The first line of a thrown value's message: a reason fit for one line, never a stack. */
export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n').find((line) => line.trim() !== '')?.trim() ?? '(no message)';
}
