import { DelayedError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { fieldErrors } from '../src/errors.js';
import { QUEUE } from '../src/queue/names.js';
import { backoffDelay } from '../src/webhooks/backoff.js';
import { DEAD_LETTER_REASON_DISABLED, type DeadLetters } from '../src/webhooks/dead-letters.js';
import { classifyAttempt, postWebhook, WebhookJobSchema, type WebhookJob } from '../src/webhooks/delivery.js';
import type { WebhookSettings, WebhookTarget } from '../src/webhooks/settings.js';
import { signedRequest } from '../src/webhooks/sign.js';
import { invalidPayload, makeWorker, type KitWorker, type WorkerDeps } from './worker-kit.js';

export interface WebhookWorkerDeps extends WorkerDeps {
  targets: ReadonlyMap<string, WebhookTarget>;
  deadLetters: DeadLetters;
  settings: WebhookSettings;
  now?: () => number;
}

export type WebhookResult = { outcome: 'delivered' | 'dead-lettered'; status: number | null };

/**
 * `webhook`: POSTs a provider's CloudEvent to its endpoint, signed per
 * Standard Webhooks. Retries use the worker's own backoff (exponential, equal
 * jitter, capped); a Retry-After is waited out without using an attempt;
 * what fails for good goes to the provider's dead letters and the job
 * completes. Logs carry ids, organisation, status and attempt, never the
 * event's data.
 */
export function createWebhookWorker(deps: WebhookWorkerDeps, concurrency?: number): KitWorker<unknown, WebhookResult> {
  const now = deps.now ?? Date.now;
  const { settings, deadLetters } = deps;

  async function process(job: Job<unknown, WebhookResult>, jobLog: Logger, token: string | undefined): Promise<WebhookResult> {
    const parsed = WebhookJobSchema.safeParse(job.data);
    if (!parsed.success) throw invalidPayload('webhook job', fieldErrors(parsed.error.issues));
    // The body is the event as it was added, not as the schema reshaped it.
    const data = job.data as WebhookJob;
    const { orgId, event } = data;
    const attempt = job.attemptsMade + 1;
    const log = jobLog.child({ orgId, eventId: event.id, attempt });

    const deadLetter = async (reason: string, lastStatus: number | null, attempts: number): Promise<WebhookResult> => {
      await deadLetters.add({ id: event.id, orgId, event, reason, attempts, lastStatus, failedAt: new Date(now()).toISOString(), jobId: job.id! });
      log.warn({ reason, status: lastStatus, attempts }, 'webhook dead-lettered');
      return { outcome: 'dead-lettered', status: lastStatus };
    };

    const target = deps.targets.get(orgId);
    if (!target) return deadLetter('no webhook configured for the organisation', null, job.attemptsMade);
    if (await deadLetters.isDisabled(orgId)) return deadLetter(DEAD_LETTER_REASON_DISABLED, null, job.attemptsMade);

    const request = signedRequest(target.key, event.id, JSON.stringify(event), now());
    const outcome = classifyAttempt(await postWebhook(target.url, request, settings.timeoutMs), {
      now: now(),
      deferrals: data.deferrals ?? 0,
      maxDeferrals: settings.maxDeferrals,
      maxRetryAfterMs: settings.maxRetryAfterMs,
    });
    switch (outcome.kind) {
      case 'delivered':
        log.info({ status: outcome.status }, 'webhook delivered');
        return { outcome: 'delivered', status: outcome.status };
      case 'disabled':
        await deadLetters.disable(orgId, now());
        log.warn({ status: 410 }, 'webhook endpoint disabled by the receiver');
        return deadLetter(DEAD_LETTER_REASON_DISABLED, 410, attempt);
      case 'rejected':
        return deadLetter(outcome.reason, outcome.status, attempt);
      case 'deferred':
        log.info({ status: outcome.status, delayMs: outcome.delayMs }, 'webhook receiver asked to retry later');
        await job.updateData({ ...data, deferrals: (data.deferrals ?? 0) + 1 });
        // Not an attempt: the receiver said when, so wait that long and try again.
        await job.moveToDelayed(now() + outcome.delayMs, token);
        throw new DelayedError();
      case 'retry':
        if (attempt >= (job.opts.attempts ?? 1)) return deadLetter(`${outcome.reason}; gave up after ${attempt} attempts`, outcome.status, attempt);
        log.info({ status: outcome.status, reason: outcome.reason }, 'webhook attempt failed; retrying');
        throw new Error(outcome.reason);
    }
  }

  return makeWorker(QUEUE.webhook, process, deps, {
    concurrency: concurrency ?? 16,
    settings: { backoffStrategy: (attemptsMade: number) => backoffDelay(attemptsMade, settings.backoff) },
  });
}
