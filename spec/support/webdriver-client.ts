/**
 * The least of a W3C WebDriver client (https://www.w3.org/TR/webdriver2/) the browser tests
 * need to drive a browser that speaks nothing else (WebKitGTK's `WebKitWebDriver`): a session,
 * navigation, windows, and "execute async script". Requests go through `node:http` rather than
 * `fetch`: Node's `fetch` gives up on a response whose headers take more than 300 s, and an
 * "execute async script" answers only when the page's work is done, which a test's work bounds,
 * not a clock.
 */
import { request } from 'node:http';

/** An error the remote end reported (`error` is the W3C error code, e.g. `javascript error`). */
export class WebDriverError extends Error {
  override readonly name = 'WebDriverError';
  constructor(
    readonly error: string,
    message: string,
  ) {
    super(`${error}: ${message}`);
  }
}

/** One HTTP exchange with the remote end; resolves with the response's `value`. */
function send(base: string, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const outgoing = request(
      new URL(path, base),
      {
        method,
        headers: payload === undefined ? {} : { 'content-type': 'application/json; charset=utf-8', 'content-length': payload.length },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          let parsed: { value?: unknown };
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { value?: unknown };
          } catch {
            reject(new WebDriverError('unknown error', `${method} ${path}: HTTP ${response.statusCode}, not JSON`));
            return;
          }
          const value = parsed.value as { error?: string; message?: string } | null | undefined;
          if ((response.statusCode ?? 500) >= 400 || (value !== null && typeof value === 'object' && typeof value.error === 'string')) {
            reject(new WebDriverError(value?.error ?? `HTTP ${response.statusCode}`, value?.message ?? ''));
          } else {
            resolve(parsed.value);
          }
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

/** Whether the remote end at `base` answers and is ready for a new session. */
export async function webDriverReady(base: string): Promise<boolean> {
  try {
    const status = (await send(base, 'GET', '/status')) as { ready?: boolean };
    return status?.ready === true;
  } catch {
    return false;
  }
}

/** A WebDriver session. */
export class WebDriverSession {
  private constructor(
    private readonly base: string,
    private readonly id: string,
    /** The capabilities the remote end matched (`browserName`, `browserVersion`, ...). */
    readonly capabilities: Readonly<Record<string, unknown>>,
  ) {}

  /**
   * Starts a session at the remote end `base` (e.g. `http://127.0.0.1:4444`) with
   * `alwaysMatch` capabilities. Scripts may run for as long as their work takes.
   */
  static async create(base: string, alwaysMatch: Record<string, unknown>): Promise<WebDriverSession> {
    const created = (await send(base, 'POST', '/session', { capabilities: { alwaysMatch } })) as {
      sessionId: string;
      capabilities: Record<string, unknown>;
    };
    const session = new WebDriverSession(base, created.sessionId, created.capabilities);
    await session.command('POST', '/timeouts', { script: null, pageLoad: 30 * 60_000 });
    return session;
  }

  private command(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
    return send(this.base, method, `/session/${this.id}${path}`, method === 'POST' ? (body ?? {}) : undefined);
  }

  /** Navigates the current window to `url`; resolves once the page has loaded. */
  async navigate(url: string): Promise<void> {
    await this.command('POST', '/url', { url });
  }

  /** Reloads the current window's page. */
  async refresh(): Promise<void> {
    await this.command('POST', '/refresh');
  }

  /**
   * Runs `script` (a function body: its arguments are `args`, then the callback that ends it)
   * in the current window's page; resolves with the value passed to the callback.
   */
  executeAsync(script: string, args: readonly unknown[]): Promise<unknown> {
    return this.command('POST', '/execute/async', { script, args });
  }

  /** The handle of the current window. */
  async currentWindow(): Promise<string> {
    return (await this.command('GET', '/window')) as string;
  }

  /** Opens a new tab; returns its handle (the current window does not change). */
  async newWindow(): Promise<string> {
    return ((await this.command('POST', '/window/new', { type: 'tab' })) as { handle: string }).handle;
  }

  /** Makes the window `handle` the current one. */
  async switchToWindow(handle: string): Promise<void> {
    await this.command('POST', '/window', { handle });
  }

  /** Closes the current window. */
  async closeWindow(): Promise<void> {
    await this.command('DELETE', '/window');
  }

  /** Ends the session (the remote end closes the browser). */
  async delete(): Promise<void> {
    await this.command('DELETE', '');
  }
}
