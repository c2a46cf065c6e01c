/**
 * A static HTTP server on 127.0.0.1 for the browser tests: serves the files it is given by URL
 * path, and records every request, so that a test can tell what a page downloaded (Binaryen's
 * chunk, or not).
 */
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { extname } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.png': 'image/png',
};

/** A running server; `close()` stops it. */
export interface StaticServer {
  readonly origin: string;
  /** The paths requested so far, in order. */
  readonly requests: string[];
  /** Serves `content` (a file path, or bytes/text) at `path`. */
  route(path: string, content: { file: string } | { body: Uint8Array | string; type?: string }): void;
  close(): Promise<void>;
}

export async function startStaticServer(): Promise<StaticServer> {
  const routes = new Map<string, { file: string } | { body: Uint8Array | string; type?: string }>();
  const requests: string[] = [];
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    requests.push(path);
    const route = routes.get(path);
    if (route === undefined) {
      response.writeHead(404).end();
      return;
    }
    const body = 'file' in route ? readFileSync(route.file) : route.body;
    const type = ('type' in route ? route.type : undefined) ?? TYPES[extname(path)] ?? 'application/octet-stream';
    response.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    route: (path, content) => void routes.set(path, content),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
