import type { RedisClient } from './redis-client.js';
import { mailKeys } from './mail-keys.js';
import type { StoreOp } from './ops.js';

/**
 * The other side's own ticket numbers, per organisation: `INC-12345` of
 * vendor-lc → Lotse's ticket. A lexical sorted set of `<number>|<ticketId>`
 * (score 0), so the write is an ordinary StoreOp the engine's commit can
 * carry beside the ticket's external reference, and erasure is a `zrem`.
 */

const MAX_NUMBER = 100;

function check(number: string): string {
  const n = number.trim();
  if (!n || n.length > MAX_NUMBER || n.includes('|')) throw new Error('an external ticket number is 1..100 characters without |');
  return n;
}

export function refOps(prefix: string, orgId: string, number: string, ticketId: string): StoreOp[] {
  return [{ op: 'zadd', key: mailKeys(prefix).refs(orgId), member: `${check(number)}|${ticketId}`, score: 0 }];
}

export function removeRefOps(prefix: string, orgId: string, number: string, ticketId: string): StoreOp[] {
  return [{ op: 'zrem', key: mailKeys(prefix).refs(orgId), member: `${check(number)}|${ticketId}` }];
}

/** The ticket that keeps this organisation's number; when several do (it should not happen), the lowest ticket id. */
export async function findTicketByRef(redis: RedisClient, prefix: string, orgId: string, number: string): Promise<string | null> {
  const n = number.trim();
  if (!n || n.length > MAX_NUMBER || n.includes('|')) return null;
  const [member] = await redis.zrangebylex(mailKeys(prefix).refs(orgId), `[${n}|`, `[${n}|\xff`, 'LIMIT', 0, 1);
  return member === undefined ? null : member.slice(n.length + 1);
}

/** Applies refOps on their own (before the engine's commit carries them). */
export async function keepRef(redis: RedisClient, prefix: string, orgId: string, number: string, ticketId: string): Promise<void> {
  await redis.zadd(mailKeys(prefix).refs(orgId), 0, `${check(number)}|${ticketId}`);
}
