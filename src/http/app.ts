import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { HttpSettings } from '../config/env.js';
import { AppError } from '../errors.js';
import { isLoopbackHost, type PrincipalResolver } from '../config/principals.js';
import type { TicketEngine } from '../engine/ticket/index.js';
import { csrfHook, makeAuthHook, type KeyThrottle, type SessionAuth } from './auth.js';
import { installJsonParser } from './json-body.js';
import { registerRateLimit, registerUnderPressure, type RateLimitDeps } from './limits.js';
import { handleClientError, handleError, handleFrameworkError, sendProblem } from './problem.js';
import { PACKAGE_VERSION } from '../package-version.js';
import { asyncApiRoute } from './asyncapi.js';
import { documentProblems, withDocumentedProblems } from './documented-problems.js';
import { docsSecurityHeaders } from './security-headers.js';
import { healthRoutes, type ReadinessCheck } from './routes/health.js';
import { ticketRoutes } from './routes/tickets.js';

export type App = FastifyInstance;

export interface AppDeps {
  engine: TicketEngine;
  principals: PrincipalResolver;
  logger: Logger;
  readiness: ReadinessCheck[];
  /** The documents' version; default the package's. */
  version?: string;
  /** The dashboard's sessions: a cookie that authenticates like a key (changes need its CSRF token). */
  sessions?: SessionAuth;
  /** Wrong Bearer keys counted per client and key prefix (the board login's counters); without it, guesses are only logged. */
  keyThrottle?: KeyThrottle;
  /** Routes a plugin registers hidden that the OpenAPI document names all the same (`GET /admin/queues` → its schema for the document). */
  documentedElsewhere?: Record<string, DocumentedRoute>;
  /** Extra routes (dashboard, metrics, …) mounted after the core ones. */
  plugins?: ((app: FastifyInstance) => Promise<void>)[];
  /** Server timeouts and load shedding; defaults as in the environment settings. */
  http?: Partial<HttpSettings>;
  /** Per-key rate limits counted in Redis; without it, nothing is limited. */
  rateLimit?: RateLimitDeps;
  /** Fastify's trustProxy (LOTSE_TRUST_PROXY): whose X-Forwarded-* headers are believed; default nobody's. */
  trustProxy?: boolean | string;
}

/** How the OpenAPI document names a route a plugin registers hidden. */
export interface DocumentedRoute {
  tags: string[];
  summary: string;
  operationId: string;
  /** Its answers by status: a zod schema, or one per media type; the problems every route can answer are added. */
  response: Record<number, z.ZodType | { description: string; content: Record<string, { schema: z.ZodType }> }>;
}

/** The tags of the OpenAPI document, each with what it groups. */
const TAGS = [
  { name: 'tickets', description: 'Create tickets, apply events to them, read them, their history and SLA clocks, erase their personal data' },
  { name: 'backlog', description: 'Improvement items the tickets suggest or report again, and the decisions on them' },
  { name: 'dead-letters', description: 'Webhook deliveries that failed for good, to read and send again (operators)' },
  { name: 'mail', description: 'The mail exchange: health per organisation, undeliverable addresses (operators), a ticket\'s mail log' },
  { name: 'stats', description: 'Counts of tickets, queues and dead letters for the board' },
  { name: 'reports', description: "Reports for the alliance's steering committee: the cost split" },
  { name: 'stream', description: 'Server-sent events of ticket and backlog changes' },
  { name: 'health', description: 'Liveness and readiness for orchestrators and load balancers' },
  { name: 'metrics', description: 'Prometheus metrics' },
  { name: 'docs', description: 'This OpenAPI document and the AsyncAPI document of the queues, the webhook and the stream' },
  { name: 'dashboard', description: 'The browser pages for operators and the steering committee (behind the dashboard login)' },
];

/** A zod schema as the JSON Schema of a hand-written part of the document. */
function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _drop, ...json } = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
  return json;
}

/** The problem answers of a route described by hand, as OpenAPI response objects. */
function handWrittenProblems(method: string): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(withDocumentedProblems({ method })).map(([status, schema]) => {
      const json = jsonSchemaOf(schema as z.ZodType);
      return [status, { description: json.description, content: { 'application/json': { schema: json } } }];
    }),
  );
}

const BODY_LIMIT = 1024 * 1024;
/** Ids are at most 63 characters; a longer path parameter is refused before routing goes on. */
const MAX_PARAM_LENGTH = 100;

const HTTP_DEFAULTS: HttpSettings = {
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 120_000,
  keepAliveTimeoutMs: 5_000,
  maxEventLoopDelayMs: 1000,
  maxHeapUsedBytes: undefined,
};

