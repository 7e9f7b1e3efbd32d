import { z } from 'zod';
import { CloudEventSchema, type CloudEvent } from '../domain/cloudevent.js';
import { IdSchema } from '../domain/ids.js';
import type { SignedRequest } from './sign.js';

/** `webhook` queue: one CloudEvent for one organisation's endpoint. */
export const WebhookJobSchema = z.strictObject({
  orgId: IdSchema,
  event: CloudEventSchema,
  /** How often this delivery was put off by a Retry-After so far. */
  deferrals: z.number().int().nonnegative().optional(),
});
export interface WebhookJob {
  orgId: string;
  event: CloudEvent;
  deferrals?: number;
}

/** Job ids: the first delivery of an event, and its n-th replay. No `:` (BullMQ refuses it). */
export const webhookJobId = (eventId: string) => `wh-${eventId}`;
export const replayJobId = (eventId: string, n: number) => `wh-${eventId}-r${n}`;

/** What one attempt got back: a status (and its Retry-After), or why no answer came. */
export type AttemptResult = { status: number; retryAfter: string | null } | { error: string };

/** What to do after one attempt. */
export type Outcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'disabled'; status: 410 }
  | { kind: 'deferred'; status: number; delayMs: number }
  | { kind: 'retry'; status: number | null; reason: string }
  | { kind: 'rejected'; status: number; reason: string };

/**
 * `Retry-After` as milliseconds from `now`: delay-seconds or an HTTP date
 * (RFC 9110 §10.2.3); undefined when it is neither.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (!/[A-Za-z]/.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Decides what an attempt's result means, after the Standard Webhooks
 * recommendations: 2xx delivered; 410 the receiver disabled the endpoint;
 * 429 and 503 with a Retry-After are waited out without using an attempt
 * (at most `maxDeferrals` times); 408, 429, 5xx, other codes and no answer
 * are retried; any other 4xx would fail again the same way.
 */
export function classifyAttempt(result: AttemptResult, o: { now: number; deferrals: number; maxDeferrals: number; maxRetryAfterMs: number }): Outcome {
  if ('error' in result) return { kind: 'retry', status: null, reason: result.error };
  const { status } = result;
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  if (status === 410) return { kind: 'disabled', status };
  if (status === 429 || status === 503) {
    const wait = parseRetryAfter(result.retryAfter, o.now);
    if (wait !== undefined && o.deferrals < o.maxDeferrals) return { kind: 'deferred', status, delayMs: Math.min(wait, o.maxRetryAfterMs) };
  }
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) return { kind: 'rejected', status, reason: `HTTP ${status}` };
  return { kind: 'retry', status, reason: `HTTP ${status}` };
}

/**
 * POSTs one signed request. Never throws: a timeout or a network error is a
 * result too. The answer's body is discarded unread (it is not ours to log).
 */
export async function postWebhook(url: string, request: SignedRequest, timeoutMs: number): Promise<AttemptResult> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel().catch(() => undefined);
    return { status: res.status, retryAfter: res.headers.get('retry-after') };
  } catch (err) {
    return { error: describeFailure(err, timeoutMs) };
  }
}

/** A short reason without any part of the request: `timeout after 10000 ms`, `network error ECONNREFUSED`. */
function describeFailure(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; cause?: { code?: string; name?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `timeout after ${timeoutMs} ms`;
  const code = e.cause?.code ?? e.cause?.name ?? e.name ?? 'unknown';
  return `network error ${code}`;
}
