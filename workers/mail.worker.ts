import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Topology } from '../src/domain/topology.js';
import type { TicketView } from '../src/domain/ticket.js';
import type { TicketEngine } from '../src/engine/ticket/index.js';
import { fieldErrors } from '../src/errors.js';
import { composeMail } from '../src/mail/compose.js';
import { decideOutbound } from '../src/mail/outbound.js';
import { MailSendError, type MailSender } from '../src/mail/sender.js';
import { QUEUE } from '../src/queue/names.js';
import type { MailStore } from '../src/store/mail-store.js';
import { backoffDelay, type BackoffPolicy } from '../src/webhooks/backoff.js';
import type { DeadLetters } from '../src/webhooks/dead-letters.js';
import { WebhookJobSchema, type WebhookJob } from '../src/webhooks/delivery.js';
import { invalidPayload, makeWorker, type KitWorker, type WorkerDeps } from './worker-kit.js';

export interface MailWorkerDeps extends WorkerDeps {
  topology: Topology;
  engine: Pick<TicketEngine, 'findTicket' | 'view'>;
  store: MailStore;
  sender: MailSender;
  deadLetters: DeadLetters;
  from: { address: string; name?: string };
  backoff: BackoffPolicy;
  now?: () => number;
}

export type MailJobResult = { outcome: 'sent' | 'already-sent' | 'skipped' | 'dead-lettered'; messageId?: string; detail?: string };

/**
 * `mail`: one handoff event to an organisation that works by e-mail becomes
 * one mail (src/mail/outbound.ts decides which, compose.ts writes it in
 * German with the ticket's tag, Lotse's Message-ID from the event id and
 * the conversation's threading). The sender claims the send by the event id
 * before the first byte, so a retried or re-run job (a killed worker) never
 * sends it twice. An SMTP server that is down or answers 4xx is retried by
 * the worker's backoff for LOTSE_MAIL_RETRY_HOURS; a 5xx, a mail in doubt,
 * the day's limit for the recipient and ticket, an undeliverable address or
 * the last failed attempt make a dead letter of channel `mail`, which an
 * operator replays through /v1/dead-letters/{id}/replay; one in doubt says
 * `inDoubt: true` and is sent again only by a replay with `?force=true`.
 */
export function createMailWorker(deps: MailWorkerDeps, concurrency?: number): KitWorker<unknown, MailJobResult> {
  const now = deps.now ?? Date.now;
  const { store } = deps;

  async function process(job: Job<unknown, MailJobResult>, jobLog: Logger): Promise<MailJobResult> {
    const parsed = WebhookJobSchema.safeParse(job.data);
    if (!parsed.success) throw invalidPayload('mail job', fieldErrors(parsed.error.issues));
    const { orgId, event } = job.data as WebhookJob;
    const attempt = job.attemptsMade + 1;
    const log = jobLog.child({ orgId, eventId: event.id, attempt });
    const effectId = `mail-${event.id}`;
    const decision = decideOutbound(event);
    const ticketId = decision.ticketId;

    const deadLetter = async (reason: string, inDoubt = false): Promise<MailJobResult> => {
      await deps.deadLetters.add({ id: effectId, orgId, event, reason, attempts: attempt, lastStatus: null, failedAt: new Date(now()).toISOString(), jobId: job.id!, channel: 'mail', ...(inDoubt ? { inDoubt: true } : {}) });
      await store.noteSendFailure(orgId, now(), reason, true).catch(() => undefined);
      log.warn({ reason }, 'mail dead-lettered');
      return { outcome: 'dead-lettered', detail: reason };
    };

    if (!decision.send) {
      log.info({ why: decision.why }, 'no mail for this event');
      return { outcome: 'skipped', detail: decision.why };
    }
    const address = deps.topology.orgs.get(orgId)?.mail?.address;
    if (!address) return deadLetter('no mail address configured for the organisation');
    let ticket: TicketView | null = decision.ticket;
    if (!ticket) {
      const record = await deps.engine.findTicket(ticketId);
      if (!record) return { outcome: 'skipped', detail: 'the ticket is gone' };
      ticket = deps.engine.view('system', record);
    }
    const thread = await store.readThread(ticketId, orgId);
    const mail = composeMail({
      effectId,
      at: event.time,
      ticket,
      personalData: ticket.reporter !== undefined,
      message: decision.message,
      recipient: { orgId, name: deps.topology.orgs.get(orgId)?.name, address },
      sender: deps.from,
      thread,
      automatic: decision.automatic,
    });
    if (/-r\d+-force$/.test(job.id ?? '')) {
      // An operator's forced replay of a mail in doubt (POST …/replay?force=true): the operator decided to send it again.
      // A plain replay leaves a doubt as it is: the send below finds it and dead-letters it in doubt again.
      const state = await store.sent.get(effectId);
      if (state && state.state !== 'sent') await store.sent.resolveInDoubt(effectId, 'resend', now());
    }
    const entry = (outcome: string, detail?: string) =>
      store.log(ticketId, effectId, { at: new Date(now()).toISOString(), direction: 'out', messageId: mail.messageId, party: orgId, kind: decision.message.kind, outcome, ...(detail ? { detail } : {}) });
    try {
      const result = await deps.sender.sendMail(effectId, mail);
      switch (result.outcome) {
        case 'sent':
          await entry('sent');
          await store.noteSent(orgId, now());
          log.info({ messageId: result.messageId }, 'mail sent');
          return { outcome: 'sent', messageId: result.messageId };
        case 'already-sent':
          await entry('sent');
          return { outcome: 'already-sent', messageId: result.messageId };
        case 'busy':
          throw new Error('another attempt is sending this mail');
        case 'in-doubt':
          await entry('in-doubt', result.reason);
          return deadLetter(`in doubt, not sent again by itself (Message-ID ${result.messageId}): ${result.reason}`, true);
        case 'refused':
          await entry(`refused (${result.reason})`, result.detail);
          return deadLetter(`${result.reason}: ${result.detail}`);
      }
    } catch (err) {
      const reason = err instanceof MailSendError ? `SMTP ${err.responseCode ?? err.code ?? ''} ${err.message}`.trim() : (err as Error).message;
      if (err instanceof MailSendError && err.permanent) return deadLetter(reason);
      if (attempt >= (job.opts.attempts ?? 1)) return deadLetter(`${reason}; gave up after ${attempt} attempts`);
      await store.noteSendFailure(orgId, now(), reason, false).catch(() => undefined);
      log.info({ reason }, 'mail attempt failed; retrying');
      // Not the SMTP client's error: its words (ECONNREFUSED…) would read as Redis being away, and the job would wait without using an attempt.
      throw new Error(`mail not sent, retried by the backoff (SMTP ${err instanceof MailSendError ? (err.responseCode ?? 'no answer') : 'busy'})`);
    }
  }

  return makeWorker(QUEUE.mail, process, deps, {
    concurrency: concurrency ?? 8,
    settings: { backoffStrategy: (attemptsMade: number) => backoffDelay(attemptsMade, deps.backoff) },
  });
}
