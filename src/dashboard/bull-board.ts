import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { boardQueueName } from './queue-list.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Queue } from 'bullmq';
import { z } from 'zod';
import type { DocumentedRoute } from '../http/app.js';
import { ownOrigin } from '../http/auth.js';
import { AppError } from '../errors.js';
import { sendProblem } from '../http/problem.js';
import { securityHeaders } from './security-headers.js';
import type { Sessions } from './sessions.js';

export const BOARD_PATH = '/admin/queues';

/** How the OpenAPI document names the board's entry page, which bull-board registers hidden. */
export const BOARD_DOCS: Record<string, DocumentedRoute> = {
  [`GET ${BOARD_PATH}`]: {
    tags: ['dashboard'],
    operationId: 'getQueueBoard',
    summary: 'bull-board over every Lotse queue, behind the dashboard login, for operators (the steering committee sees the counts of the queues on its board)',
    response: {
      200: { description: "The operators' board (HTML) to an operator's session", content: { 'text/html': { schema: z.string() } } },
      303: z.null().describe('No session: to the login form, /dashboard/login; the steering committee: back to its board, /dashboard (Location)'),
    },
  },
};
/**
 * Where the steering committee's board link led. The committee has no
 * bull-board: every job carries ticket texts (subjects, descriptions,
 * answers) in its data, return value, failure reason or log, which the API
 * withholds from it; its own board shows each queue's counts by state
 * instead. The path stays as a way back to /dashboard for old links.
 */
export const READ_ONLY_BOARD_PATH = '/admin/queues-ro';

const SAFE = new Set(['GET', 'HEAD']);

/** Operators see jobs, never reporters: intake jobs and some handoffs carry personal data. */
export function withoutReporter(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutReporter);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([k]) => k !== 'reporter').map(([k, v]) => [k, withoutReporter(v)]));
  }
  return value;
}

/**
 * bull-board's page asks Google for its fonts and styles its loading
 * placeholder inline: both go, so the page keeps to `'self'` and nothing
 * leaves the server. The UI falls back to the system's sans-serif.
 */
export function localisePage(html: string): string {
  return html
    .replace(/<link[^>]+href="https?:\/\/[^"]*"[^>]*>/g, '')
    .replace(/<style>[\s\S]*?<\/style>/g, '')
    .replace(/\sstyle="[^"]*"/g, '')
    .replace(/\n\s*Loading\n/, '\n    Lädt …\n');
}

interface BoardDeps {
  /** Every queue, a partition's own (LOTSE_PARTITIONS) with its number: shown as `p<n>.<queue>` (boardQueueName). */
  queues: (Queue | { queue: Queue; partition: number })[];
  sessions: Sessions;
}

function board(path: string, queues: BoardDeps['queues'], readOnly: boolean) {
  const adapter = new FastifyAdapter();
  adapter.setBasePath(path);
  const queueAdapters = queues.map((entry) => {
    const [q, partition] = 'partition' in entry ? [entry.queue, entry.partition] : [entry, 0];
    const a = new BullMQAdapter(q, { readOnlyMode: readOnly, allowRetries: !readOnly, ...(partition > 0 ? { prefix: boardQueueName('', partition), displayName: `${q.name} · Partition ${partition}` } : {}) });
    a.setFormatter('data', withoutReporter);
    return a;
  });
  createBullBoard({
    queues: queueAdapters,
    serverAdapter: adapter,
    options: {
      uiConfig: {
        boardTitle: readOnly ? 'Lotse · Warteschlangen (nur lesen)' : 'Lotse · Warteschlangen',
        locale: { lng: 'de-DE' },
        hideDocsLink: true,
        miscLinks: [{ text: 'Zum Dashboard', url: '/dashboard' }],
      },
    },
  });
  return adapter;
}

const back = (reply: FastifyReply) => reply.code(303).header('location', '/dashboard').header('cache-control', 'no-store').send();

/** A page request without a session goes to the login; an API call gets a problem. */
function refuse(req: FastifyRequest, reply: FastifyReply) {
  if (SAFE.has(req.method) && !req.url.includes('/api/') && !req.url.includes('/static/')) return reply.code(303).header('location', '/dashboard/login').send();
  return sendProblem(reply, new AppError('UNAUTHENTICATED', 'Log in on /dashboard/login first'));
}

/**
 * bull-board over every Lotse queue, behind the dashboard's session, for
 * operators only: a board that may retry and clean. The steering committee
 * is sent back to its board (see READ_ONLY_BOARD_PATH). Its own requests carry no
 * CSRF token, so a change must name our Origin (browsers always send it on
 * PUT, PATCH, DELETE and POST) and SameSite=Strict keeps the cookie home.
 */
export function bullBoardRoutes(deps: BoardDeps) {
  return async (app: FastifyInstance) => {
    await app.register(async (scope) => {
      scope.addHook('onRequest', securityHeaders);
      const toBoard = async (_req: FastifyRequest, reply: FastifyReply) => back(reply);
      scope.get(READ_ONLY_BOARD_PATH, { schema: { hide: true } }, toBoard);
      scope.get(`${READ_ONLY_BOARD_PATH}/*`, { schema: { hide: true } }, toBoard);
    });
    for (const [path, readOnly] of [[BOARD_PATH, false]] as const) {
      await app.register(async (scope) => {
        scope.addHook('onRequest', securityHeaders);
        scope.addHook('onRequest', async (req, reply) => {
          const session = await deps.sessions.fromRequest(req);
          if (!session) return refuse(req, reply);
          if (session.principal.role !== 'operator') {
            // The steering committee sees the queues' counts on its board, not the jobs (their data holds ticket texts).
            if (SAFE.has(req.method) && !req.url.includes('/api/') && !req.url.includes('/static/')) return back(reply);
            return sendProblem(reply, new AppError('FORBIDDEN', 'The queues\' jobs are for operators; the steering committee sees their counts on /dashboard'));
          }
          // Hooks answer themselves: the board's own error handler would hide our problem documents.
          if (!SAFE.has(req.method) && req.headers.origin !== ownOrigin(req)) return sendProblem(reply, new AppError('FORBIDDEN', 'Cross-site request refused (Origin)', { reason: 'csrf' }));
          req.principal = session.principal;
        });
        scope.addHook('onSend', async (_req, reply, payload) => {
          const type = String(reply.getHeader('content-type') ?? '');
          if (typeof payload === 'string' && type.startsWith('text/html')) return localisePage(payload);
          return payload;
        });
        await scope.register(board(path, deps.queues, readOnly).registerPlugin(), { prefix: path });
      });
    }
  };
}
