import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

export interface ReadinessCheck {
  name: string;
  check(): Promise<boolean>;
}

const Health = z.object({ status: z.enum(['ok', 'unavailable']), checks: z.record(z.string(), z.enum(['ok', 'failing'])).optional() });

/** Liveness answers while the process runs; readiness asks Redis and the workers. */
export function healthRoutes(checks: ReadinessCheck[]): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/healthz', { schema: { tags: ['health'], summary: 'Liveness', response: { 200: Health } } }, async () => ({ status: 'ok' as const }));
    app.get('/readyz', { schema: { tags: ['health'], summary: 'Readiness: Redis reachable, workers up', response: { 200: Health, 503: Health } } }, async (_req, reply) => {
      const results = await Promise.all(checks.map(async (c) => [c.name, await c.check().catch(() => false)] as const));
      const ok = results.every(([, r]) => r);
      return reply.code(ok ? 200 : 503).send({
        status: ok ? 'ok' : 'unavailable',
        checks: Object.fromEntries(results.map(([n, r]) => [n, r ? 'ok' : 'failing'])),
      });
    });
  };
}
