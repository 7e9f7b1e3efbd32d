import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, type ErrorCode, type FieldError } from '../errors.js';
import { STORE_RETRY_AFTER_S, toStoreUnavailable } from '../store/unavailable.js';

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

/** The title of each status a problem is answered with (RFC 9110's reason phrases). */
export const PROBLEM_TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** A problem's `type`: the code in kebab case under /problems/ (`/problems/invalid-transition`). */
export const problemType = (code: ErrorCode) => `/problems/${code.toLowerCase().replace(/_/g, '-')}`;

/** The RFC 9457 document of an error: type from its code, title from its status, detail its message, then its details. */
export function problemOf(err: AppError) {
  const { errors, allowedEvents, ...rest } = err.details;
  return {
    type: problemType(err.code),
    title: PROBLEM_TITLES[err.status] ?? 'Error',
    status: err.status,
    detail: err.message,
    ...(errors ? { errors } : {}),
    ...(allowedEvents ? { allowedEvents } : {}),
    ...rest,
  };
}

/** Answers with the error's problem document (headers such as Retry-After are the caller's). */
export function sendProblem(reply: FastifyReply, err: AppError) {
  return reply.code(err.status).type('application/problem+json').send(problemOf(err));
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

/** Seconds a request told its idempotency key is in flight is asked to wait before it tries again. */
export const IN_FLIGHT_RETRY_AFTER_S = 1;

/** The one error handler: known errors become problems, anything else a plain 500 that reveals nothing. */
export function handleError(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  const unavailable = toStoreUnavailable(err);
  if (unavailable && !(err instanceof AppError)) req.log.warn({ err: err.message }, 'store unavailable');
  if (unavailable) err = unavailable as unknown as FastifyError;
  if (err instanceof AppError) {
    if (err.status === 401) reply.header('www-authenticate', 'Bearer');
    if (err.code === 'STORE_UNAVAILABLE') reply.header('retry-after', String(STORE_RETRY_AFTER_S));
    // The first request usually finishes within the second; one that died frees its key within IDEMPOTENCY_PENDING_MS.
    if (err.code === 'IDEMPOTENCY_IN_FLIGHT') reply.header('retry-after', String(IN_FLIGHT_RETRY_AFTER_S));
    return sendProblem(reply, err);
  }
  return sendProblem(reply, toAppError(err, req));
}

/** What Fastify, its parsers and plugins raise, as the AppError Lotse answers with. */
function toAppError(err: FastifyError, req: FastifyRequest): AppError {
  if (hasZodFastifySchemaValidationErrors(err)) {
    const where = err.validationContext ?? 'body';
    const errors = validationErrors(err).map((e) => (where === 'body' ? e : { ...e, path: e.path ? `${where}.${e.path}` : where }));
    return new AppError('VALIDATION_FAILED', `The request ${where} is not valid`, { errors }, { status: where === 'body' ? 422 : 400 });
  }
  switch (err.code) {
    case 'FST_ERR_BAD_URL':
      return new AppError('BAD_URL', 'The URL is not valid: a %-escape does not encode UTF-8', { errors: [{ path: 'url', message: 'not a valid percent-encoded UTF-8 path' }] });
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new AppError('PARAMETER_TOO_LONG', 'A path parameter is longer than the API allows', { errors: [{ path: 'params', message: 'too long' }] });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('BAD_CONTENT_LENGTH', 'Content-Length does not match the body', { errors: [{ path: 'headers.content-length', message: 'does not match the body' }] });
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send application/json', { errors: [{ path: 'headers.content-type', message: 'send application/json' }] });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('BODY_TOO_LARGE', 'The request body is larger than 1 MiB');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('MALFORMED_JSON', 'The body is empty but declared as JSON');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      // Fastify reports a refused __proto__ or constructor.prototype key with the same code.
      return new AppError('MALFORMED_JSON', 'The body is not valid JSON, or holds a forbidden __proto__ or constructor.prototype key');
  }
  if (err instanceof SyntaxError || /prototype property|constructor property/.test(err.message)) {
    const poisoned = /prototype property|constructor property/.test(err.message);
    return new AppError('MALFORMED_JSON', poisoned ? 'The body contains a forbidden __proto__ or constructor key' : 'The body is not valid JSON');
  }
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) return new AppError('BAD_REQUEST', PROBLEM_TITLES[status] ?? 'The request was refused', {}, { status });
  req.log.error({ err }, 'unhandled error');
  return new AppError('INTERNAL', 'Something went wrong on our side; it has been logged');
}

/**
 * Fastify's `frameworkErrors`: errors its router raises before any route,
 * hook or error handler runs (a bad %-escape, an over-long parameter). The
 * reply is the same problem document the error handler gives.
 */
export function handleFrameworkError(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  return handleError(err, req, reply);
}

const CLIENT_ERRORS: Record<string, { code: ErrorCode; detail: string }> = {
  HPE_HEADER_OVERFLOW: { code: 'HEADERS_TOO_LARGE', detail: 'The request headers are larger than the server accepts' },
  ERR_HTTP_REQUEST_TIMEOUT: { code: 'REQUEST_TIMEOUT', detail: 'The request did not arrive in time' },
  HPE_HEADERS_TIMEOUT: { code: 'REQUEST_TIMEOUT', detail: 'The request headers did not arrive in time' },
  HPE_URI_TOO_LONG: { code: 'URI_TOO_LONG', detail: 'The request line is longer than the server accepts' },
};

/**
 * Node's `clientError`: the HTTP parser refused the bytes (header overflow,
 * a malformed request line, a timeout), so there is no request and no reply
 * object. Writes a minimal HTTP/1.1 problem response to the raw socket and
 * closes it; nothing of the request or the parser's reason is echoed.
 */
export function handleClientError(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket) {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const known = CLIENT_ERRORS[err.code ?? ''] ?? { code: 'MALFORMED_REQUEST', detail: 'The request is not valid HTTP/1.1' };
  this.log.debug({ code: err.code }, 'client error');
  const refused = new AppError(known.code, known.detail);
  const body = JSON.stringify(problemOf(refused));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${refused.status} ${STATUS_CODES[refused.status] ?? 'Bad Request'}\r\n` +
        `Content-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
