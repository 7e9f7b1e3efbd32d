import { createHash } from 'node:crypto';
import type { RedisClient } from './redis-client.js';
import { mailKeys } from './mail-keys.js';
import type { StoreOp } from './ops.js';

/**
 * Each inbound message is taken exactly once per mailbox: by its Message-ID,
 * or a hash of its bytes where it has none. The mark is a member of the
 * mailbox's sorted set (score: when taken), so old marks can be pruned by
 * time and the mark is an ordinary StoreOp (`zadd`).
 *
 * Kill-safety: a message is marked by the step that makes its outcome
 * durable, never before. After the merge that step is the engine's commit:
 * it takes `seenOps` in its store operations and refuses (as a duplicate)
 * when `seenGuard`'s member is already there, so the event and the mark
 * land together or not at all. Until then `takeMessage` (ZADD NX) is the
 * commit point and the handler before it must be idempotent by the message
 * key (for example a queue job whose id is the message key). The IMAP
 * cursor moves only after the mark and an SMTP/LMTP answer of 250 follows
 * it: a kill before the mark re-fetches (or the MTA re-delivers) and the
 * message is taken then; a kill after it finds the mark and skips.
 */

/** `mid:<sha256 of the Message-ID>` or `raw:<sha256 of the bytes>`; hashed, because both come from outside. */
export function messageKey(messageId: string | undefined, rawHash: string): string {
  const id = messageId?.trim();
  return id ? `mid:${createHash('sha256').update(id).digest('hex')}` : `raw:${rawHash}`;
}

/** What the commit adds so the message counts as taken. */
export function seenOps(prefix: string, mailbox: string, key: string, takenAt: number): StoreOp[] {
  return [{ op: 'zadd', key: mailKeys(prefix).seen(mailbox), member: key, score: takenAt }];
}

/** What the commit checks first: if this member exists (ZSCORE not nil), the message was taken; commit nothing. */
export function seenGuard(prefix: string, mailbox: string, key: string): { key: string; member: string } {
  return { key: mailKeys(prefix).seen(mailbox), member: key };
}

export async function hasSeen(redis: RedisClient, prefix: string, mailbox: string, key: string): Promise<boolean> {
  return (await redis.zscore(mailKeys(prefix).seen(mailbox), key)) !== null;
}

/** Marks the message taken; true when this call took it, false when it was taken before. */
export async function takeMessage(redis: RedisClient, prefix: string, mailbox: string, key: string, takenAt: number): Promise<boolean> {
  return (await redis.zadd(mailKeys(prefix).seen(mailbox), 'NX', takenAt, key)) === 1;
}

/** Forgets marks older than `before` (ms): a mailbox re-fetched after that would be taken again, so keep this longer than any re-fetch. */
export async function pruneSeen(redis: RedisClient, prefix: string, mailbox: string, before: number): Promise<number> {
  return redis.zremrangebyscore(mailKeys(prefix).seen(mailbox), '-inf', `(${before}`);
}
