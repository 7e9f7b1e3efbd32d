import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { HttpSettings } from '../config/env.js';
import { isLoopbackHost, type PrincipalResolver } from '../config/principals.js';
import type { Engine } from '../engine/engine.js';
import { csrfHook, makeAuthHook, type SessionAuth } from './auth.js';
import { installJsonParser } from './json-body.js';
import { registerRateLimit, registerUnderPressure, type RateLimitDeps } from './limits.js';
import { handleClientError, handleError, handleFrameworkError, sendProblem } from './problem.js';
import { PACKAGE_VERSION } from '../package-version.js';
import { asyncApiRoute } from './asyncapi.js';
import { documentProblems, INTERNAL_PROBLEM, UNAVAILABLE_PROBLEM } from './documented-problems.js';
import { docsSecurityHeaders } from './security-headers.js';
import { healthRoutes, type ReadinessCheck } from './routes/health.js';
import { ticketRoutes } from './routes/tickets.js';

export type App = FastifyInstance;

export interface AppDeps {
  engine: Engine;
  principals: PrincipalResolver;
  logger: Logger;
  readiness: ReadinessCheck[];
  /** The documents' version; default the package's. */
  version?: string;
  /** The dashboard's sessions: a cookie that authenticates like a key (changes need its CSRF token). */
  sessions?: SessionAuth;
  /** Routes a plugin registers hidden that the OpenAPI document names all the same (`GET /admin/queues` → tags and summary). */
  documentedElsewhere?: Record<string, { tags: string[]; summary: string }>;
  /** Extra routes (dashboard, metrics, …) mounted after the core ones. */
  plugins?: ((app: FastifyInstance) => Promise<void>)[];
  /** Server timeouts and load shedding; defaults as in the environment settings. */
  http?: Partial<HttpSettings>;
  /** Per-key rate limits counted in Redis; without it, nothing is limited. */
  rateLimit?: RateLimitDeps;
  /** Fastify's trustProxy (LOTSE_TRUST_PROXY): whose X-Forwarded-* headers are believed; default nobody's. */
  trustProxy?: boolean | string;
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
  app.setNotFoundHandler((req, reply) => sendProblem(reply, 404, 'NOT_FOUND', `No route ${req.method} ${(req.url.split('?')[0] ?? '').slice(0, 200)}`));
  // The public development keys answer only to a loopback Host: a DNS-rebinding page names its own host, and is refused.
  if (deps.principals.devKeys) {
    app.addHook('onRequest', async (req, reply) => {
      if (!isLoopbackHost(req.headers.host)) return sendProblem(reply, 403, 'FORBIDDEN', 'With development keys on, Lotse answers only to a loopback Host (localhost, 127.0.0.1, [::1])', { reason: 'host' });
    });
  }
  await registerUnderPressure(app, http);
  app.addHook('onRequest', makeAuthHook(deps.principals, deps.sessions));
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
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
      tags: [{ name: 'tickets' }, { name: 'health' }, { name: 'metrics' }, { name: 'docs' }],
      // The docs routes of swagger-ui are hidden; /docs itself is part of the contract.
      paths: {
        '/docs': {
          get: {
            tags: ['docs'],
            summary: 'This OpenAPI 3.1 document (JSON) to API clients; the browsable page to browsers (Accept: text/html)',
            security: [],
            responses: {
              200: { description: 'The OpenAPI document', content: { 'application/json': { schema: { type: 'object' } }, 'text/html': { schema: { type: 'string' } } } },
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
      return { ...jsonSchemaTransform({ ...doc, schema: { ...extra, response: { 500: INTERNAL_PROBLEM, 503: UNAVAILABLE_PROBLEM } } }), url };
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
