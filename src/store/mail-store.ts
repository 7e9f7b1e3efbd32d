import type { RedisClient } from './redis-client.js';
import { bindAttachment, dropAttachment, keepAttachment, readAttachment } from './mail-attachments.js';
import { readCursor, writeCursor, type MailCursor } from './mail-cursor.js';
import { noteReceived, noteSendFailure, noteSent, readMailHealth } from './mail-health.js';
import { clearUndeliverable, countMail, listUndeliverable, markUndeliverable, undeliverable, type Undeliverable } from './mail-limits.js';
import { logMail, readMailLog, readThread, type MailLogEntry } from './mail-log.js';
import { findTicketByRef, keepRef } from './mail-refs.js';
import { hasSeen, takeMessage } from './mail-seen.js';
import { createMailSentStore, type MailSentStore } from './mail-sent.js';

/** Everything mail keeps in Redis, bound to one client and prefix, for the mail room (workers/mail*.ts). */
export function createMailStore(redis: RedisClient, prefix: string) {
  return {
    sent: createMailSentStore(redis, prefix) as MailSentStore,
    hasSeen: (mailbox: string, key: string) => hasSeen(redis, prefix, mailbox, key),
    take: (mailbox: string, key: string, at: number) => takeMessage(redis, prefix, mailbox, key, at),
    readCursor: (mailbox: string) => readCursor(redis, prefix, mailbox),
    writeCursor: (mailbox: string, cursor: MailCursor) => writeCursor(redis, prefix, mailbox, cursor),
    findByRef: (orgId: string, number: string) => findTicketByRef(redis, prefix, orgId, number),
    keepRef: (orgId: string, number: string, ticketId: string) => keepRef(redis, prefix, orgId, number, ticketId),
    markUndeliverable: (entry: Undeliverable) => markUndeliverable(redis, prefix, entry),
    undeliverable: (address: string) => undeliverable(redis, prefix, address),
    listUndeliverable: () => listUndeliverable(redis, prefix),
    clearUndeliverable: (address: string) => clearUndeliverable(redis, prefix, address),
    count: (recipient: string, ticketId: string, effectId: string, at: number, max: number) => countMail(redis, prefix, recipient, ticketId, effectId, at, max),
    log: (ticketId: string, id: string, entry: MailLogEntry) => logMail(redis, prefix, ticketId, id, entry),
    readLog: (ticketId: string) => readMailLog(redis, prefix, ticketId),
    readThread: (ticketId: string, orgId: string) => readThread(redis, prefix, ticketId, orgId),
    noteSent: (orgId: string, at: number) => noteSent(redis, prefix, orgId, at),
    noteSendFailure: (orgId: string, at: number, reason: string, deadLettered: boolean) => noteSendFailure(redis, prefix, orgId, at, reason, deadLettered),
    noteReceived: (orgId: string | null, at: number) => noteReceived(redis, prefix, orgId, at),
    readHealth: (orgIds: readonly string[]) => readMailHealth(redis, prefix, orgIds),
    keepAttachment: (id: string, a: { name: string; type: string; content: Buffer }) => keepAttachment(redis, prefix, id, a),
    bindAttachment: (id: string, ticketId: string) => bindAttachment(redis, prefix, id, ticketId),
    readAttachment: (id: string) => readAttachment(redis, prefix, id),
    dropAttachment: (id: string) => dropAttachment(redis, prefix, id),
  };
}
export type MailStore = ReturnType<typeof createMailStore>;
