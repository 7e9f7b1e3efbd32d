import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, type FieldError } from '../errors.js';

/** RFC 9457 problem details, as every error leaves the API. */
export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    allowedEvents: z.array(z.string()).optional(),
  })
  .loose()
  .describe('RFC 9457 problem details');

/** The problem responses of a route's schema, one per status code. */
export const problemResponses = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, ProblemSchema]));

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

const kebab = (code: string) => code.toLowerCase().replace(/_/g, '-');

export function problem(status: number, code: string, detail: string, extra: Record<string, unknown> = {}) {
  return { type: `/problems/${kebab(code)}`, title: TITLES[status] ?? 'Error', status, detail, ...extra };
}

export function sendProblem(reply: FastifyReply, status: number, code: string, detail: string, extra: Record<string, unknown> = {}) {
  return reply.code(status).type('application/problem+json').send(problem(status, code, detail, extra));
}

/** Zod issues as Fastify reports them, as field errors with dotted paths. */
function validationErrors(err: FastifyError): FieldError[] {
  return (err.validation ?? []).flatMap((v) => {
    const path = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const keys = (v.params as { keys?: string[] } | undefined)?.keys;
    if (v.keyword === 'unrecognized_keys' && keys) return keys.map((k) => ({ path: path ? `${path}.${k}` : k, message: 'unknown field' }));
    return [{ path, message: v.message ?? 'invalid' }];
  });
}

const isRedisDown = (err: Error) =>
  err.name === 'MaxRetriesPerRequestError' ||
  /Stream isn't writeable|Connection is closed|ECONNREFUSED|Redis did not answer/.test(err.message);

/** The one error handler: known errors become problems, anything else a plain 500 that reveals nothing. */
export function handleError(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  if (err instanceof AppError) {
    const { errors, allowedEvents, ...rest } = err.details;
    if (err.status === 401) reply.header('www-authenticate', 'Bearer');
    return sendProblem(reply, err.status, err.code, err.message, {
      ...(errors ? { errors } : {}),
      ...(allowedEvents ? { allowedEvents } : {}),
      ...rest,
    });
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    const where = err.validationContext ?? 'body';
    const errors = validationErrors(err).map((e) => (where === 'body' ? e : { ...e, path: e.path ? `${where}.${e.path}` : where }));
    return sendProblem(reply, where === 'body' ? 422 : 400, 'VALIDATION_FAILED', `The request ${where} is not valid`, { errors });
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return sendProblem(reply, 413, 'BODY_TOO_LARGE', 'The request body is larger than 1 MiB');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return sendProblem(reply, 415, 'UNSUPPORTED_MEDIA_TYPE', 'Send application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return sendProblem(reply, 400, 'MALFORMED_JSON', 'The body is empty but declared as JSON');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      // Fastify reports a refused __proto__ or constructor.prototype key with the same code.
      return sendProblem(reply, 400, 'MALFORMED_JSON', 'The body is not valid JSON, or holds a forbidden __proto__ or constructor.prototype key');
  }
  if (err instanceof SyntaxError || /prototype property|constructor property/.test(err.message)) {
    const poisoned = /prototype property|constructor property/.test(err.message);
    return sendProblem(reply, 400, 'MALFORMED_JSON', poisoned ? 'The body contains a forbidden __proto__ or constructor key' : 'The body is not valid JSON');
  }
  if (isRedisDown(err)) {
    req.log.warn({ err: err.message }, 'store unavailable');
    reply.header('retry-after', '2');
    return sendProblem(reply, 503, 'STORE_UNAVAILABLE', 'The ticket store is not reachable; try again shortly');
  }
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) return sendProblem(reply, status, 'BAD_REQUEST', TITLES[status] ?? 'The request was refused');
  req.log.error({ err }, 'unhandled error');
  return sendProblem(reply, 500, 'INTERNAL', 'Something went wrong on our side; it has been logged');
}
