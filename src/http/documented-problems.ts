import type { RouteOptions } from 'fastify';
import { ROLES } from '../domain/topology.js';
import { ProblemSchema } from './problem.js';

const problemOf = (why: string) => ProblemSchema.describe(`RFC 9457 problem details: ${why}`);

const INTERNAL = 'something went wrong on our side (nothing internal is revealed)';
const UNAVAILABLE = 'the store is not reachable, or Lotse is shutting down or under pressure; try again (Retry-After)';

/** Methods whose body Fastify reads (and so refuses when it is not JSON, too large or of another type). */
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** What of a route decides the errors it can answer. */
export interface RouteShape {
  method: RouteOptions['method'];
  schema?: { params?: unknown; querystring?: unknown; headers?: unknown; body?: unknown } | undefined;
  roles?: readonly string[] | undefined;
}

/**
 * The problems a route can answer besides its own, with why, by status:
 * what any request can meet before a route runs (a request that is not
 * HTTP/1.1, too slow, or with headers too large: answered on the socket),
 * what its parts bring (path parameters, a query, headers, a body), what a
 * key brings (401; 403 when not every role may call it; 429 over the key's
 * rate limit), and 500 and 503 on all.
 */
export function routeProblems(route: RouteShape): Record<number, string[]> {
  const why: Record<number, string[]> = {};
  const add = (status: number, reason: string) => (why[status] ??= []).push(reason);
  const methods = [route.method].flat().map((m) => String(m).toUpperCase());
  add(400, 'the request is not valid HTTP/1.1 (a malformed request line, header or Content-Length)');
  if (route.schema?.params) add(400, 'a bad %-escape in the path, or a path parameter that is not valid');
  if (route.schema?.querystring) add(400, 'a query parameter that is not valid (each named)');
  if (route.schema?.headers) add(400, 'a header that is not valid (each named)');
  if (methods.some((m) => WITH_BODY.has(m))) add(400, 'a body that is not JSON in UTF-8, nested too deep, or with a __proto__ or constructor.prototype key');
  add(408, 'the request did not arrive in time');
  if (route.schema?.params) add(414, 'a path parameter longer than the API allows');
  add(431, 'the request headers are larger than the server accepts');
  if (methods.some((m) => WITH_BODY.has(m))) {
    add(413, 'a body larger than 1 MiB');
    add(415, 'a body that is not application/json in UTF-8, or sent with a Content-Encoding');
  }
  if (route.schema?.body) add(422, 'a body that is not valid (every wrong field named)');
  if (route.roles) {
    add(401, 'no key, or an unknown one');
    if (ROLES.some((r) => !route.roles!.includes(r))) add(403, 'the role may not do this');
    add(429, "more requests than the key's rate limit allows, or too many wrong keys from this client or for this key prefix; try again (Retry-After)");
  }
  add(500, INTERNAL);
  add(503, UNAVAILABLE);
  return why;
}

/**
 * The response schemas of a route with every problem it can answer: added
 * where the route does not name the status, and described where it names it
 * with the plain ProblemSchema; a schema of the route's own (a 503 with the
 * failing checks) stays as it is.
 */
export function withDocumentedProblems(route: RouteShape, response: Record<string | number, unknown> = {}): Record<string | number, unknown> {
  const out: Record<string | number, unknown> = { ...response };
  for (const [status, reasons] of Object.entries(routeProblems(route))) {
    const own = out[status];
    if (own === undefined || own === ProblemSchema) out[status] = problemOf(reasons.join('; '));
  }
  return out;
}

/**
 * onRoute: every documented route names every error it can answer (see
 * routeProblems), so the OpenAPI document lists them and a client generated
 * from it knows each.
 */
export function documentProblems(route: RouteOptions): void {
  const schema = route.schema as ({ hide?: boolean; response?: Record<string | number, unknown> } & RouteShape['schema']) | undefined;
  if (!schema || schema.hide) return;
  const response = withDocumentedProblems({ method: route.method, schema, roles: route.config?.roles }, schema.response);
  route.schema = { ...schema, response };
}
