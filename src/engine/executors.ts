import type { Queues } from '../queue/queues.js';
import { webhookJobId } from '../webhooks/delivery.js';
import type { Effect, EffectKind } from './effects.js';

/**
 * Runs a batch of effects of one kind, in commit order; must be idempotent
 * by each effect's id (the relay may run a batch again after a crash).
 */
export type Executor<K extends EffectKind> = (effects: Extract<Effect, { kind: K }>[]) => Promise<void>;

/**
 * One executor per effect kind but `publish`: the relay publishes stream
 * events in the same atomic step that removes the outbox entries, so they are
 * published exactly once.
 */
export type Executors = { [K in Exclude<EffectKind, 'publish'>]: Executor<K> };

/** Which organisations get handoff events by webhook too, and how many attempts a delivery has. */
export interface WebhookRouting {
  has(orgId: string): boolean;
  attempts: number;
}

/** Which organisations work by e-mail (`organisations[].mail`): their handoff events become mails too (workers/mail.worker.ts). */
export interface MailRouting {
  has(orgId: string): boolean;
  /** Works by e-mail only (no `queues:` of its own): nobody takes its handoff queue, so its events go there not at all. */
  mailOnly(orgId: string): boolean;
  attempts: number;
}

/** Which organisations work in a ticket system of their own (`organisations[].connector`), and how many attempts a change has. */
export interface ConnectorRouting {
  has(orgId: string): boolean;
  attempts: number;
}

/**
 * `timers`: where the tickets' timers are (the `sla` queue of the tickets'
 * partition, LOTSE_PARTITIONS); every other queue is `queues`'.
 */
export function createExecutors(queues: Queues, now: () => number, webhooks?: WebhookRouting, mail?: MailRouting, connectors?: ConnectorRouting, timers: Pick<Queues, 'armTimers' | 'moveTimers' | 'cancelTimers'> = queues): Executors {
  return {
    'timer.arm': (effects) => timers.armTimers(effects.map((e) => ({ jobId: e.id, data: { ticketId: e.ticketId, epoch: e.epoch }, fireAt: e.fireAt })), now()),
    'timer.move': (effects) => timers.moveTimers(effects.map((e) => ({ jobId: e.id, data: { ticketId: e.ticketId, epoch: e.epoch }, fireAt: e.fireAt })), now()),
    'timer.cancel': (effects) => timers.cancelTimers(effects.map((e) => e.id)),
    handoff: async (effects) => {
      // An organisation with a connector takes its handoffs as remote tickets, not from `handoff-<org>`: `cx-<event id>` adds nothing twice.
      const remote = connectors ? effects.filter((e) => connectors.has(e.orgId)) : [];
      // A mail-only organisation (mail, no queues) takes none from `handoff-<org>` either.
      await queues.handOff(effects.filter((e) => !remote.includes(e) && !mail?.mailOnly(e.orgId)).map((e) => ({ orgId: e.orgId, event: e.event })));
      if (connectors && remote.length > 0) {
        await queues.addConnectorJobs(remote.map((e) => ({ jobId: `cx-${e.event.id}`, data: { type: 'push', orgId: e.orgId, event: e.event } })), connectors.attempts);
      }
      // The same event by webhook; `wh-<event id>` makes a re-run add nothing.
      const hooked = webhooks ? effects.filter((e) => webhooks.has(e.orgId)) : [];
      if (webhooks && hooked.length > 0) {
        await queues.deliverWebhooks(hooked.map((e) => ({ jobId: webhookJobId(e.event.id), data: { orgId: e.orgId, event: e.event } })), webhooks.attempts);
      }
      // The same event as a mail; `mail-<event id>` makes a re-run add nothing (and the sender's claim sends it once).
      const mailed = mail ? effects.filter((e) => mail.has(e.orgId)) : [];
      if (mail && mailed.length > 0) await queues.sendMails(mailed.map((e) => ({ jobId: `mail-${e.event.id}`, data: { orgId: e.orgId, event: e.event } })), mail.attempts);
    },
    backlog: (effects) => queues.addBacklogJobs(effects.map((e) => ({ jobId: e.id, data: e.job }))),
    erase: (effects) => queues.addRetentionJobs(effects.map((e) => ({ jobId: e.id, data: { type: 'purge', ticketId: e.ticketId, version: e.version } }))),
  };
}
