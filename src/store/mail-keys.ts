import { createHash } from 'node:crypto';

/**
 * Keys of what mail keeps in Redis, all under `<prefix>:mx:` (not `mail`:
 * a future BullMQ queue named `mail` would own `<prefix>:mail:*`). Mailbox
 * names and Message-IDs come from outside: they enter keys only hashed.
 */
export const shortHash = (value: string): string => createHash('sha256').update(value).digest('hex').slice(0, 32);

export const mailKeys = (prefix: string) => ({
  /** The claim of one effect's send: who claimed it, when, with which Message-ID; `doubt|…` when a send may have left. */
  sentClaim: (effectId: string) => `${prefix}:mx:sent:${effectId}:claim`,
  /** Set once an effect's mail was accepted by the SMTP server. */
  sent: (effectId: string) => `${prefix}:mx:sent:${effectId}`,
  /** Sorted set of the messages taken from one mailbox: member = message key, score = when taken (ms). */
  seen: (mailbox: string) => `${prefix}:mx:seen:${shortHash(mailbox)}`,
  /** Lexical sorted set of an organisation's own ticket numbers: `<number>|<ticketId>`. */
  refs: (orgId: string) => `${prefix}:mx:refs:${orgId}`,
  /** Hash: an IMAP mailbox's UIDVALIDITY and the highest UID taken. */
  cursor: (mailbox: string) => `${prefix}:mx:cursor:${shortHash(mailbox)}`,
  /** Set of the effects mailed to one recipient about one ticket on one (UTC) day: the flood limit. */
  quota: (recipient: string, ticketId: string, day: string) => `${prefix}:mx:quota:${day}:${ticketId}:${shortHash(recipient.toLowerCase())}`,
  /** Hash: a ticket's mail log, one field per mail in or out (the message key or the effect id) → JSON (mail-log.ts). */
  log: (ticketId: string) => `${prefix}:mx:log:${ticketId}`,
  /** Hash: one organisation's mail health (last success, failures, counts; mail-health.ts). */
  health: (orgId: string) => `${prefix}:mx:health:${orgId}`,
  /** Hash: one attachment of an inbound mail (`c` bytes, `n` name, `t` type, `k` its ticket), kept as a ticket's attachment link. */
  attachment: (id: string) => `${prefix}:mx:att:${id}`,
  /** Hash: mail in without an organisation (intake, unmatched, own), by the same fields. */
  inbound: `${prefix}:mx:health-in`,
  /** Hash: address → why it is undeliverable (a permanent bounce), for operators and the sender. */
  undeliverable: `${prefix}:mx:undeliverable`,
});
