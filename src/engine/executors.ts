import type { Queues } from '../queue/queues.js';
import type { Effect, EffectKind } from './effects.js';

/** Runs one effect; must be idempotent by the effect's id. */
export type Executor<K extends EffectKind> = (effect: Extract<Effect, { kind: K }>) => Promise<void>;

/**
 * One executor per effect kind but `publish`: the relay publishes stream
 * events in the same atomic step that removes the outbox entry, so they are
 * published exactly once.
 */
export type Executors = { [K in Exclude<EffectKind, 'publish'>]: Executor<K> };

export function createExecutors(queues: Queues, now: () => number, extra: Partial<Executors> = {}): Executors {
  return {
    'timer.arm': (e) => queues.armTimer(e.id, { ticketId: e.ticketId, epoch: e.epoch }, e.fireAt, now()),
    'timer.cancel': (e) => queues.cancelTimer(e.id),
    handoff: (e) => queues.handOff(e.orgId, e.event),
    'backlog.suggest': (e) =>
      queues.suggest(e.id, { ticketId: e.ticketId, service: e.service, land: e.land, title: e.title, description: e.description, at: e.at }),
    ...extra,
  };
}
