/**
 * WebKitGTK for the browser tests: Debian's `webkit2gtk-driver` package (`WebKitWebDriver`, the
 * W3C WebDriver server of WebKitGTK, and its `MiniBrowser`), on a virtual display from `xvfb`
 * (`xvfb-run -a WebKitWebDriver --port=N`), driven by the minimal client of
 * `webdriver-client.ts`. JavaScriptCore as WebKitGTK 2.50 ships it has neither JSPI nor
 * multi-memory: the suite checks the library's refusals there. Not an npm dependency: where
 * it is not installed the tests say so and skip
 * (`apt-get install -y --no-install-recommends webkit2gtk-driver xvfb xauth`).
 */
import { existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { type BrowserEngine, type BrowserPage, type EngineStart, firstLine } from './browser-engine.js';
import { spawnGroup } from './process-group.js';
import { WebDriverSession, webDriverReady } from './webdriver-client.js';

const DRIVER = '/usr/bin/WebKitWebDriver';
const XVFB_RUN = '/usr/bin/xvfb-run';
const INSTALL = 'apt-get install -y --no-install-recommends webkit2gtk-driver xvfb xauth';

/** Where Debian puts WebKitGTK's MiniBrowser (`/usr/lib/<triplet>/webkit2gtk-4.1/MiniBrowser`), or the variable `WEBKIT_MINIBROWSER`. */
function miniBrowser(): string | null {
  const fromEnvironment = process.env['WEBKIT_MINIBROWSER'];
  if (fromEnvironment !== undefined) return existsSync(fromEnvironment) ? fromEnvironment : null;
  const preferred = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
  if (existsSync(preferred)) return preferred;
  for (const folder of readdirSync('/usr/lib', { withFileTypes: true })) {
    const path = join('/usr/lib', folder.name, 'webkit2gtk-4.1', 'MiniBrowser');
    if (folder.isDirectory() && existsSync(path)) return path;
  }
  return null;
}

/** A TCP port nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The script "execute async script" runs for {@link BrowserPage.evaluate}: the function's
 * source applied to the arguments, its result or failure handed to WebDriver's callback (as
 * `failure`, not `error`: a value with a string `error` is how WebDriver itself reports one).
 */
function evaluationScript(source: string): string {
  return `const done = arguments[arguments.length - 1];
const args = Array.prototype.slice.call(arguments, 0, -1);
Promise.resolve()
  .then(() => (${source})(...args))
  .then(
    (value) => done({ ok: true, value: value === undefined ? null : value }),
    (e) => done({ ok: false, failure: e instanceof Error ? e.name + ': ' + e.message : String(e) }),
  );`;
}

/** Starts WebKitGTK's MiniBrowser under WebKitWebDriver on a virtual display; never throws. */
export async function startWebKitGtk(): Promise<EngineStart> {
  if (!existsSync(DRIVER)) return { unavailable: `WebKitWebDriver is not installed (Debian: ${INSTALL})` };
  if (!existsSync(XVFB_RUN)) return { unavailable: `xvfb-run is not installed (Debian: ${INSTALL})` };
  const binary = miniBrowser();
  if (binary === null) return { unavailable: `WebKitGTK's MiniBrowser was not found under /usr/lib/*/webkit2gtk-4.1 (Debian: ${INSTALL})` };

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const group = spawnGroup(XVFB_RUN, ['-a', DRIVER, `--port=${port}`]);
  const lastLine = (): string => group.output().trim().split('\n').pop() ?? '';
  // Until the driver listens, or gives up. (A hang guard, not a test budget.)
  const deadline = Date.now() + 2 * 60_000;
  while (!(await webDriverReady(base))) {
    if (group.hasExited()) return { unavailable: `WebKitWebDriver exited at start: ${lastLine() || 'no output'}` };
    if (Date.now() > deadline) {
      await group.stop();
      return { unavailable: `WebKitWebDriver did not listen on port ${port} within 2 minutes: ${lastLine() || 'no output'}` };
    }
    await pause(50);
  }

  let session: WebDriverSession;
  try {
    session = await WebDriverSession.create(base, {
      'webkitgtk:browserOptions': { binary, args: ['--automation'] },
    });
  } catch (e) {
    await group.stop();
    return { unavailable: `WebKitWebDriver could not start MiniBrowser (${binary}): ${firstLine(e)}` };
  }

  // WebDriver talks to one window at a time: each page switches to its own before a command.
  let current = await session.currentWindow();
  let initialWindowFree = true;
  // Closing the last window ends a WebDriver session: the last page left is blanked instead.
  let openPages = 0;
  const on = async (handle: string): Promise<void> => {
    if (current !== handle) await session.switchToWindow(handle);
    current = handle;
  };
  const engine: BrowserEngine = {
    name: 'webkitgtk',
    version: `WebKitGTK ${String(session.capabilities['browserVersion'] ?? '(unknown version)')}`,
    async openPage(url) {
      let handle: string;
      if (initialWindowFree) {
        initialWindowFree = false;
        handle = current;
      } else {
        handle = await session.newWindow();
      }
      await on(handle);
      await session.navigate(url);
      openPages++;
      let closed = false;
      const page: BrowserPage = {
        async evaluate(fn, ...args) {
          await on(handle);
          const reply = (await session.executeAsync(evaluationScript(fn.toString()), args)) as { ok: boolean; value?: unknown; failure?: string };
          if (!reply.ok) throw new Error(reply.failure);
          return reply.value as never;
        },
        async goto(target) {
          await on(handle);
          await session.navigate(target);
        },
        async reload() {
          await on(handle);
          await session.refresh();
        },
        async close() {
          if (closed) return;
          closed = true;
          openPages--;
          try {
            await on(handle);
            if (openPages > 0) {
              await session.closeWindow();
              current = '';
            } else {
              await session.navigate('about:blank');
              initialWindowFree = true;
            }
          } catch {
            // The session may be ending already.
          }
        },
      };
      return page;
    },
    async close() {
      try {
        await session.delete();
      } catch {
        // The driver may be gone already; the group is ended below either way.
      }
      await group.stop();
    },
  };
  return { engine };
}
