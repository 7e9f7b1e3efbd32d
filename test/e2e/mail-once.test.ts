/**
 * Issue 17, "exactly once" with real processes and real servers (Postfix,
 * Dovecot: test/helpers/mail-servers.ts): a reply fetched over IMAP by a
 * `lotse worker --roles mail` that is killed between its commit and its
 * seen mark (the `mail-in-after-commit` failpoint: SIGKILL), fetched again
 * by the next worker and a third time after its cursor is gone, gives one
 * event; a worker killed between fetching and committing (the
 * `mail-in-before-commit` failpoint), over IMAP and at the LMTP listener
 * Postfix delivers to (no 250 went back, so Postfix delivers again), leaves
 * nothing committed and the next worker takes the mail once; an SMTP server that is down (a forwarder in front of Postfix that
 * refuses connections) delays a mail, never loses or doubles it, and one
 * down past the retries makes a mail dead letter that a replay sends once.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Job } from 'bullmq';
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/embedded-redis.js';
import { mailboxId } from '../../src/store/mail-cursor.js';
import { mailKeys } from '../../src/store/mail-keys.js';
import { bearer, createHarness, dev, redisUrl, waitFor, type Harness } from '../helpers/harness.js';
import { LOTSE_FROM, mailbox, mailEnv, mailTopology, mailTopologyInput, sendAs } from '../helpers/mail-exchange.js';
import { MAIL_USERS, mailServersMissing, startMailServers, type MailServers } from '../helpers/mail-servers.js';
import { spawnLotse, type LotseProcess } from '../helpers/process.js';

const missing = mailServersMissing();
if (missing && process.env.LOTSE_MAIL_SERVERS === 'required') throw new Error(`LOTSE_MAIL_SERVERS=required, but ${missing}`);
if (missing) console.warn(`mail once tests skipped: ${missing}`);

const topology = mailTopology();
const body = (subject: string) => ({
  externalRef: `ext-${Math.random().toString(36).slice(2)}`, channel: 'phone-115', land: 'HB', service: 'lieferantencockpit', category: 'technical',
  impact: 'medium', urgency: 'medium', subject, description: 'Beschreibung',
});
const mailsFor = async (servers: MailServers, ticketId: string): Promise<ParsedMail[]> => (await mailbox(servers, 'support')).filter((m) => m.subject?.includes(`[Lotse#${ticketId}]`));

/** A TCP forwarder to Postfix that can be down: connections are refused while it does not listen. */
function forwarder(port: number, target: number) {
  let server: Server | null = null;
  const sockets = new Set<Socket>();
  return {
    async up() {
      server = createServer((s) => {
        const upstream = connect(target, '127.0.0.1');
        sockets.add(s).add(upstream);
        s.pipe(upstream).pipe(s);
        const end = () => { s.destroy(); upstream.destroy(); };
        s.on('error', end).on('close', end);
        upstream.on('error', end).on('close', end);
      });
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    },
    async down() {
      for (const s of sockets) s.destroy();
      sockets.clear();
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
      server = null;
    },
  };
}

