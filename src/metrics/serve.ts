import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Metrics } from './metrics.js';

/** `GET <path>` on the API: public like the health routes (the contract: anyone on the metrics port and path). */
export function metricsRoute(metrics: Metrics, path: string): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(path, {
      schema: {
        tags: ['metrics'],
        operationId: 'getMetrics',
        summary: 'Prometheus metrics (text exposition format)',
        description: 'Tickets created, events, open tickets, SLA warnings and breaches, handoff receipt latency, dead letters, outbox lag, BullMQ queue metrics and process metrics. No label carries a ticket id or personal data.',
        // The media type on the 200 alone: the problems this route can answer are JSON.
        response: { 200: { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: z.string() } } } },
      },
    }, async (_req, reply) => {
      const text = await metrics.render({ shared: true });
      return reply.type(metrics.contentType).send(text);
    });
  };
}

export interface MetricsListener {
  url: string;
  close(): Promise<void>;
}

/**
 * Metrics on a port of their own (LOTSE_METRICS_PORT): answers only `GET
 * <path>`, so nothing of the API is reachable there. `shared` as for render.
 */
export async function listenMetrics(metrics: Metrics, o: { host: string; port: number; path: string; shared: boolean; logger: Logger }): Promise<MetricsListener> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== o.path || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    metrics.render({ shared: o.shared }).then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err: unknown) => {
        o.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'metrics scrape failed');
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '2' }).end('metrics unavailable\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${port}${o.path}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
