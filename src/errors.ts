/**
 * One error family with stable codes. HTTP maps them to RFC 9457 problem
 * details; workers map `retryable: false` to BullMQ's UnrecoverableError.
 */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'BAD_REQUEST'
  | 'TICKET_NOT_FOUND'
  | 'NOT_FOUND'
  | 'INVALID_TRANSITION'
  | 'VERSION_CONFLICT'
  | 'PRECONDITION_FAILED'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'IDEMPOTENCY_IN_FLIGHT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'STORE_UNAVAILABLE'
  /** A bound on what one caller may grow was reached (details name the limit). */
  | 'LIMIT_REACHED'
  | 'BACKLOG_ITEM_NOT_FOUND'
  | 'RATE_LIMITED'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'MALFORMED_JSON'
  /** A %-escape in the path that does not encode UTF-8. */
  | 'BAD_URL'
  /** A path parameter longer than any id (the router's limit). */
  | 'PARAMETER_TOO_LONG'
  | 'BAD_CONTENT_LENGTH'
  | 'BODY_TOO_LARGE'
  /** The HTTP parser refused the request (a malformed request line or header): answered on the socket. */
  | 'MALFORMED_REQUEST'
  | 'HEADERS_TOO_LARGE'
  | 'URI_TOO_LONG'
  | 'REQUEST_TIMEOUT'
  /** Load shedding: the event loop lags or the heap is nearly full. */
  | 'OVERLOADED'
  /** Readiness: a check failed (Redis, the worker roles). */
  | 'NOT_READY'
  /** Anything unknown: logged with its stack, answered without a word of it. */
  | 'INTERNAL';

export interface FieldError {
  /** Dotted path of the field, `reporter.email`, `attachments.0.url`; empty for the whole body. */
  path: string;
  message: string;
}

const STATUS: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 422,
  BAD_REQUEST: 400,
  TICKET_NOT_FOUND: 404,
  NOT_FOUND: 404,
  INVALID_TRANSITION: 409,
  VERSION_CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  IDEMPOTENCY_KEY_REUSED: 422,
  IDEMPOTENCY_IN_FLIGHT: 409,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  STORE_UNAVAILABLE: 503,
  LIMIT_REACHED: 422,
  BACKLOG_ITEM_NOT_FOUND: 404,
  RATE_LIMITED: 429,
  UNSUPPORTED_MEDIA_TYPE: 415,
  MALFORMED_JSON: 400,
  BAD_URL: 400,
  PARAMETER_TOO_LONG: 414,
  BAD_CONTENT_LENGTH: 400,
  BODY_TOO_LARGE: 413,
  MALFORMED_REQUEST: 400,
  HEADERS_TOO_LARGE: 431,
  URI_TOO_LONG: 414,
  REQUEST_TIMEOUT: 408,
  OVERLOADED: 503,
  NOT_READY: 503,
  INTERNAL: 500,
};

/** Every code, in the order above. */
export const ERROR_CODES = Object.keys(STATUS) as readonly ErrorCode[];

/** The HTTP status a code answers with, unless an error names another (see AppError). */
export const statusOf = (code: ErrorCode): number => STATUS[code];

const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['VERSION_CONFLICT', 'IDEMPOTENCY_IN_FLIGHT', 'STORE_UNAVAILABLE', 'RATE_LIMITED', 'REQUEST_TIMEOUT', 'OVERLOADED', 'NOT_READY']);

/**
 * The two codes that may answer with another status: a request part that is
 * not valid is 422 in the body but 400 in the path, query or headers; a 4xx
 * refusal Fastify or a plugin raised without a code of ours keeps its status.
 */
const OTHER_STATUS: Partial<Record<ErrorCode, (status: number) => boolean>> = {
  VALIDATION_FAILED: (status) => status === 400,
  BAD_REQUEST: (status) => status >= 400 && status < 500,
};

export class AppError extends Error {
  readonly status: number;
  readonly retryable: boolean;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: { errors?: FieldError[]; allowedEvents?: string[]; [key: string]: unknown } = {},
    opts: { status?: number } = {},
  ) {
    super(message);
    this.name = 'AppError';
    if (opts.status !== undefined && opts.status !== STATUS[code] && !OTHER_STATUS[code]?.(opts.status)) {
      throw new TypeError(`${code} does not answer with ${opts.status}`);
    }
    this.status = opts.status ?? STATUS[code];
    this.retryable = RETRYABLE.has(code);
  }
}

export const validationFailed = (errors: FieldError[], message = 'The input is not valid') =>
  new AppError('VALIDATION_FAILED', message, { errors });

export const ticketNotFound = (id: string) => new AppError('TICKET_NOT_FOUND', `No ticket ${id} in reach`, { ticketId: id });

/** zod issues as field errors with dotted paths. */
export function fieldErrors(issues: readonly { path: readonly PropertyKey[]; message: string; code?: string; keys?: readonly string[] }[]): FieldError[] {
  return issues.flatMap((issue) => {
    const base = issue.path.map(String).join('.');
    // One entry per unknown key, so each refused field is named.
    if (issue.code === 'unrecognized_keys' && issue.keys) {
      return issue.keys.map((k) => ({ path: base ? `${base}.${k}` : k, message: 'unknown field' }));
    }
    return [{ path: base, message: issue.message }];
  });
}
