/**
 * The browser tests' Worker: says `'ready'` once its module has run, then runs one suite function
 * per message and replies with its result.
 */
import { SUITE, type SuiteName } from './suite.js';

addEventListener('message', (event: MessageEvent<{ name: SuiteName; argument: unknown }>) => {
  const { name, argument } = event.data;
  Promise.resolve()
    .then(() => (SUITE[name] as (argument: unknown) => unknown)(argument))
    .then(
      (value) => postMessage({ ok: true, value }),
      (e: unknown) => postMessage({ ok: false, error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e) }),
    );
});
postMessage('ready');
