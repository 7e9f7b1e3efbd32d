import fastifyRateLimit from '@fastify/rate-limit';
import fastifyUnderPressure from '@fastify/under-pressure';
import { getHeapStatistics } from 'node:v8';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RateCounters } from '../store/rate-counters.js';
import type { RateLimit, Role } from '../domain/topology.js';
import { AppError } from '../errors.js';
import { sendProblem } from './problem.js';

export interface RateLimitDeps {
  /** Counters live in Redis (src/store/rate-counters.ts), so every API process counts against the same limit. */
  counters: RateCounters;
  limits: Readonly<Record<Role, RateLimit>>;
}

/** Seconds a shed request is asked to wait. */
export const OVERLOAD_RETRY_AFTER_S = 5;

const limitOf = (deps: RateLimitDeps, req: FastifyRequest) => deps.limits[req.principal!.role];

/**
 * Rate limits per key (the principal: its organisation and role, not the
 * address), counted in Redis. Runs after the auth hook, so public routes
 * (health, readiness, docs) and refused keys are not counted. Headers are the
 * IETF draft's `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`
 * (draft-ietf-httpapi-ratelimit-headers-07), `Retry-After` on a 429.
 */
export async function registerRateLimit(app: FastifyInstance, deps: RateLimitDeps): Promise<void> {
  await app.register(fastifyRateLimit, {
    global: true,
    hook: 'onRequest',
    redis: deps.counters.redis,
    nameSpace: deps.counters.nameSpace,
    enableDraftSpec: true,
    skipOnError: false,
    allowList: (req) => req.principal === undefined,
    // Called before allowList: public routes get a key too, though it is never counted.
    keyGenerator: (req) => (req.principal ? `${req.principal.role}:${req.principal.orgId}` : 'public'),
    max: (req) => limitOf(deps, req).max,
    timeWindow: (req) => limitOf(deps, req).windowSeconds * 1000,
    errorResponseBuilder: (_req, ctx) =>
      new AppError('RATE_LIMITED', `More than ${ctx.max} requests in the window for this key; try again in ${ctx.after}`, { limit: ctx.max }),
  });
}

/** Load shedding: while the event loop lags or the heap is nearly full, requests get 503 with Retry-After. */
export async function registerUnderPressure(app: FastifyInstance, o: { maxEventLoopDelayMs: number; maxHeapUsedBytes: number | undefined }): Promise<void> {
  const maxHeapUsedBytes = o.maxHeapUsedBytes ?? Math.floor(getHeapStatistics().heap_size_limit * 0.9);
  await app.register(fastifyUnderPressure, {
    maxEventLoopDelay: o.maxEventLoopDelayMs,
    maxHeapUsedBytes,
    // Answers and returns nothing: a returned reply would be sent again, and Fastify stops at a sent reply.
    pressureHandler: (_req, reply, type) => {
      reply.header('retry-after', String(OVERLOAD_RETRY_AFTER_S));
      void sendProblem(reply, new AppError('OVERLOADED', `The server is under pressure (${type === 'heapUsedBytes' ? 'memory' : 'event loop delay'}); try again shortly`));
    },
  });
}
