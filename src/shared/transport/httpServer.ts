import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { ConfigError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';

export interface Health {
  ok: boolean;
  reason: string;
}

/** Extra GET routes: a body and its content type, or undefined for 404. */
export type Route = () => Promise<{ type: string; body: Buffer | string } | undefined>;

export interface ObservabilityServer {
  port: number;
  close(): Promise<void>;
}

/**
 * The HTTP side of a process: `GET /metrics` (Prometheus text format),
 * `GET /healthz` (200 or 503 with a JSON reason) and any extra routes.
 */
export async function startObservabilityServer(opts: {
  host: string;
  port: number;
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
    route().then((r) => {
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
  await new Promise<void>((resolve, reject) => {
    const refuse = (err: Error): void => reject(new ConfigError(
      `cannot serve metrics on ${opts.host}:${opts.port}: ${errorMessage(err)} (choose another --metrics-port, 0 for any free one, or --no-metrics)`));
    server.once('error', refuse);
    server.listen(opts.port, opts.host, () => {
      server.off('error', refuse);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
