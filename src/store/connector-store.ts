import { acquireLock, releaseLock } from './locks.js';
import type { RedisClient } from './redis-client.js';

/**
 * What a connector to another ticket system keeps in Redis, all under
 * `<prefix>:cx:<org>:` (not `connector`: the BullMQ queue of that name owns
 * `<prefix>:connector:*`).
 */
export const connectorKeys = (prefix: string, orgId: string) => ({
  /** Hash: Lotse ticket id → remote id, or `pending` from the handoff's commit until the remote create answers. */
  link: `${prefix}:cx:${orgId}:link`,
  /** Hash: remote id → Lotse ticket id (the way back). */
  remote: `${prefix}:cx:${orgId}:remote`,
  /** String: the remote change id read last (RT: a transaction id); survives restarts. */
  cursor: `${prefix}:cx:${orgId}:cursor`,
  /** Sorted set: the remote change ids Lotse's own writes made (echo suppression), scored by time; the latest OWN_CAP kept. */
  own: `${prefix}:cx:${orgId}:own`,
  /** Sorted set: outbound changes (effect ids) committed and not yet carried out, scored by commit time. */
  queued: `${prefix}:cx:${orgId}:queued`,
  /** String: held while one process polls the organisation's system (a token, with an expiry): polls of one organisation never overlap. */
  pollLock: `${prefix}:cx:${orgId}:poll`,
  /** String: held while one change of a ticket is carried out, so two changes of one ticket never race (two creates would open two remote tickets). */
  ticketLock: (ticketId: string) => `${prefix}:cx:${orgId}:lock:${ticketId}`,
  /** Hash: health and counts (lastSuccessAt, lastFailureAt, lastError, failing, applied, echoes, unmappedIn, unmappedOut, ignored). */
  health: `${prefix}:cx:${orgId}:health`,
});

/** Remote change ids Lotse remembers as its own per organisation; older ones have long been read past by the cursor. */
export const OWN_CAP = 10_000;

export const PENDING = 'pending';

export type CounterField = 'applied' | 'echoes' | 'unmappedIn' | 'unmappedOut' | 'ignored';

export interface ConnectorHealth {
  orgId: string;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  lastError: string | null;
  /** Consecutive failed calls since the last success (0: healthy). */
  failing: number;
  /** Outbound changes committed and not yet carried out. */
  queued: number;
  applied: number;
  echoes: number;
  unmappedIn: number;
  unmappedOut: number;
  ignored: number;
}

