import type { Queues } from '../queue/queues.js';
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

export function createExecutors(queues: Queues, now: () => number, extra: Partial<Executors> = {}): Executors {
  return {
    'timer.arm': (effects) => queues.armTimers(effects.map((e) => ({ jobId: e.id, data: { ticketId: e.ticketId, epoch: e.epoch }, fireAt: e.fireAt })), now()),
    'timer.cancel': (effects) => queues.cancelTimers(effects.map((e) => e.id)),
    handoff: (effects) => queues.handOff(effects.map((e) => ({ orgId: e.orgId, event: e.event }))),
    'backlog.suggest': (effects) =>
      queues.suggest(effects.map((e) => ({ jobId: e.id, data: { ticketId: e.ticketId, service: e.service, land: e.land, title: e.title, description: e.description, at: e.at } }))),
    ...extra,
  };
}
