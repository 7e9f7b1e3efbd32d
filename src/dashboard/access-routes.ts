import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { IdSchema } from '../domain/ids.js';
import type { Topology } from '../domain/topology.js';
import { AppError } from '../errors.js';
import { principalOf } from '../http/auth.js';
import { sendProblem } from '../http/problem.js';
import type { Sessions } from './sessions.js';

/**
 * `POST /dashboard/api/sessions/end`: an operator ends every board session
 * of one organisation at once (a lost laptop, a key handed on). From the
 * board it is a change like any other: the session's CSRF token in
 * `x-csrf-token` and our Origin (the root hooks check both).
 */
export function sessionAdminRoutes(deps: { topology: Topology; sessions: Sessions }): FastifyPluginAsyncZod {
  return async (app) => {
    app.post('/dashboard/api/sessions/end', {
      config: { roles: ['operator'] },
      schema: {
        hide: true,
        body: z.strictObject({ orgId: IdSchema }),
      },
    }, async (req, reply) => {
      const { orgId } = req.body;
      if (!deps.topology.orgs.has(orgId)) return sendProblem(reply, new AppError('NOT_FOUND', `No organisation ${orgId}`));
      const ended = await deps.sessions.destroyOrg(orgId);
      req.log.info({ orgId, ended, by: principalOf(req).orgId }, 'dashboard sessions of an organisation ended');
      reply.header('cache-control', 'no-store');
      return { orgId, ended };
    });
  };
}
