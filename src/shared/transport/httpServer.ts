import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { ConfigError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';

export interface Health {
  ok: boolean;
  reason: string;
}

/** What a route may know of its request: the Host header names the address the client reached this server at. */
export interface RouteRequest {
  host: string | undefined;
}

/** Extra GET routes: a body and its content type, or undefined for 404. */
export type Route = (req: RouteRequest) => Promise<{ type: string; body: Buffer | string } | undefined>;

export interface ObservabilityServer {
  port: number;
  close(): Promise<void>;
}

/**
 * The ports to try: `port` alone (taken is an error), or, when the user gave no port,
 * `port` up to `lastPort`, the first free one (several processes of one kind on one host).
 */
export interface PortChoice {
  host: string;
  port: number;
  lastPort?: number;
}

/** `HOST:PORT` that others reach a server bound to `bindHost` at: `advertise` when it binds every interface. */
export function reachableAt(bindHost: string, advertise: string, port: number): string {
  const host = bindHost === '0.0.0.0' || bindHost === '::' || bindHost === '' ? advertise : bindHost;
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * The HTTP side of a process: `GET /metrics` (Prometheus text format),
 * `GET /healthz` (200 or 503 with a JSON reason) and any extra routes.
 */
export async function startObservabilityServer(opts: PortChoice & {
  registry: Registry;
  health: () => Health;
  routes?: Record<string, Route>;
  logger: Logger;
}): Promise<ObservabilityServer> {
  const routes: Record<string, Route> = {
    '/metrics': async () => ({ type: opts.registry.contentType, body: await opts.registry.metrics() }),
    ...opts.routes,
  };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      const h = opts.health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify({ status: h.ok ? 'ok' : 'unhealthy', reason: h.reason })}\n`);
      return;
    }
    const route = routes[path];
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    route({ host: req.headers.host }).then((r) => {
      if (!r) res.writeHead(404, { 'content-type': 'text/plain' }).end('not available yet\n');
      else res.writeHead(200, { 'content-type': r.type }).end(req.method === 'HEAD' ? undefined : r.body);
    }, (err: unknown) => {
      opts.logger.log('warn', `GET ${path} failed: ${errorMessage(err)}`);
      res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n');
    });
  });
  // A scraper that stalls must not hold a socket forever.
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  await listenOnFirstFree(server, opts);
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const listen = (server: http.Server, host: string, port: number): Promise<void> => new Promise<void>((resolve, reject) => {
  const refuse = (err: Error): void => reject(err);
  server.once('error', refuse);
  server.listen(port, host, () => {
    server.off('error', refuse);
    resolve();
  });
});

/** Binds the first free port of the choice; only EADDRINUSE moves on to the next. */
async function listenOnFirstFree(server: http.Server, c: PortChoice): Promise<void> {
  const last = c.lastPort ?? c.port;
  for (let port = c.port; ; port++) {
    try {
      await listen(server, c.host, port);
      return;
    } catch (err) {
      const taken = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
      if (taken && port < last) continue;
      if (taken && last > c.port) throw new ConfigError(`cannot serve metrics on ${c.host}: ports ${c.port}-${last} are all taken (choose a free --metrics-port, 0 for any free one, or --no-metrics)`);
      throw new ConfigError(`cannot serve metrics on ${c.host}:${port}: ${errorMessage(err)} (choose another --metrics-port, 0 for any free one, or --no-metrics)`);
    }
  }
}
