import type { RouteOptions } from 'fastify';
import { ROLES } from '../domain/topology.js';
import { ProblemSchema } from './problem.js';

const UNAUTHENTICATED = ProblemSchema.describe('RFC 9457 problem details: no key, or an unknown one');
const FORBIDDEN = ProblemSchema.describe('RFC 9457 problem details: the role may not do this');
export const INTERNAL_PROBLEM = ProblemSchema.describe('RFC 9457 problem details: something went wrong on our side (nothing internal is revealed)');
export const UNAVAILABLE_PROBLEM = ProblemSchema.describe('RFC 9457 problem details: the store is not reachable, or Lotse is shutting down; try again (Retry-After)');

/**
 * onRoute: the errors any documented route can answer, added to its
 * response schemas where the route does not name them itself: 401 (and 403
 * when not every role may call it) on routes that need a key, 500 and 503
 * on all. So the OpenAPI document lists every route's errors.
 */
export function documentProblems(route: RouteOptions): void {
  const schema = route.schema as ({ hide?: boolean; response?: Record<string | number, unknown> } & Record<string, unknown>) | undefined;
  if (!schema || schema.hide) return;
  const response: Record<string | number, unknown> = { ...(schema.response ?? {}) };
  const add = (code: number, problem: unknown) => {
    if (!(code in response) && !(String(code) in response)) response[code] = problem;
  };
  const roles = route.config?.roles;
  if (roles) {
    add(401, UNAUTHENTICATED);
    if (ROLES.some((r) => !roles.includes(r))) add(403, FORBIDDEN);
  }
  add(500, INTERNAL_PROBLEM);
  add(503, UNAVAILABLE_PROBLEM);
  route.schema = { ...schema, response };
}
