/**
 * `npm run example:browser`: builds the browser example (`build-site.ts`) and serves it on
 * localhost, printing the URL. Stop it with Ctrl-C.
 *
 * ```sh
 * npm run example:browser [-- --port 8080]
 * ```
 */
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSite } from './build-site.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
};

const args = process.argv.slice(2);
const portIndex = args.indexOf('--port');
const port = portIndex === -1 ? 8080 : Number(args[portIndex + 1]);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`example:browser: --port must be a port number, got ${args[portIndex + 1]}`);
  process.exit(2);
}

const site = fileURLToPath(new URL('../../../build/examples/browser/site/', import.meta.url));
const files = await buildSite(site);
const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
const initial = files.filter((f) => f.initial);
console.log(`built the example into ${site}`);
console.log(`  loaded by the page at once: ${initial.map((f) => `${f.file} ${kb(f.bytes)}`).join(', ')}`);
console.log(`  loaded when needed: ${files.filter((f) => !f.initial).map((f) => `${f.file} ${kb(f.bytes)}`).join(', ')}`);

const server = createServer(async (request, response) => {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  const file = normalize(join(site, path === '/' ? 'index.html' : path));
  if (!file.startsWith(site)) return void response.writeHead(403).end();
  try {
    const body = await readFile(file);
    response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
  } catch {
    response.writeHead(404).end();
  }
});
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  const actual = typeof address === 'object' && address !== null ? address.port : port;
  console.log(`\nserving the example at http://localhost:${actual}/ (Ctrl-C to stop)`);
  console.log(`  ?backend=asyncify: the transform in a Worker the first time, then from IndexedDB; ?thread=main: no Worker`);
});