/** The HTTP API. It never listens by itself: `app.listen` is the caller's, tests use `app.inject`. */
export async function buildApp(deps: AppDeps): Promise<App> {
  const http = { ...HTTP_DEFAULTS, ...deps.http };
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
    // Slow or idle clients cannot hold a connection.
    requestTimeout: http.requestTimeoutMs,
    connectionTimeout: http.idleTimeoutMs,
    keepAliveTimeout: http.keepAliveTimeoutMs,
    // Errors before any route runs are problem documents too.
    frameworkErrors: handleFrameworkError,
    clientErrorHandler: handleClientError,
    trustProxy: deps.trustProxy ?? false,
  }).withTypeProvider<ZodTypeProvider>();
  app.server.headersTimeout = http.headersTimeoutMs;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(handleError);
  // JSON only: Fastify's built-in text/plain parser would hand a string to the body schema (422 instead of 415).
  app.removeContentTypeParser('text/plain');
  installJsonParser(app, BODY_LIMIT);
  app.setNotFoundHandler((req, reply) => sendProblem(reply, new AppError('NOT_FOUND', `No route ${req.method} ${(req.url.split('?')[0] ?? '').slice(0, 200)}`)));
  // The public development keys answer only to a loopback Host: a DNS-rebinding page names its own host, and is refused.
  if (deps.principals.devKeys) {
    app.addHook('onRequest', async (req, reply) => {
      if (!isLoopbackHost(req.headers.host)) return sendProblem(reply, new AppError('FORBIDDEN', 'With development keys on, Lotse answers only to a loopback Host (localhost, 127.0.0.1, [::1])', { reason: 'host' }));
    });
  }
  await registerUnderPressure(app, http);
  app.addHook('onRequest', makeAuthHook(deps.principals, deps.sessions, deps.keyThrottle));
  app.addHook('preValidation', csrfHook);
  if (deps.rateLimit) await registerRateLimit(app, deps.rateLimit);
  // Before swagger's own onRoute hook: every documented route also names the errors any route can answer.
  app.addHook('onRoute', documentProblems);
  const version = deps.version ?? PACKAGE_VERSION;

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Lotse',
        version,
        description: 'Routes and escalates support tickets for shared public online services across first, second and third level support.',
        license: { name: 'EUPL-1.2', url: 'https://joinup.ec.europa.eu/collection/eupl/eupl-text-eupl-12' },
      },
      // Relative: the API answers at the root of whichever address served this document (each deployment has its own).
      servers: [{ url: '/', description: 'The Lotse that serves this document' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
      tags: TAGS,
      // The docs routes of swagger-ui are hidden; /docs itself is part of the contract.
      paths: {
        '/docs': {
          get: {
            tags: ['docs'],
            operationId: 'getOpenApiDocument',
            summary: 'This OpenAPI 3.1 document (JSON) to API clients; the browsable page to browsers (Accept: text/html)',
            security: [],
            responses: {
              200: { description: 'The OpenAPI document', content: { 'application/json': { schema: { type: 'object' } }, 'text/html': { schema: { type: 'string' } } } },
              ...handWrittenProblems('GET'),
            },
          },
        },
      },
    },
    // A route a plugin registers hidden (bull-board's page) is named all the same, with the errors every route can answer.
    transform: (doc) => {
      // The router keeps a prefixed plugin's root as `/prefix/`; the document names it as callers write it.
      const url = doc.url.length > 1 ? doc.url.replace(/\/$/, '') : doc.url;
      const extra = deps.documentedElsewhere?.[`${String(doc.route.method)} ${url}`];
      if (!extra) return jsonSchemaTransform(doc);
      const response = withDocumentedProblems({ method: doc.route.method }, extra.response);
      return { ...jsonSchemaTransform({ ...doc, schema: { ...extra, response } }), url };
    },
  });
  // The browsable page and its assets get the board's security headers (no framing, no sniffing, our sources only).
  app.addHook('onRequest', async (req, reply) => {
    if (/^\/docs(?:[/?]|$)/.test(req.url)) await docsSecurityHeaders(req, reply);
  });
  // /docs answers the OpenAPI document to API clients and the browsable page to people.
  app.addHook('onRequest', async (req, reply) => {
    if (req.url === '/docs' && !/text\/html/.test(req.headers.accept ?? '')) {
      return reply.type('application/json').send(app.swagger());
    }
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  await app.register(asyncApiRoute(version));

  await app.register(healthRoutes(deps.readiness));
  await app.register(ticketRoutes(deps.engine));
  for (const plugin of deps.plugins ?? []) await app.register(plugin);
  return app;
}
