import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';

/** An RFC 9457 problem as the API answers it. */
export type Problem = {
  status: number;
  type: string;
  title: string;
  detail: string;
  errors?: { path: string; message: string }[];
  allowedEvents?: string[];
} & Record<string, unknown>;

/**
 * Checks an error answer: the status, the problem media type, the members
 * every problem has (and its `type`, when given), no stack trace; returns
 * its body.
 */
export function expectProblem(res: LightMyRequestResponse, status: number, type?: RegExp): Problem {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json() as Problem;
  expect(body).toMatchObject({ status, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
  if (type) expect(body.type).toMatch(type);
  expect(res.body).not.toMatch(/\bat .+\.(ts|js):\d+/); // never a stack trace
  return body;
}
