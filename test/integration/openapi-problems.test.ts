import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, ERROR_CODES, statusOf, type ErrorCode } from '../../src/errors.js';
import { PROBLEM_TITLES, problemOf, problemType } from '../../src/http/problem.js';
import { createHarness, type Harness } from '../helpers/harness.js';

/**
 * ErrorCode is the one list of the problems Lotse answers with; the OpenAPI
 * document names their statuses. The two must agree, and a code brought
 * into the list keeps the type, title and status it had on the wire.
 */
type Operation = { responses: Record<string, { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> }> };

let h: Harness;
let documented: Set<number>;

beforeAll(async () => {
  h = await createHarness();
  const res = await (await h.app()).inject({ method: 'GET', url: '/docs', headers: { accept: 'application/json' } });
  const doc = res.json() as { paths: Record<string, Record<string, Operation>> };
  const isProblem = (r: Operation['responses'][string]) => Object.values(r.content ?? {}).some((c) => ['type', 'title', 'status', 'detail'].every((p) => p in (c.schema?.properties ?? {})));
  documented = new Set(
    Object.values(doc.paths).flatMap((ops) => Object.values(ops).flatMap((op) => Object.entries(op.responses).filter(([, r]) => isProblem(r)).map(([status]) => Number(status)))),
  );
});
afterAll(async () => h.close());

describe('ErrorCode and the problems on the wire', () => {
  it('gives every code a status with its RFC 9110 title and a type of its own', () => {
    for (const code of ERROR_CODES) expect(PROBLEM_TITLES[statusOf(code)], code).toBeDefined();
    expect(new Set(ERROR_CODES.map(problemType)).size).toBe(ERROR_CODES.length);
  });

  it('documents in the OpenAPI document the status of every code, and no problem status that no code answers with', () => {
    const statuses = new Set(ERROR_CODES.map(statusOf));
    expect([...statuses].filter((s) => !documented.has(s)).sort(), 'statuses no route documents').toEqual([]);
    expect([...documented].filter((s) => !statuses.has(s)).sort(), 'documented statuses of no code').toEqual([]);
  });

  // The problems that were answered with code strings of their own before they joined ErrorCode: unchanged on the wire.
  it.each<[ErrorCode, string, string, number]>([
    ['BAD_URL', '/problems/bad-url', 'Bad Request', 400],
    ['PARAMETER_TOO_LONG', '/problems/parameter-too-long', 'URI Too Long', 414],
    ['BAD_CONTENT_LENGTH', '/problems/bad-content-length', 'Bad Request', 400],
    ['BODY_TOO_LARGE', '/problems/body-too-large', 'Content Too Large', 413],
    ['MALFORMED_REQUEST', '/problems/malformed-request', 'Bad Request', 400],
    ['HEADERS_TOO_LARGE', '/problems/headers-too-large', 'Request Header Fields Too Large', 431],
    ['URI_TOO_LONG', '/problems/uri-too-long', 'URI Too Long', 414],
    ['REQUEST_TIMEOUT', '/problems/request-timeout', 'Request Timeout', 408],
    ['OVERLOADED', '/problems/overloaded', 'Service Unavailable', 503],
    ['NOT_READY', '/problems/not-ready', 'Service Unavailable', 503],
    ['INTERNAL', '/problems/internal', 'Internal Server Error', 500],
  ])('%s answers as %s, %s, %i', (code, type, title, status) => {
    expect(problemOf(new AppError(code, 'd'))).toEqual({ type, title, status, detail: 'd' });
  });

  it('lets only VALIDATION_FAILED (400 outside the body) and BAD_REQUEST (a 4xx of Fastify or a plugin) answer with another status', () => {
    expect(new AppError('VALIDATION_FAILED', 'd', {}, { status: 400 }).status).toBe(400);
    expect(problemOf(new AppError('BAD_REQUEST', 'd', {}, { status: 405 }))).toMatchObject({ type: '/problems/bad-request', title: 'Method Not Allowed', status: 405 });
    expect(() => new AppError('TICKET_NOT_FOUND', 'd', {}, { status: 410 })).toThrow(/does not answer with 410/);
    expect(() => new AppError('BAD_REQUEST', 'd', {}, { status: 500 })).toThrow();
  });
});