describe.skipIf(missing !== null)('mail exactly once, with real processes and servers', () => {
  let servers: MailServers;
  let h: Harness;
  let dir: string;
  const children: LotseProcess[] = [];

  beforeAll(async () => {
    servers = await startMailServers();
    h = await createHarness({ topology, roles: ['relay', 'mail'], principalEnv: mailEnv(servers) });
    dir = mkdtempSync(join(tmpdir(), 'lotse-mail-once-'));
    writeFileSync(join(dir, 'topology.json'), JSON.stringify(mailTopologyInput()));
  }, 60_000);
  afterAll(async () => {
    for (const c of children) await c.kill();
    await h?.close();
    await servers?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const history = async (id: string) => h.runtime.engine.history(dev('ops-bremen', topology), id);

  it('a reply fetched over IMAP, with the worker killed between commit and seen mark, then fetched again twice, gives one event', async () => {
    const { record } = await h.runtime.engine.createTicket(dev('desk-HB', topology), body('Anmeldung scheitert'));
    const id = record.id;
    const [handoff] = (await waitFor(async () => { const m = await mailsFor(servers, id); return m.length >= 1 && m; }, { timeoutMs: 20_000, what: 'the handoff mail' })) as ParsedMail[];
    // The vendor answers to Lotse's IMAP mailbox (Dovecot's `lotse`).
    await sendAs(servers, { to: 'lotse@lotse.test', subject: `Re: ${handoff!.subject}`, text: 'Angenommen, INC-900.', inReplyTo: handoff!.messageId!, references: [handoff!.messageId!] });
    await waitFor(() => servers.maildir('lotse').length === 1, { timeoutMs: 20_000, what: 'the reply in the IMAP mailbox' });

    const env = {
      REDIS_URL: redisUrl(), LOTSE_PREFIX: h.prefix, LOTSE_CONFIG: join(dir, 'topology.json'),
      LOTSE_SMTP_URL: `smtp://127.0.0.1:${servers.smtpPort}`, LOTSE_MAIL_FROM: LOTSE_FROM, LOTSE_MAIL_INSECURE: '1',
      LOTSE_IMAP_URLS: `imap://${MAIL_USERS.lotse.user}:${MAIL_USERS.lotse.pass}@127.0.0.1:${servers.imapPort}/INBOX`,
    };
    const accepts = async () => (await history(id)).filter((e) => e.type === 'ACCEPT').length;

    // 1. Killed (SIGKILL) after the event's commit, before the seen mark and the cursor.
    const first = spawnLotse(['worker', '--roles', 'mail'], { ...env, LOTSE_FAILPOINT: 'mail-in-after-commit' });
    children.push(first);
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await accepts()).toBe(1);
    const imapMailbox = mailboxId(`lotse@127.0.0.1:${servers.imapPort}`, 'INBOX');
    expect(await h.redis.zcard(mailKeys(h.prefix).seen(imapMailbox))).toBe(0);

    // 2. The next worker fetches it again: the event's key is used, nothing new is committed; now it is marked.
    const second = spawnLotse(['worker', '--roles', 'mail'], env);
    children.push(second);
    await second.waitForLog((l) => l.msg === 'mail taken', 30_000);
    expect(await accepts()).toBe(1);
    expect(await h.redis.zcard(mailKeys(h.prefix).seen(imapMailbox))).toBe(1);
    await second.stop();

    // 3. Its cursor lost (a renumbered mailbox looks the same): fetched a third time, skipped by the seen mark.
    await h.redis.del(mailKeys(h.prefix).cursor(imapMailbox));
    const third = spawnLotse(['worker', '--roles', 'mail'], env);
    children.push(third);
    await third.waitForLog((l) => l.msg === 'mail taken before; skipped', 30_000);
    await third.stop();
    const events = (await history(id)).map((e) => e.type);
    expect(events.filter((t) => t === 'ACCEPT')).toHaveLength(1);
    expect(events).toEqual(['CREATED', 'ACCEPT']);
  }, 120_000);

  it('a reply fetched over IMAP, with the worker killed between fetch and commit (SIGKILL), is taken once by the next worker', async () => {
    const { record } = await h.runtime.engine.createTicket(dev('desk-HB', topology), body('Abbruch vor dem Commit'));
    const id = record.id;
    const [handoff] = (await waitFor(async () => { const m = await mailsFor(servers, id); return m.length >= 1 && m; }, { timeoutMs: 20_000, what: 'the handoff mail' })) as ParsedMail[];
    const before = servers.maildir('lotse').length;
    await sendAs(servers, { to: 'lotse@lotse.test', subject: `Re: ${handoff!.subject}`, text: 'Angenommen, INC-901.', inReplyTo: handoff!.messageId!, references: [handoff!.messageId!] });
    await waitFor(() => servers.maildir('lotse').length === before + 1, { timeoutMs: 20_000, what: 'the reply in the IMAP mailbox' });

    const env = {
      REDIS_URL: redisUrl(), LOTSE_PREFIX: h.prefix, LOTSE_CONFIG: join(dir, 'topology.json'),
      LOTSE_SMTP_URL: `smtp://127.0.0.1:${servers.smtpPort}`, LOTSE_MAIL_FROM: LOTSE_FROM, LOTSE_MAIL_INSECURE: '1',
      LOTSE_IMAP_URLS: `imap://${MAIL_USERS.lotse.user}:${MAIL_USERS.lotse.pass}@127.0.0.1:${servers.imapPort}/INBOX`,
    };
    const imapMailbox = mailboxId(`lotse@127.0.0.1:${servers.imapPort}`, 'INBOX');
    const cursorKey = mailKeys(h.prefix).cursor(imapMailbox);
    const seenKey = mailKeys(h.prefix).seen(imapMailbox);
    const cursorBefore = await h.redis.hgetall(cursorKey);
    const seenBefore = await h.redis.zcard(seenKey);
    const events = async () => (await history(id)).map((e) => e.type);

    // 1. Killed (SIGKILL) with the reply fetched, read and matched, before anything is committed.
    const first = spawnLotse(['worker', '--roles', 'mail'], { ...env, LOTSE_FAILPOINT: 'mail-in-before-commit' });
    children.push(first);
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await events()).toEqual(['CREATED']);
    expect(await h.redis.zcard(seenKey)).toBe(seenBefore);
    // The cursor did not pass the reply (a first fetch writes UID 0): it is fetched again.
    const uidBefore = Number(cursorBefore.uid ?? 0);
    expect(Number((await h.redis.hgetall(cursorKey)).uid ?? 0)).toBe(uidBefore);

    // 2. The next worker fetches it again and takes it: one receipt, the seen mark and the cursor moved.
    const second = spawnLotse(['worker', '--roles', 'mail'], env);
    children.push(second);
    await second.waitForLog((l) => l.msg === 'mail taken' && l.ticketId === id, 30_000);
    await waitFor(async () => Number((await h.redis.hgetall(cursorKey)).uid ?? 0) > uidBefore, { what: 'the cursor past the reply' });
    await second.stop();
    expect(await events()).toEqual(['CREATED', 'ACCEPT']);
    expect(await h.redis.zcard(seenKey)).toBe(seenBefore + 1);
    const view = h.runtime.engine.view('system', (await h.runtime.engine.findTicket(id))!);
    expect(view.status).toBe('open');
  }, 120_000);

  it('a reply delivered by Postfix over LMTP, with the listening worker killed between reading and commit, is taken once after the MTA retries', async () => {
    const { record } = await h.runtime.engine.createTicket(dev('desk-HB', topology), body('Abbruch am Listener'));
    const id = record.id;
    const [handoff] = (await waitFor(async () => { const m = await mailsFor(servers, id); return m.length >= 1 && m; }, { timeoutMs: 20_000, what: 'the handoff mail' })) as ParsedMail[];
    const env = {
      REDIS_URL: redisUrl(), LOTSE_PREFIX: h.prefix, LOTSE_CONFIG: join(dir, 'topology.json'),
      LOTSE_SMTP_URL: `smtp://127.0.0.1:${servers.smtpPort}`, LOTSE_MAIL_FROM: LOTSE_FROM, LOTSE_MAIL_INSECURE: '1',
      LOTSE_MAIL_LISTEN: `127.0.0.1:${servers.lmtpListenerPort}`, LOTSE_MAIL_LISTEN_PROTOCOL: 'lmtp',
    };
    const seenKey = mailKeys(h.prefix).seen(`lmtp:127.0.0.1:${servers.lmtpListenerPort}`);
    const events = async () => (await history(id)).map((e) => e.type);
    const delivered = () => (servers.logs().match(/to=<lotse@lmtp\.lotse\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*status=sent \(250/g) ?? []).length;
    const deliveredBefore = delivered();

    // 1. The worker listens, reads the whole mail from Postfix and dies (SIGKILL) before the commit: no 250 went back.
    const first = spawnLotse(['worker', '--roles', 'mail'], { ...env, LOTSE_FAILPOINT: 'mail-in-before-commit' });
    children.push(first);
    await sendAs(servers, { to: 'lotse@lmtp.lotse.test', subject: `Re: ${handoff!.subject}`, text: 'Angenommen, INC-902.', inReplyTo: handoff!.messageId!, references: [handoff!.messageId!] });
    // Postfix retries while the worker is not listening yet.
    await waitFor(() => { servers.flush(); return first.child.signalCode !== null || first.child.exitCode !== null; }, { timeoutMs: 60_000, intervalMs: 1_000, what: 'the first worker dead at the failpoint' });
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await events()).toEqual(['CREATED']);
    expect(await h.redis.zcard(seenKey)).toBe(0);
    expect(delivered()).toBe(deliveredBefore);

    // 2. Postfix kept it (deferred) and delivers it to the next worker: taken once, answered 250 once.
    const second = spawnLotse(['worker', '--roles', 'mail'], env);
    children.push(second);
    await waitFor(() => { servers.flush(); return second.logs.some((l) => l.msg === 'mail taken' && l.ticketId === id); }, { timeoutMs: 60_000, intervalMs: 1_000, what: 'the deferred reply taken by the next worker' });
    await waitFor(() => delivered() === deliveredBefore + 1, { timeoutMs: 20_000, what: "Postfix's delivery to Lotse in its log" });
    await second.stop();
    expect(await events()).toEqual(['CREATED', 'ACCEPT']);
    expect(await h.redis.zcard(seenKey)).toBe(1);
    expect(delivered()).toBe(deliveredBefore + 1);
  }, 120_000);

  it('an SMTP outage delays a mail and never loses or doubles it; past the retries it is a dead letter a replay sends once', async () => {
    const port = await freePort();
    const fwd = forwarder(port, servers.smtpPort);
    const o = await createHarness({
      topology, roles: ['relay', 'mail'],
      principalEnv: { LOTSE_SMTP_URL: `smtp://127.0.0.1:${port}`, LOTSE_MAIL_FROM: LOTSE_FROM, LOTSE_MAIL_INSECURE: '1', LOTSE_MAIL_BACKOFF_MS: '100', LOTSE_MAIL_RETRY_HOURS: '0.002' },
    });
    try {
      const app = await o.app();
      const health = async () => ((await app.inject({ method: 'GET', url: '/v1/mail/health', headers: bearer('ops-bremen') })).json() as { items: { orgId: string; failing: number; queued: number; lastSentAt: string | null }[] }).items.find((x) => x.orgId === 'vendor-lc')!;

      // A short outage: the mail waits, retried, and goes once the server is back.
      const a = (await o.runtime.engine.createTicket(dev('desk-HB', topology), body('Ausfall kurz'))).record.id;
      await waitFor(async () => (await health()).failing >= 1, { timeoutMs: 20_000, what: 'a failed attempt while the SMTP server is down' });
      expect(await mailsFor(servers, a)).toHaveLength(0);
      await fwd.up();
      await waitFor(async () => (await mailsFor(servers, a)).length === 1, { timeoutMs: 30_000, what: 'the mail after the outage' });
      await waitFor(async () => (await health()).failing === 0, { what: 'health back to no failures' });
      expect((await health()).lastSentAt).not.toBeNull();

      // An outage past the retries: a dead letter of channel mail; the replay sends it once.
      await fwd.down();
      const b = (await o.runtime.engine.createTicket(dev('desk-HB', topology), body('Ausfall lang'))).record.id;
      const deadId = `mail-${b}-v1-handoff-vendor-lc`;
      const dead = await waitFor(async () => {
        const res = await app.inject({ method: 'GET', url: `/v1/dead-letters/${deadId}`, headers: bearer('ops-bremen') });
        return res.statusCode === 200 && (res.json() as { channel: string; reason: string; attempts: number });
      }, { timeoutMs: 60_000, what: 'the mail dead letter' });
      expect(dead.channel).toBe('mail');
      expect(dead.reason).toMatch(/gave up after \d+ attempts/);
      expect(await mailsFor(servers, b)).toHaveLength(0);
      await fwd.up();
      const replay = await app.inject({ method: 'POST', url: `/v1/dead-letters/${deadId}/replay`, headers: bearer('ops-bremen') });
      expect(replay.statusCode).toBe(202);
      await waitFor(async () => (await mailsFor(servers, b)).length === 1, { timeoutMs: 30_000, what: 'the replayed mail' });

      // The same effect once more (a relay that ran it again): the sender's record says it left; nothing is sent.
      const [job] = await o.runtime.queues.queue('mail').getJobs(['completed'], 0, 100).then((jobs) => jobs.filter((j) => j.id === `${deadId}-r1`));
      expect(job).toBeDefined();
      await o.runtime.queues.sendMails([{ jobId: `${deadId}-again`, data: job!.data as never }], 3);
      const again = await waitFor(async () => { const j = await Job.fromId(o.runtime.queues.queue('mail'), `${deadId}-again`); return j?.returnvalue ? j : null; }, { what: 'the repeated job' });
      expect(again.returnvalue).toMatchObject({ outcome: 'already-sent' });
      expect(await mailsFor(servers, a)).toHaveLength(1);
      expect(await mailsFor(servers, b)).toHaveLength(1);
    } finally {
      await fwd.down();
      await o.close();
    }
  }, 180_000);
});
