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
  | 'BACKLOG_ITEM_NOT_FOUND';

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
};

const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['VERSION_CONFLICT', 'IDEMPOTENCY_IN_FLIGHT', 'STORE_UNAVAILABLE']);

export class AppError extends Error {
  readonly status: number;
  readonly retryable: boolean;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: { errors?: FieldError[]; allowedEvents?: string[]; [key: string]: unknown } = {},
  ) {
    super(message);
    this.name = 'AppError';
    this.status = STATUS[code];
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
