import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { ProblemSchema, sendProblem } from '../problem.js';

/** A check that has not answered by then counts as failing: a frozen Redis must not hold /readyz. */
export const READINESS_TIMEOUT_MS = 1000;

/** The check's answer, or false once the deadline passes first. */
async function checkWithin(c: ReadinessCheck, ms: number): Promise<ReadinessResult> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<ReadinessResult>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([c.check().catch((): ReadinessResult => false), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A failing check may say why (`missing roles: sla, relay`); plain `false` just fails. */
export type ReadinessResult = boolean | { ok: false; reason: string };

export interface ReadinessCheck {
  name: string;
  check(): Promise<ReadinessResult>;
}

const Checks = z.record(z.string(), z.enum(['ok', 'failing']));
const Health = z.object({ status: z.enum(['ok', 'unavailable']), checks: Checks.optional() });
const NotReady = ProblemSchema.extend({ checks: Checks, reasons: z.record(z.string(), z.string()).optional() }).describe(
  'RFC 9457 problem details naming the failing checks, and why where a check says (the worker roles missing)',
);

/** Liveness answers while the process runs; readiness asks Redis and the workers. */
export function healthRoutes(checks: ReadinessCheck[]): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/healthz', { schema: { tags: ['health'], operationId: 'getLiveness', summary: 'Liveness', response: { 200: Health } } }, async () => ({ status: 'ok' as const }));
    app.get('/readyz', { schema: { tags: ['health'], operationId: 'getReadiness', summary: 'Readiness: Redis reachable, workers up', response: { 200: Health, 503: NotReady } } }, async (_req, reply) => {
      const results = await Promise.all(checks.map(async (c) => [c.name, await checkWithin(c, READINESS_TIMEOUT_MS)] as const));
      const report = Object.fromEntries(results.map(([n, r]) => [n, r === true ? ('ok' as const) : ('failing' as const)]));
      const failing = results.filter(([, r]) => r !== true);
      const reasons = Object.fromEntries(failing.flatMap(([n, r]) => (typeof r === 'object' ? [[n, r.reason]] : [])));
      const named = failing.map(([n, r]) => (typeof r === 'object' ? `${n} failing (${r.reason})` : `${n} failing`));
      // Not ready is an error like any other: a problem document, with every check's result beside it.
      if (failing.length > 0) {
        return sendProblem(reply, new AppError('NOT_READY', `Not ready: ${named.join('; ')}`, { checks: report, ...(Object.keys(reasons).length > 0 ? { reasons } : {}) }));
      }
      return { status: 'ok' as const, checks: report };
    });
  };
}
