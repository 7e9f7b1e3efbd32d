/**
 * Mail against real servers: a private Postfix (the MTA, it makes real
 * bounces) and a private Dovecot (IMAP, LMTP, a Sieve vacation rule on the
 * vendor's mailbox) from Debian's packages, started by
 * test/helpers/mail-servers.ts; a real Redis for what mail keeps. No mock of
 * mail. Skipped (saying why) where the servers are not installed or the
 * user is not root; `.ci/run` installs them and sets LOTSE_MAIL_SERVERS=required,
 * which turns the skip into a failure.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeHandoffMail, composeUpdateMail, type ComposedMail } from '../../src/mail/compose.js';
import { createImapFetcher, type ImapMessage } from '../../src/mail/imap-fetcher.js';
import { readInboundMail, type ReadMail } from '../../src/mail/inbound.js';
import type { MatchLookups } from '../../src/mail/match.js';
import { parseMail } from '../../src/mail/parse.js';
import { createMailSender, type MailSender } from '../../src/mail/sender.js';
import { startMailListener, type InboundDelivery } from '../../src/mail/smtp-listener.js';
import { mailboxId, readCursor, writeCursor } from '../../src/store/mail-cursor.js';
import { markUndeliverable, undeliverable, countMail } from '../../src/store/mail-limits.js';
import { findTicketByRef } from '../../src/store/mail-refs.js';
import { messageKey, takeMessage } from '../../src/store/mail-seen.js';
import { createMailSentStore } from '../../src/store/mail-sent.js';
import { dropPrefix, newPrefix, redisUrl, waitFor } from '../helpers/harness.js';
import { MAIL_USERS, mailServersMissing, startMailServers, type MailServers } from '../helpers/mail-servers.js';

const missing = mailServersMissing();
if (missing && process.env.LOTSE_MAIL_SERVERS === 'required') throw new Error(`LOTSE_MAIL_SERVERS=required, but ${missing}`);
if (missing) console.warn(`mail-servers tests skipped: ${missing}`);

const FROM = 'lotse@lotse.test';
const DOMAIN = 'lotse.test';
const TICKET = 'T01KBX7Q9M2V8C4N6P07W';

function ticketView(id = TICKET) {
  return {
    id, externalRef: 'ext-1', version: 3, land: 'HB' as const, service: 'lieferantencockpit', themeField: 'unternehmensfuehrung',
    channel: 'email' as const, category: 'technical' as const, impact: 'high' as const, urgency: 'medium' as const, priority: 'P2' as const,
    subject: 'Lieferantenkonto gesperrt – Anmeldung schlägt fehl', description: 'Seit heute früh erscheint beim Login „Konto gesperrt“.',
    attachments: [], level: 3 as const, status: 'handoff-pending' as const, state: 'handoffPending', assignee: 'vendor-lc', createdBy: 'desk-HB',
    handledBy: ['desk-HB', 'dataport'], sla: { firstResponseDueAt: null, resolutionDueAt: '2026-12-09T16:00:00.000Z', paused: false, warnings: [], breaches: [] },
    receivedAt: '2026-12-07T08:00:00.000Z', createdAt: '2026-12-07T08:00:00.000Z', updatedAt: '2026-12-07T09:00:00.000Z', resolvedAt: null, closedAt: null,
    reporter: { name: 'Erika Mustermann', email: 'erika@example.org' },
  };
}

function handoff(effectId: string, to: string, thread: string[] = [], ticketId = TICKET): ComposedMail {
  return composeHandoffMail({
    effectId, at: '2026-12-07T09:00:00.000Z', ticket: ticketView(ticketId), personalData: false,
    recipient: { orgId: 'vendor-lc', name: 'Support Lieferantencockpit', address: to }, sender: { address: FROM }, thread,
  });
}

const lookups: MatchLookups = {
  ownDomain: DOMAIN,
  organisations: [{ orgId: 'vendor-lc', address: 'support@vendor.test', ticketNumber: /INC-[0-9]+/ }],
  findByExternalNumber: async () => null,
};

describe.skipIf(missing !== null)('mail through a real Postfix and Dovecot', () => {
  let servers: MailServers;
  let redis: Redis;
  let prefix: string;
  let sender: MailSender;

  beforeAll(async () => {
    servers = await startMailServers();
    redis = new Redis(redisUrl());
    prefix = newPrefix('mx');
    sender = createMailSender({ smtp: { host: '127.0.0.1', port: servers.smtpPort, secure: false, auth: undefined }, sent: createMailSentStore(redis, prefix), ignoreTLS: true, dsn: true, name: 'lotse.test' });
  }, 60_000);

  afterAll(async () => {
    sender?.close();
    if (redis) {
      await dropPrefix(redis, prefix);
      redis.disconnect();
    }
    await servers?.stop();
  });

  /** The files of a user's Maildir whose headers carry this Message-ID. */
  const delivered = (user: keyof typeof MAIL_USERS, messageId: string) =>
    servers.maildir(user).filter((f) => headerBlock(readFileSync(f, 'latin1')).includes(messageId));

  function fetcherFor(user: keyof typeof MAIL_USERS, onMessage: (m: ImapMessage) => Promise<void>, mailbox = mailboxId(user, 'INBOX')) {
    return createImapFetcher({
      host: '127.0.0.1', port: servers.imapPort, secure: false, plain: true, auth: MAIL_USERS[user],
      cursor: { read: () => readCursor(redis, prefix, mailbox), write: (c) => writeCursor(redis, prefix, mailbox, c) },
      onMessage,
    });
  }

  /** Reads the user's mailbox (a fetcher of its own cursor) until a mail satisfies `want`. */
  async function waitForInbound(user: keyof typeof MAIL_USERS, want: (m: ReadMail) => boolean, what: string): Promise<ReadMail> {
    const mailbox = `scan-${user}-${what}`;
    const found: ReadMail[] = [];
    const fetcher = fetcherFor(user, async (m) => void found.push(await readInboundMail(m.raw, { mailbox }, { ownDomain: DOMAIN, ownAddresses: [FROM], lookups })), mailbox);
    return waitFor(async () => (await fetcher.fetchOnce(), found.find(want)), { timeoutMs: 30_000, intervalMs: 200, what });
  }

  it('sends a composed handoff through Postfix into the vendor mailbox with its headers, once per effect', async () => {
    const mail = handoff('eff-handoff-1', 'support@vendor.test', ['<their-1@vendor.test>', '<lotse.T01KBX7Q9M2V8C4N6P07W.000000000000000000000000@lotse.test>']);
    const first = await sender.sendMail('eff-handoff-1', mail);
    expect(first.outcome).toBe('sent');
    const files = await waitFor(() => delivered('support', mail.messageId).length > 0 && delivered('support', mail.messageId), { timeoutMs: 20_000, what: `delivery\n${servers.logs()}` });
    const got = await parseMail(readFileSync(files[0]!));
    expect(got.subject).toBe(`[Lotse#${TICKET}] Übergabe: Lieferantenkonto gesperrt – Anmeldung schlägt fehl`);
    expect(got.messageId).toBe(mail.messageId);
    expect(got.messageId).toMatch(/@lotse\.test>$/);
    expect(got.inReplyTo).toEqual(['<lotse.T01KBX7Q9M2V8C4N6P07W.000000000000000000000000@lotse.test>']);
    expect(got.references).toEqual(['<their-1@vendor.test>', '<lotse.T01KBX7Q9M2V8C4N6P07W.000000000000000000000000@lotse.test>']);
    expect(got.headers['auto-submitted']).toEqual(['auto-generated']);
    expect(got.text).toContain('Status: gelöst');
    expect(got.text).not.toContain('Erika'); // no personal data without the service's leave

    // A retry of the same effect (a re-run job) sends nothing: the mailbox keeps one copy.
    expect(await sender.sendMail('eff-handoff-1', mail)).toEqual({ outcome: 'already-sent', messageId: mail.messageId });
    expect(delivered('support', mail.messageId)).toHaveLength(1);
  });

  it('takes each message of a mailbox once: across a restart of the fetcher, a re-fetch, and a kill between fetch and commit', async () => {
    const mail = handoff('eff-imap-1', 'support@vendor.test', [], 'T01KBX7Q9M2V8C4N6P08A');
    await sender.sendMail('eff-imap-1', mail);
    await waitFor(() => delivered('support', mail.messageId).length > 0, { timeoutMs: 20_000, what: 'delivery' });

    const mailbox = mailboxId('support', 'INBOX');
    const taken: string[] = [];
    let crashOnce = true;
    // The handler is what the commit will be: it takes the mail (the seen mark) or throws before.
    const onMessage = async (m: ImapMessage) => {
      const parsed = await parseMail(m.raw);
      if (crashOnce && parsed.messageId === mail.messageId) {
        crashOnce = false;
        throw new Error('killed between fetch and commit');
      }
      if (await takeMessage(redis, prefix, mailbox, messageKey(parsed.messageId, parsed.hash), Date.now())) taken.push(parsed.messageId ?? parsed.hash);
    };
    await expect(fetcherFor('support', onMessage).fetchOnce()).rejects.toThrow('killed between fetch and commit');
    expect(taken).not.toContain(mail.messageId);

    // The next fetcher (a restart) resumes from the cursor and takes it.
    await fetcherFor('support', onMessage).fetchOnce();
    expect(taken.filter((id) => id === mail.messageId)).toHaveLength(1);
    const cursor = await readCursor(redis, prefix, mailbox);
    expect(cursor?.uid).toBeGreaterThan(0);

    // Another restart: nothing new. A lost cursor (the whole mailbox fetched twice): still taken once each.
    expect(await fetcherFor('support', onMessage).fetchOnce()).toBe(0);
    await redis.del(`${prefix}:mx:cursor:${(await import('../../src/store/mail-keys.js')).shortHash(mailbox)}`);
    const before = taken.length;
    expect(await fetcherFor('support', onMessage).fetchOnce()).toBeGreaterThan(0);
    expect(taken.length).toBe(before);
    expect(new Set(taken).size).toBe(taken.length);
  });

  it('takes a new mail while waiting in IDLE', async () => {
    const mailbox = 'idle-lotse';
    const seen: string[] = [];
    const fetcher = fetcherFor('lotse', async (m) => void seen.push((await parseMail(m.raw)).messageId ?? ''), mailbox);
    await fetcher.start();
    try {
      const mail = handoff('eff-idle-1', 'lotse@lotse.test', [], 'T01KBX7Q9M2V8C4N6P08B');
      await sender.sendMail('eff-idle-1', mail);
      await waitFor(() => seen.includes(mail.messageId), { timeoutMs: 20_000, what: 'the IDLE fetcher to take the new mail' });
    } finally {
      await fetcher.stop();
    }
  });

  it('classifies a real Postfix bounce (unknown user) as permanent, with the original Message-ID, matched to its ticket', async () => {
    const mail = handoff('eff-bounce-1', 'niemand@vendor.test', [], 'T01KBX7Q9M2V8C4N6P08C');
    expect((await sender.sendMail('eff-bounce-1', mail)).outcome).toBe('sent');
    const bounce = await waitForInbound('lotse', (m) => m.classification.kind === 'bounce' && m.classification.bounce?.originalMessageId === mail.messageId, 'the bounce');
    expect(bounce.classification).toMatchObject({ kind: 'bounce', rule: 'delivery-report' });
    expect(bounce.classification.bounce).toMatchObject({ severity: 'permanent', originalTicketId: 'T01KBX7Q9M2V8C4N6P08C' });
    expect(bounce.classification.bounce!.recipients).toEqual([expect.objectContaining({ address: 'niemand@vendor.test', action: 'failed', status: '5.1.1' })]);
    expect(bounce.mail.delivery?.originalEnvelopeId).toBe('eff-bounce-1');
    expect(bounce.match).toMatchObject({ ticketId: 'T01KBX7Q9M2V8C4N6P08C', rule: 'bounce-original' });
    expect(bounce.mayAnswer).toBe(false);
  });

  it('classifies a Dovecot Sieve vacation reply as an automatic reply (RFC 3834), matched by In-Reply-To, never to be answered', async () => {
    // A person's words passed on (not auto-generated): the vacation rule answers it.
    const mail = composeUpdateMail({
      effectId: 'eff-vacation-1', at: '2026-12-07T10:00:00.000Z', ticket: ticketView('T01KBX7Q9M2V8C4N6P08D'), personalData: false,
      recipient: { orgId: 'vendor-lc', address: 'support@vendor.test' }, sender: { address: FROM }, thread: [], summary: 'Die Landesstelle fragt nach dem Stand.', automatic: false,
    });
    await sender.sendMail('eff-vacation-1', mail);
    const reply = await waitForInbound('lotse', (m) => m.mail.inReplyTo.includes(mail.messageId), 'the vacation reply');
    expect(reply.classification).toMatchObject({ kind: 'auto-reply', rule: 'auto-submitted' });
    expect(reply.classification.detail).toContain('auto-replied');
    expect(reply.match).toMatchObject({ ticketId: 'T01KBX7Q9M2V8C4N6P08D', rule: 'message-id' });
    expect(reply.mayAnswer).toBe(false);
  });

  it('receives mail Postfix relays to the SMTP listener (transport map), answering 451 until the handler took it', async () => {
    const received: InboundDelivery[] = [];
    const taken: string[] = [];
    let failFirst = true;
    const listener = await startMailListener({
      host: '127.0.0.1', port: servers.listenerPort, maxBytes: 1024 * 1024,
      async onMessage(d) {
        received.push(d);
        if (failFirst) {
          failFirst = false;
          throw new Error('Redis is away');
        }
        const parsed = await parseMail(d.raw, { envelopeFrom: d.mailFrom });
        if (await takeMessage(redis, prefix, d.rcptTo[0]!, messageKey(parsed.messageId, parsed.hash), Date.now())) taken.push(parsed.messageId!);
      },
    });
    try {
      const mail = handoff('eff-listener-1', 'desk@in.lotse.test', [], 'T01KBX7Q9M2V8C4N6P08E');
      await sender.sendMail('eff-listener-1', mail);
      await waitFor(() => (servers.flush(), taken.includes(mail.messageId)), { timeoutMs: 30_000, intervalMs: 250, what: `the listener to take the mail\n${servers.logs()}` });
      expect(received.length).toBe(2); // refused once with 451, delivered again by Postfix
      expect(received[1]).toMatchObject({ mailFrom: FROM, rcptTo: ['desk@in.lotse.test'] });
      expect(taken).toEqual([mail.messageId]);
    } finally {
      await listener.close();
    }
  });

  it('receives mail Postfix delivers to the listener over LMTP', async () => {
    const got: string[] = [];
    const listener = await startMailListener({
      host: '127.0.0.1', port: servers.lmtpListenerPort, protocol: 'lmtp', maxBytes: 1024 * 1024,
      onMessage: async (d) => void got.push((await parseMail(d.raw)).messageId ?? ''),
    });
    try {
      const mail = handoff('eff-lmtp-1', 'desk@lmtp.lotse.test', [], 'T01KBX7Q9M2V8C4N6P08F');
      await sender.sendMail('eff-lmtp-1', mail);
      await waitFor(() => (servers.flush(), got.includes(mail.messageId)), { timeoutMs: 30_000, intervalMs: 250, what: 'LMTP delivery' });
    } finally {
      await listener.close();
    }
  });

  it('answers no automatic mail: 10 round trips with a vendor on vacation and a dead address give 0 loops, 1 bounce', async () => {
    const mailbox = 'loop-lotse';
    const checked = createMailSender({
      smtp: { host: '127.0.0.1', port: servers.smtpPort, secure: false, auth: undefined }, sent: createMailSentStore(redis, prefix), ignoreTLS: true, name: 'lotse.test',
      checks: { undeliverable: (a) => undeliverable(redis, prefix, a), count: (to, t, e, at) => countMail(redis, prefix, to, t, e, at, 100) },
    });
    const seen = { autoReplies: 0, bounces: 0, answered: 0 };
    const inbound: ReadMail[] = [];
    // What the mail worker will do with each inbound mail: answer a person, keep the rest as notes, mark dead addresses.
    const react = async (m: ImapMessage) => {
      const read = await readInboundMail(m.raw, { mailbox }, { ownDomain: DOMAIN, ownAddresses: [FROM], lookups });
      if (!(await takeMessage(redis, prefix, mailbox, read.key, Date.now()))) return;
      inbound.push(read);
      if (read.classification.kind === 'auto-reply') seen.autoReplies++;
      if (read.classification.kind === 'bounce') {
        seen.bounces++;
        for (const r of read.classification.bounce!.recipients) {
          if (read.classification.bounce!.severity === 'permanent') await markUndeliverable(redis, prefix, { address: r.address, at: Date.now(), status: r.status, diagnostic: r.diagnostic ?? '', ticketId: read.match.ticketId });
        }
      }
      if (read.mayAnswer) seen.answered++;
    };
    const fetcher = fetcherFor('lotse', react, mailbox);
    await fetcher.fetchOnce(); // take what earlier tests left, so only this test's mail counts below
    Object.assign(seen, { autoReplies: 0, bounces: 0, answered: 0 });
    inbound.length = 0;
    const outcomes: string[] = [];
    try {
      for (let round = 1; round <= 10; round++) {
        const ticketId = `T01KBX7Q9M2V8C4N6P${String(round).padStart(3, '0')}`;
        const toVendor = composeUpdateMail({
          effectId: `loop-${round}`, at: '2026-12-07T11:00:00.000Z', ticket: ticketView(ticketId), personalData: false,
          recipient: { orgId: 'vendor-lc', address: 'support@vendor.test' }, sender: { address: FROM }, thread: [], summary: `Runde ${round}`, automatic: false,
        });
        outcomes.push((await checked.sendMail(`loop-${round}`, toVendor)).outcome);
        outcomes.push((await checked.sendMail(`loop-dead-${round}`, handoff(`loop-dead-${round}`, 'weg@vendor.test', [], ticketId))).outcome);
        await waitFor(async () => (await fetcher.fetchOnce(), seen.autoReplies >= round && seen.bounces >= 1), { timeoutMs: 20_000, intervalMs: 100, what: `round ${round}: the vacation reply and the first bounce` });
      }
    } finally {
      checked.close();
    }
    expect(seen).toEqual({ autoReplies: 10, bounces: 1, answered: 0 });
    // The first mail to the dead address bounced; every later one was refused before it left.
    expect(outcomes.filter((o) => o === 'refused')).toHaveLength(9);
    expect(inbound.every((m) => !m.mayAnswer)).toBe(true);
  });

  it('keeps an organisation\'s number lookups per organisation (store round trip)', async () => {
    await redis.zadd(`${prefix}:mx:refs:vendor-lc`, 0, `INC-4711|${TICKET}`);
    expect(await findTicketByRef(redis, prefix, 'vendor-lc', 'INC-4711')).toBe(TICKET);
    expect(await findTicketByRef(redis, prefix, 'vendor-pq', 'INC-4711')).toBeNull();
  });
});

function headerBlock(text: string): string {
  const end = text.search(/\r?\n\r?\n/);
  return (end < 0 ? text : text.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
}
