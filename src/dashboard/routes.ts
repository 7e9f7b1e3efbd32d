import { fileURLToPath } from 'node:url';
import { fastifyCookie } from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { PrincipalResolver } from '../config/principals.js';
import type { Topology } from '../domain/topology.js';
import type { TicketEngine as Engine } from '../engine/ticket/index.js';
import { ownOrigin, principalOf, sameToken } from '../http/auth.js';
import { AppError } from '../errors.js';
import { sendProblem } from '../http/problem.js';
import { BOARD_PATH, READ_ONLY_BOARD_PATH } from './bull-board.js';
import { consoleRoutes } from './console.js';
import type { Overview } from './overview.js';
import { securityHeaders } from './security-headers.js';
import type { Sessions } from './sessions.js';

export const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));
const DASHBOARD_ROLES = ['operator', 'steering'] as const;

/** What the OpenAPI document says `GET /dashboard` answers (besides the problems every route can answer). */
const DASHBOARD_PAGE_RESPONSES = {
  200: { description: 'The board (HTML) to a session of an operator or the steering committee', content: { 'text/html': { schema: z.string() } } },
  303: z.null().describe('No session: to the login form, /dashboard/login (Location)'),
};
const FORM_LIMIT = 4096;

export interface DashboardDeps {
  topology: Topology;
  principals: PrincipalResolver;
  sessions: Sessions;
  overview: Overview;
  /** The console's one read beyond the API (a ticket with its clocks and allowed events); its pages change tickets over /v1. */
  engine: Engine;
  now?: () => number;
}

/** A form post from another site is refused; a browser names the Origin of every POST. */
const crossSite = (req: FastifyRequest) => req.headers.origin !== undefined && req.headers.origin !== ownOrigin(req);

const back = (reply: FastifyReply, location: string) => reply.code(303).header('location', location).header('cache-control', 'no-store').send();

/** Names the page shows beside ids: Länder, organisations, services. */
function namesOf(topology: Topology) {
  return {
    lands: Object.fromEntries([...topology.lands.values()].map((l) => [l.code, l.name])),
    orgs: Object.fromEntries([...topology.orgs.values()].map((o) => [o.id, o.name])),
    services: Object.fromEntries([...topology.services.values()].map((s) => [s.id, s.name])),
  };
}

/**
 * `/dashboard`: the login (a key, once, by POST), the page and its assets
 * (served as they are), and the JSON the page reads. Only operators and the
 * steering committee get a session.
 */
export function dashboardRoutes(deps: DashboardDeps) {
  const now = deps.now ?? Date.now;
  const names = namesOf(deps.topology);

  return async (app: FastifyInstance) => {
    // Registered for its parse and serialize (the sessions use them directly, also in the root auth hook).
    await app.register(fastifyCookie);
    app.addHook('onRequest', securityHeaders);
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_LIMIT }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    });
    await app.register(fastifyStatic, { root: PUBLIC_DIR, prefix: '/dashboard/assets/', index: false, cacheControl: true, maxAge: 0 });

    app.get('/dashboard', { schema: { tags: ['dashboard'], operationId: 'getDashboard', summary: 'The live board for operators and the steering committee (a login form without a session)', response: DASHBOARD_PAGE_RESPONSES } }, async (req, reply) => {
      if (!(await deps.sessions.fromRequest(req))) return back(reply, '/dashboard/login');
      reply.header('cache-control', 'no-store');
      return reply.sendFile('index.html');
    });

    app.get('/dashboard/login', { schema: { hide: true } }, async (req, reply) => {
      if (await deps.sessions.fromRequest(req)) return back(reply, '/dashboard');
      reply.header('cache-control', 'no-store');
      return reply.sendFile('login.html');
    });

    app.post('/dashboard/login', { schema: { hide: true } }, async (req, reply) => {
      if (crossSite(req)) return sendProblem(reply, new AppError('FORBIDDEN', 'Cross-site login refused (Origin)', { reason: 'csrf' }));
      const key = (req.body as { key?: unknown } | undefined)?.key;
      // Throttled per client and key prefix, failures logged without the key, the session bound to the key.
      const login = typeof key === 'string' && key.length <= 500 ? await deps.sessions.logIn(req, key.trim(), DASHBOARD_ROLES) : ({ kind: 'unknown-key' } as const);
      if (login.kind === 'throttled') {
        reply.header('retry-after', String(login.retryAfter));
        return sendProblem(reply, new AppError('RATE_LIMITED', `Too many failed logins; try again in ${login.retryAfter} seconds`, { retryAfter: login.retryAfter }));
      }
      if (login.kind === 'unknown-key') return back(reply, '/dashboard/login?fehler=schluessel');
      if (login.kind === 'wrong-role') return back(reply, '/dashboard/login?fehler=rolle');
      const { session } = login;
      req.log.info({ orgId: session.principal.orgId, role: session.principal.role }, 'dashboard login');
      reply.header('set-cookie', deps.sessions.cookie(req, session.id));
      return back(reply, '/dashboard');
    });

    app.post('/dashboard/logout', { schema: { hide: true } }, async (req, reply) => {
      const session = await deps.sessions.fromRequest(req);
      if (!session) return back(reply, '/dashboard/login');
      const token = (req.body as { _csrf?: unknown } | undefined)?._csrf;
      if (crossSite(req) || !sameToken(typeof token === 'string' ? token : undefined, session.csrf)) {
        return sendProblem(reply, new AppError('FORBIDDEN', 'Missing or wrong CSRF token', { reason: 'csrf' }));
      }
      await deps.sessions.destroy(session.id, session.principal.orgId);
      reply.header('set-cookie', deps.sessions.clearCookie(req));
      return back(reply, '/dashboard/login?abgemeldet=1');
    });

    app.get('/dashboard/api/session', { config: { roles: DASHBOARD_ROLES }, schema: { hide: true } }, async (req, reply) => {
      const principal = principalOf(req);
      const session = req.sessionId ? await deps.sessions.get(req.sessionId) : null;
      reply.header('cache-control', 'no-store');
      return {
        orgId: principal.orgId,
        orgName: names.orgs[principal.orgId] ?? principal.orgId,
        role: principal.role,
        readOnly: principal.role !== 'operator',
        csrf: session?.csrf ?? null,
        board: principal.role === 'operator' ? BOARD_PATH : READ_ONLY_BOARD_PATH,
        names,
      };
    });

    app.get('/dashboard/api/overview', { config: { roles: DASHBOARD_ROLES }, schema: { hide: true } }, async (req, reply) => {
      reply.header('cache-control', 'no-store');
      return deps.overview.read(principalOf(req));
    });

    await app.register(consoleRoutes({ engine: deps.engine, topology: deps.topology, sessions: deps.sessions, now }));
  };
}
