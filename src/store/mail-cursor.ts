import type { RedisClient } from './redis-client.js';
import { mailKeys } from './mail-keys.js';

/**
 * An IMAP mailbox's cursor: its UIDVALIDITY and the highest UID taken. It
 * survives restarts; a new UIDVALIDITY (the server renumbered the mailbox)
 * starts the cursor again from 0, and the seen marks (mail-seen.ts) keep the
 * re-scan from taking anything twice. UIDVALIDITY is a 32-bit unsigned value
 * that imapflow gives as a bigint: kept as its decimal string.
 */

export interface MailCursor {
  uidValidity: string;
  uid: number;
}

/** The id of a mailbox for the cursor and the seen marks: account and folder. */
export const mailboxId = (account: string, folder: string): string => `imap:${account}/${folder}`;

export async function readCursor(redis: RedisClient, prefix: string, mailbox: string): Promise<MailCursor | null> {
  const [uidValidity, uid] = await redis.hmget(mailKeys(prefix).cursor(mailbox), 'uidValidity', 'uid');
  return uidValidity == null || uid == null ? null : { uidValidity, uid: Number(uid) };
}

/** Moves the cursor; one fetcher owns a mailbox, so a plain write is enough. */
export async function writeCursor(redis: RedisClient, prefix: string, mailbox: string, cursor: MailCursor): Promise<void> {
  await redis.hset(mailKeys(prefix).cursor(mailbox), 'uidValidity', cursor.uidValidity, 'uid', String(cursor.uid), 'mailbox', mailbox);
}
