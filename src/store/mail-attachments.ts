import type { RedisClient } from './redis-client.js';
import { mailKeys } from './mail-keys.js';

/**
 * The attachments of inbound mail, kept so a ticket can link them as the
 * contract keeps attachments (`name`, `url`, `size`): one hash per
 * attachment, bounded in number and size by the mail settings, expiring
 * ATTACHMENT_TTL_S after it was kept. Served only to whoever may read its
 * ticket, and only while the ticket still links it (an erasure removes the
 * links: the bytes are unreachable at once and deleted at the next request
 * or at expiry).
 */

export const ATTACHMENT_TTL_S = 400 * 86_400;

export interface KeptAttachment {
  name: string;
  type: string;
  content: Buffer;
  ticketId: string | null;
}

export async function keepAttachment(redis: RedisClient, prefix: string, id: string, a: { name: string; type: string; content: Buffer }): Promise<void> {
  const key = mailKeys(prefix).attachment(id);
  await redis.multi().hset(key, 'c', a.content, 'n', a.name, 't', a.type).expire(key, ATTACHMENT_TTL_S).exec();
}

/** Names the ticket the attachment belongs to (after the ticket's commit). */
export async function bindAttachment(redis: RedisClient, prefix: string, id: string, ticketId: string): Promise<void> {
  const key = mailKeys(prefix).attachment(id);
  if ((await redis.exists(key)) === 1) await redis.hset(key, 'k', ticketId);
}

export async function readAttachment(redis: RedisClient, prefix: string, id: string): Promise<KeptAttachment | null> {
  const h = await redis.hgetallBuffer(mailKeys(prefix).attachment(id));
  if (!h.c) return null;
  return { content: h.c, name: h.n?.toString('utf8') ?? 'anhang', type: h.t?.toString('utf8') ?? 'application/octet-stream', ticketId: h.k?.toString('utf8') ?? null };
}

export async function dropAttachment(redis: RedisClient, prefix: string, id: string): Promise<void> {
  await redis.del(mailKeys(prefix).attachment(id));
}
