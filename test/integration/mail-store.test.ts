/**
 * What mail keeps in Redis (src/store/mail-*.ts) on a real Redis, and the
 * sender's never-twice rule against real local SMTP servers: Lotse's own
 * listener (smtp-server) where a server must accept or refuse, a bare TCP
 * server that takes the whole message and hangs up without an answer (the
 * case no library server makes on purpose), and a port where nothing
 * listens (the SMTP server is down).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { composeHandoffMail } from '../../src/mail/compose.js';
import { parseMail } from '../../src/mail/parse.js';
import { createMailSender, MailSendError, type MailSender, type SendChecks } from '../../src/mail/sender.js';
import { startMailListener, type MailListener } from '../../src/mail/smtp-listener.js';
import { freePort } from '../../src/embedded-redis.js';
import { mailboxId, readCursor, writeCursor } from '../../src/store/mail-cursor.js';
import { mailKeys } from '../../src/store/mail-keys.js';
import { clearUndeliverable, countMail, listUndeliverable, markUndeliverable, undeliverable } from '../../src/store/mail-limits.js';
import { findTicketByRef, keepRef, refOps, removeRefOps } from '../../src/store/mail-refs.js';
import { hasSeen, messageKey, pruneSeen, seenGuard, seenOps, takeMessage } from '../../src/store/mail-seen.js';
import { createMailSentStore, type MailSentStore } from '../../src/store/mail-sent.js';
import { dropPrefix, newPrefix, redisUrl } from '../helpers/harness.js';
import { TICKET, ticketView } from '../helpers/mail-fixtures.js';
import { applyStoreOps } from '../helpers/store-ops.js';

let redis: Redis;
let prefix: string;
const closers: (() => Promise<void> | void)[] = [];

beforeEach(() => {
  redis = new Redis(redisUrl());
  prefix = newPrefix('mx');
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await dropPrefix(redis, prefix);
  redis.disconnect();
});

const mailFor = (effectId: string, to = 'desk@lotse.test') =>
  composeHandoffMail({
    effectId, at: '2026-12-07T09:00:00.000Z', ticket: ticketView(), personalData: false,
    recipient: { orgId: 'vendor-lc', address: to }, sender: { address: 'lotse@lotse.test' }, thread: [],
  });

function senderOn(port: number, sent: MailSentStore, now?: () => number, checks?: SendChecks): MailSender {
  const s = createMailSender({ smtp: { host: '127.0.0.1', port, secure: false, auth: undefined }, sent, ignoreTLS: true, timeouts: { connectMs: 2000, greetingMs: 2000, socketMs: 2000 }, ...(now ? { now } : {}), ...(checks ? { checks } : {}) });
  closers.push(() => s.close());
  return s;
}

async function listener(port: number, opts: { accept?: (a: string) => boolean } = {}): Promise<{ got: Buffer[]; server: MailListener }> {
  const got: Buffer[] = [];
  const server = await startMailListener({ host: '127.0.0.1', port, maxBytes: 1 << 20, onMessage: async (d) => void got.push(d.raw), ...(opts.accept ? { acceptRecipient: opts.accept } : {}) });
  closers.push(() => server.close());
  return { got, server };
}

/** Speaks just enough SMTP to take a whole message, then hangs up without answering the final dot. */
async function hangUpAfterData(): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const server: Server = createServer((socket: Socket) => {
    connections++;
    let inData = false;
    let buffer = '';
    socket.write('220 hangup ESMTP\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      if (inData) {
        if (buffer.includes('\r\n.\r\n')) socket.destroy();
        return;
      }
      let at: number;
      while ((at = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, at).toUpperCase();
        buffer = buffer.slice(at + 2);
        if (line.startsWith('EHLO')) socket.write('250 hangup\r\n');
        else if (line.startsWith('DATA')) {
          inData = true;
          socket.write('354 go ahead\r\n');
          if (buffer.includes('\r\n.\r\n')) socket.destroy();
          return;
        } else if (line.startsWith('QUIT')) socket.end('221 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as { port: number }).port, connections: () => connections };
}

describe('sending: never twice for one effect', () => {
  it('sends once; a retry of the effect finds it sent and sends nothing', async () => {
    const port = await freePort();
    const { got } = await listener(port);
    const sender = senderOn(port, createMailSentStore(redis, prefix));
    const mail = mailFor('eff-1');
    expect(await sender.sendMail('eff-1', mail)).toMatchObject({ outcome: 'sent', messageId: mail.messageId });
    expect(await sender.sendMail('eff-1', mail)).toEqual({ outcome: 'already-sent', messageId: mail.messageId });
    expect(got).toHaveLength(1);
    expect((await parseMail(got[0]!)).messageId).toBe(mail.messageId);
  });

  it('an SMTP server that is down delays the mail: a retryable error, the claim released, sent once it is back', async () => {
    const port = await freePort();
    const sent = createMailSentStore(redis, prefix);
    const sender = senderOn(port, sent);
    const mail = mailFor('eff-down');
    const err = await sender.sendMail('eff-down', mail).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MailSendError);
    expect(err).toMatchObject({ permanent: false, retryable: true });
    expect(await sent.get('eff-down')).toBeNull();
    const { got } = await listener(port);
    expect((await sender.sendMail('eff-down', mail)).outcome).toBe('sent');
    expect(got).toHaveLength(1);
  });

  it('a refusal (5xx) is permanent: no retry helps, and nothing was sent', async () => {
    const port = await freePort();
    await listener(port, { accept: () => false });
    const sent = createMailSentStore(redis, prefix);
    const err = await senderOn(port, sent).sendMail('eff-refused', mailFor('eff-refused')).catch((e: unknown) => e);
    expect(err).toMatchObject({ permanent: true, responseCode: 550 });
    expect(await sent.get('eff-refused')).toBeNull();
  });

  it('a connection lost after the whole message was handed over is in doubt: never sent again by itself', async () => {
    const server = await hangUpAfterData();
    const sent = createMailSentStore(redis, prefix);
    const sender = senderOn(server.port, sent);
    const mail = mailFor('eff-doubt');
    const first = await sender.sendMail('eff-doubt', mail);
    expect(first).toMatchObject({ outcome: 'in-doubt', messageId: mail.messageId });
    expect(await sent.get('eff-doubt')).toMatchObject({ state: 'doubt', messageId: mail.messageId });
    expect(await sender.sendMail('eff-doubt', mail)).toMatchObject({ outcome: 'in-doubt' });
    expect(server.connections()).toBe(1);
  });

  it('a worker killed between send and record leaves a claim: busy within the lease, then in doubt; an operator decides', async () => {
    const port = await freePort();
    const { got } = await listener(port);
    let now = 1_000_000;
    const sent = createMailSentStore(redis, prefix, { leaseMs: 60_000 });
    const mail = mailFor('eff-killed');
    // What the killed worker left: its claim, no sent record (it may have sent).
    expect((await sent.claim('eff-killed', 'dead-worker', mail.messageId, now)).outcome).toBe('claimed');
    const sender = senderOn(port, sent, () => now);
    expect(await sender.sendMail('eff-killed', mail)).toMatchObject({ outcome: 'busy' });
    now += 60_000;
    expect(await sender.sendMail('eff-killed', mail)).toMatchObject({ outcome: 'in-doubt', messageId: mail.messageId });
    expect(got).toHaveLength(0);
    // The operator found it in the MTA's log: sent. A replay sends nothing.
    await sent.resolveInDoubt('eff-killed', 'sent', now);
    expect(await sender.sendMail('eff-killed', mail)).toMatchObject({ outcome: 'already-sent' });
    // Another one the operator found missing: resend, with the same Message-ID.
    await sent.claim('eff-killed-2', 'dead-worker', mailFor('eff-killed-2').messageId, now - 120_000);
    expect((await sender.sendMail('eff-killed-2', mailFor('eff-killed-2'))).outcome).toBe('in-doubt');
    await sent.resolveInDoubt('eff-killed-2', 'resend', now);
    expect(await sender.sendMail('eff-killed-2', mailFor('eff-killed-2'))).toMatchObject({ outcome: 'sent', messageId: mailFor('eff-killed-2').messageId });
    expect(got).toHaveLength(1);
  });

  it('only the owner of a claim releases it', async () => {
    const sent = createMailSentStore(redis, prefix);
    const mine = await sent.claim('eff-x', 'me', '<m@lotse.test>', Date.now());
    expect(mine.outcome).toBe('claimed');
    expect(await sent.release('eff-x', 'claimed|someone-else|1|<m@lotse.test>')).toBe(false);
    expect(await sent.release('eff-x', (mine as { claim: string }).claim)).toBe(true);
    expect(await sent.get('eff-x')).toBeNull();
  });
});

describe('no loops, no floods', () => {
  const checks = (max: number): SendChecks => ({
    undeliverable: (a) => undeliverable(redis, prefix, a),
    count: (to, ticketId, effectId, at) => countMail(redis, prefix, to, ticketId, effectId, at, max),
  });

  it('counts effects per recipient, ticket and day; a retried effect counts once', async () => {
    const at = Date.parse('2026-12-07T10:00:00Z');
    const count = (effect: string, to = 'a@vendor.test', ticket = TICKET, when = at) => countMail(redis, prefix, to, ticket, effect, when, 2);
    expect(await count('e1')).toEqual({ allowed: true, count: 1 });
    expect(await count('e2')).toEqual({ allowed: true, count: 2 });
    expect(await count('e3')).toEqual({ allowed: false, count: 2 });
    expect(await count('e1')).toEqual({ allowed: true, count: 2 });
    expect((await count('e3', 'A@vendor.test')).allowed).toBe(false);
    expect((await count('e3', 'b@vendor.test')).allowed).toBe(true);
    expect((await count('e3', 'a@vendor.test', 'T01KBX7Q9M2V8C4N6P0R4')).allowed).toBe(true);
    expect((await count('e3', 'a@vendor.test', TICKET, at + 86_400_000)).allowed).toBe(true);
  });

  it('keeps undeliverable addresses for operators, and the sender refuses them and floods without sending', async () => {
    const port = await freePort();
    const { got } = await listener(port);
    await markUndeliverable(redis, prefix, { address: 'Gone@Vendor.test', at: 5, status: '5.1.1', diagnostic: 'User unknown', ticketId: TICKET });
    expect(await listUndeliverable(redis, prefix)).toEqual([{ address: 'gone@vendor.test', at: 5, status: '5.1.1', diagnostic: 'User unknown', ticketId: TICKET }]);
    const sent = createMailSentStore(redis, prefix);
    const sender = senderOn(port, sent, undefined, checks(2));
    expect(await sender.sendMail('eff-gone', mailFor('eff-gone', 'gone@vendor.test'))).toMatchObject({ outcome: 'refused', reason: 'undeliverable' });
    expect(await sent.get('eff-gone')).toBeNull();

    for (const e of ['eff-q1', 'eff-q2']) expect((await sender.sendMail(e, mailFor(e))).outcome).toBe('sent');
    expect(await sender.sendMail('eff-q3', mailFor('eff-q3'))).toMatchObject({ outcome: 'refused', reason: 'quota' });
    expect(got).toHaveLength(2);

    expect(await clearUndeliverable(redis, prefix, 'gone@vendor.test')).toBe(true);
    expect((await sender.sendMail('eff-gone', mailFor('eff-gone', 'gone@vendor.test'))).outcome).toBe('sent');
    expect(got).toHaveLength(3);
  });
});

describe('what mail keeps', () => {
  it('takes a message once per mailbox; the commit form (seenOps) and the guard name the same member', async () => {
    const box = 'lotse-by@lotse.test';
    const key = messageKey('<a@vendor.test>', 'f'.repeat(64));
    expect(key).toMatch(/^mid:[0-9a-f]{64}$/);
    expect(messageKey(undefined, 'e'.repeat(64))).toBe(`raw:${'e'.repeat(64)}`);
    expect(await takeMessage(redis, prefix, box, key, 1)).toBe(true);
    expect(await takeMessage(redis, prefix, box, key, 2)).toBe(false);
    expect(await takeMessage(redis, prefix, 'other@lotse.test', key, 3)).toBe(true);

    const other = messageKey('<b@vendor.test>', '');
    const ops = seenOps(prefix, box, other, 10);
    expect(ops).toEqual([{ op: 'zadd', ...seenGuard(prefix, box, other), score: 10 }]);
    expect(await hasSeen(redis, prefix, box, other)).toBe(false);
    await applyStoreOps(redis, ops);
    expect(await hasSeen(redis, prefix, box, other)).toBe(true);
    expect(await pruneSeen(redis, prefix, box, 5)).toBe(1);
    expect(await hasSeen(redis, prefix, box, key)).toBe(false);
    // Outside input enters keys only hashed.
    expect(seenGuard(prefix, 'a b\r\n*', key).key).toMatch(new RegExp(`^${prefix}:mx:seen:[0-9a-f]{32}$`));
  });

  it('finds a ticket by an organisation\'s own number, per organisation, without prefix confusion', async () => {
    await applyStoreOps(redis, refOps(prefix, 'vendor-lc', 'INC-12', TICKET));
    await keepRef(redis, prefix, 'vendor-lc', 'INC-1', 'T01KBX7Q9M2V8C4N6P0R4');
    expect(await findTicketByRef(redis, prefix, 'vendor-lc', 'INC-12')).toBe(TICKET);
    expect(await findTicketByRef(redis, prefix, 'vendor-lc', 'INC-1')).toBe('T01KBX7Q9M2V8C4N6P0R4');
    expect(await findTicketByRef(redis, prefix, 'vendor-lc', 'INC-123')).toBeNull();
    expect(await findTicketByRef(redis, prefix, 'vendor-pq', 'INC-12')).toBeNull();
    await applyStoreOps(redis, removeRefOps(prefix, 'vendor-lc', 'INC-12', TICKET));
    expect(await findTicketByRef(redis, prefix, 'vendor-lc', 'INC-12')).toBeNull();
    expect(() => refOps(prefix, 'vendor-lc', 'a|b', TICKET)).toThrow();
  });

  it('keeps an IMAP cursor across connections', async () => {
    const box = mailboxId('support', 'INBOX');
    expect(await readCursor(redis, prefix, box)).toBeNull();
    await writeCursor(redis, prefix, box, { uidValidity: '1796641439', uid: 42 });
    const other = new Redis(redisUrl());
    closers.push(() => other.disconnect());
    expect(await readCursor(other, prefix, box)).toEqual({ uidValidity: '1796641439', uid: 42 });
    expect(mailKeys(prefix).cursor(box)).toMatch(new RegExp(`^${prefix}:mx:cursor:`));
  });
});