/** The connector functions bound to a client and prefix: what the connector worker and the readers are handed. */
export function createConnectorStore(redis: RedisClient, prefix: string) {
  const k = (orgId: string) => connectorKeys(prefix, orgId);
  return {
    /** The ticket's remote id, `pending`, or null when the organisation never got it. */
    async link(orgId: string, ticketId: string): Promise<string | null> {
      return redis.hget(k(orgId).link, ticketId);
    },
    /** The create answered: both directions at once. */
    async fill(orgId: string, ticketId: string, remoteId: string): Promise<void> {
      await redis.multi().hset(k(orgId).link, ticketId, remoteId).hset(k(orgId).remote, remoteId, ticketId).exec();
    },
    /**
     * An erased ticket leaves the correlation both ways, and its changes
     * still queued (`effectIds`: every change of the ticket the organisation
     * can have been sent; those not queued are no-ops) leave the queued set
     * (the retention worker's purge, once the changes' jobs are removed).
     */
    async unlink(orgId: string, ticketId: string, effectIds: readonly string[] = []): Promise<void> {
      const remoteId = await redis.hget(k(orgId).link, ticketId);
      const multi = redis.multi().hdel(k(orgId).link, ticketId);
      if (remoteId && remoteId !== PENDING) multi.hdel(k(orgId).remote, remoteId);
      if (effectIds.length > 0) multi.zrem(k(orgId).queued, ...effectIds);
      await multi.exec();
    },
    async ticketOf(orgId: string, remoteId: string): Promise<string | null> {
      return redis.hget(k(orgId).remote, remoteId);
    },
    async cursor(orgId: string): Promise<string | null> {
      return redis.get(k(orgId).cursor);
    },
    async setCursor(orgId: string, cursor: string): Promise<void> {
      await redis.set(k(orgId).cursor, cursor);
    },
    async rememberOwn(orgId: string, ids: readonly string[], at: number): Promise<void> {
      if (ids.length === 0) return;
      const key = k(orgId).own;
      await redis.multi().zadd(key, ...ids.flatMap((id) => [at, id])).zremrangebyrank(key, 0, -(OWN_CAP + 1)).exec();
    },
    async isOwn(orgId: string, id: string): Promise<boolean> {
      return (await redis.zscore(k(orgId).own, id)) !== null;
    },
    /** Takes the organisation's poll lock for `ms`; false when another poll holds it. */
    lockPoll: (orgId: string, token: string, ms: number) => acquireLock(redis, k(orgId).pollLock, token, ms),
    unlockPoll: (orgId: string, token: string) => releaseLock(redis, k(orgId).pollLock, token),
    lockTicket: (orgId: string, ticketId: string, token: string, ms: number) => acquireLock(redis, k(orgId).ticketLock(ticketId), token, ms),
    unlockTicket: (orgId: string, ticketId: string, token: string) => releaseLock(redis, k(orgId).ticketLock(ticketId), token),
    async done(orgId: string, effectId: string): Promise<void> {
      await redis.zrem(k(orgId).queued, effectId);
    },
    async succeeded(orgId: string, at: number): Promise<void> {
      await redis.hset(k(orgId).health, 'lastSuccessAt', new Date(at).toISOString(), 'failing', 0);
    },
    async failed(orgId: string, at: number, reason: string): Promise<void> {
      await redis.multi().hset(k(orgId).health, 'lastFailureAt', new Date(at).toISOString(), 'lastError', reason.slice(0, 500)).hincrby(k(orgId).health, 'failing', 1).exec();
    },
    async count(orgId: string, field: CounterField, by = 1): Promise<void> {
      await redis.hincrby(k(orgId).health, field, by);
    },
    /** Every listed organisation's health in one round trip. */
    async health(orgIds: readonly string[]): Promise<ConnectorHealth[]> {
      if (orgIds.length === 0) return [];
      const p = redis.pipeline();
      for (const id of orgIds) p.hgetall(k(id).health).zcard(k(id).queued);
      const res = (await p.exec()) ?? [];
      return orgIds.map((orgId, i) => {
        const h = (res[2 * i]?.[1] ?? {}) as Record<string, string>;
        const n = (f: string) => Number(h[f] ?? 0);
        return {
          orgId,
          lastSuccessAt: h.lastSuccessAt ?? null,
          lastFailureAt: h.lastFailureAt ?? null,
          lastError: h.lastError ?? null,
          failing: n('failing'),
          queued: Number(res[2 * i + 1]?.[1] ?? 0),
          applied: n('applied'),
          echoes: n('echoes'),
          unmappedIn: n('unmappedIn'),
          unmappedOut: n('unmappedOut'),
          ignored: n('ignored'),
        };
      });
    },
  };
}

export type ConnectorStore = ReturnType<typeof createConnectorStore>;

/**
 * The correlation across partitions (LOTSE_PARTITIONS): a ticket's link, its
 * remote id's way back and its queued changes are in the ticket's partition
 * (the handoff's commit writes them there); a remote id is looked for in
 * each; the poll's cursor, locks and health are the organisation's, in
 * partition 0, its queued changes counted over all.
 */
export function partitionedConnectorStore(stores: readonly ConnectorStore[], partitionOf: (ticketId: string) => number): ConnectorStore {
  const base = stores[0]!;
  if (stores.length === 1) return base;
  const of = (ticketId: string) => stores[partitionOf(ticketId)]!;
  return {
    ...base,
    link: (orgId, ticketId) => of(ticketId).link(orgId, ticketId),
    fill: (orgId, ticketId, remoteId) => of(ticketId).fill(orgId, ticketId, remoteId),
    unlink: (orgId, ticketId, effectIds) => of(ticketId).unlink(orgId, ticketId, effectIds),
    async ticketOf(orgId, remoteId) {
      for (const s of stores) {
        const id = await s.ticketOf(orgId, remoteId);
        if (id !== null) return id;
      }
      return null;
    },
    lockTicket: (orgId, ticketId, token, ms) => of(ticketId).lockTicket(orgId, ticketId, token, ms),
    unlockTicket: (orgId, ticketId, token) => of(ticketId).unlockTicket(orgId, ticketId, token),
    // An effect id starts with its ticket's id, but need not end there: removed wherever it is queued.
    async done(orgId, effectId) {
      await Promise.all(stores.map((s) => s.done(orgId, effectId)));
    },
    async health(orgIds) {
      const [first, ...rest] = await Promise.all(stores.map((s) => s.health(orgIds)));
      return first!.map((h, i) => ({ ...h, queued: h.queued + rest.reduce((n, r) => n + r[i]!.queued, 0) }));
    },
  };
}
