/**
 * Issue 17, "a mail is never sent twice for one effect": a mail whose
 * connection broke after the SMTP server had the whole message and before
 * it answered may have left. Lotse's real mail worker (in the harness, real
 * Redis and BullMQ) sends through a TCP forwarder to a real SMTP server
 * (Lotse's own listener); the forwarder drops both sides while the server
 * holds its answer. The dead letter says `inDoubt: true`; a plain replay is
 * refused (409, naming the reason) and sends nothing; only a replay with
 * `?force=true`, the operator's explicit decision, sends it again.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Job } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/embedded-redis.js';
import { startMailListener, type MailListener } from '../../src/mail/smtp-listener.js';
import { createMailSentStore } from '../../src/store/mail-sent.js';
import { bearer, createHarness, dev, waitFor, type Harness } from '../helpers/harness.js';
import { LOTSE_FROM, mailTopology } from '../helpers/mail-exchange.js';

const topology = mailTopology();
const body = {
  externalRef: `ext-${Math.random().toString(36).slice(2)}`, channel: 'phone-115', land: 'HB', service: 'lieferantencockpit', category: 'technical',
  impact: 'medium', urgency: 'medium', subject: 'Zweifel', description: 'Beschreibung',
};

/** A TCP forwarder whose open connections can be cut (both sides) at once. */
async function forwarder(port: number, target: number): Promise<{ cut(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    const upstream = connect(target, '127.0.0.1');
    sockets.add(s).add(upstream);
    s.pipe(upstream).pipe(s);
    const end = () => { s.destroy(); upstream.destroy(); };
    s.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const cut = () => { for (const s of sockets) s.destroy(); sockets.clear(); };
  return { cut, close: async () => { cut(); await new Promise<void>((resolve) => server.close(() => resolve())); } };
}

let h: Harness | undefined;
let listener: MailListener | undefined;
let fwd: Awaited<ReturnType<typeof forwarder>> | undefined;
afterEach(async () => {
  await fwd?.close();
  await listener?.close();
  await h?.close();
  fwd = undefined;
  listener = undefined;
  h = undefined;
});

describe('a mail in doubt', () => {
  it('is a dead letter with inDoubt: true; its replay needs ?force=true (409 without), and only then is it sent again', async () => {
    const smtpPort = await freePort();
    const fwdPort = await freePort();
    const got: Buffer[] = [];
    const held: (() => void)[] = [];
    listener = await startMailListener({
      host: '127.0.0.1', port: smtpPort, maxBytes: 1 << 20,
      onMessage: (d) => {
        got.push(d.raw);
        // The first copy: the server has it all and does not answer (yet); the test cuts the line.
        if (got.length === 1) return new Promise<void>((resolve) => held.push(resolve));
        return Promise.resolve();
      },
    });
    fwd = await forwarder(fwdPort, smtpPort);
    h = await createHarness({
      topology, roles: ['relay', 'mail'],
      principalEnv: { LOTSE_SMTP_URL: `smtp://127.0.0.1:${fwdPort}`, LOTSE_MAIL_FROM: LOTSE_FROM, LOTSE_MAIL_INSECURE: '1', LOTSE_MAIL_BACKOFF_MS: '100' },
    });
    const app = await h.app();
    const id = (await h.runtime.engine.createTicket(dev('desk-HB', topology), body)).record.id;
    const deadId = `mail-${id}-v1-handoff-vendor-lc`;

    await waitFor(() => got.length === 1, { timeoutMs: 20_000, what: 'the handoff mail at the server' });
    fwd.cut();
    const dead = await waitFor(async () => {
      const res = await app.inject({ method: 'GET', url: `/v1/dead-letters/${deadId}`, headers: bearer('ops-bremen') });
      return res.statusCode === 200 && (res.json() as { channel: string; reason: string; inDoubt?: boolean });
    }, { timeoutMs: 20_000, what: 'the mail in doubt as a dead letter' });
    for (const answer of held) answer();
    expect(dead.channel).toBe('mail');
    expect(dead.inDoubt).toBe(true);
    expect(dead.reason).toMatch(/^in doubt, not sent again by itself \(Message-ID <lotse\./);

    // A plain replay: refused, naming why; the entry stays, nothing is sent.
    const plain = await app.inject({ method: 'POST', url: `/v1/dead-letters/${deadId}/replay`, headers: bearer('ops-bremen') });
    expect(plain.statusCode).toBe(409);
    expect(plain.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = plain.json() as { type: string; detail: string; deadLetterId: string; inDoubt: boolean; force: string };
    expect(problem).toMatchObject({ type: '/problems/invalid-transition', status: 409, deadLetterId: deadId, inDoubt: true, force: 'required' });
    expect(problem.detail).toMatch(/mail in doubt: it may have been delivered already/);
    expect(problem.detail).toMatch(/\?force=true/);
    expect((await app.inject({ method: 'GET', url: `/v1/dead-letters/${deadId}`, headers: bearer('ops-bremen') })).statusCode).toBe(200);
    const wrong = await app.inject({ method: 'POST', url: `/v1/dead-letters/${deadId}/replay?force=yes`, headers: bearer('ops-bremen') });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.body).toMatch(/force/);
    expect(got).toHaveLength(1);

    // The operator's explicit decision: sent again, once, and recorded sent.
    const forced = await app.inject({ method: 'POST', url: `/v1/dead-letters/${deadId}/replay?force=true`, headers: bearer('ops-bremen') });
    expect(forced.statusCode).toBe(202);
    expect((forced.json() as { jobId: string }).jobId).toBe(`${deadId}-r1-force`);
    const job = await waitFor(async () => { const j = await Job.fromId(h!.runtime.queues.queue('mail'), `${deadId}-r1-force`); return j?.returnvalue ? j : null; }, { timeoutMs: 20_000, what: 'the forced replay done' });
    expect(job.returnvalue).toMatchObject({ outcome: 'sent' });
    expect(got).toHaveLength(2);
    expect(got[1]!.toString()).toBe(got[0]!.toString());
    expect((await app.inject({ method: 'GET', url: `/v1/dead-letters/${deadId}`, headers: bearer('ops-bremen') })).statusCode).toBe(404);
    // Recorded sent: the same effect once more sends nothing.
    await h.runtime.queues.sendMails([{ jobId: `${deadId}-again`, data: job.data as never }], 3);
    const again = await waitFor(async () => { const j = await Job.fromId(h!.runtime.queues.queue('mail'), `${deadId}-again`); return j?.returnvalue ? j : null; }, { timeoutMs: 20_000, what: 'the repeated job' });
    expect(again.returnvalue).toMatchObject({ outcome: 'already-sent' });
    expect(got).toHaveLength(2);
  }, 60_000);

  it('a plain replay of a mail dead letter whose send turned out in doubt sends nothing: it comes back in doubt', async () => {
    // Nothing listens yet: every attempt is refused, and past LOTSE_MAIL_RETRY_HOURS the mail is a dead letter (not in doubt).
    const smtpPort = await freePort();
    h = await createHarness({
      topology, roles: ['relay', 'mail'],
      principalEnv: { LOTSE_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`, LOTSE_MAIL_FROM: LOTSE_FROM, LOTSE_MAIL_INSECURE: '1', LOTSE_MAIL_BACKOFF_MS: '100', LOTSE_MAIL_RETRY_HOURS: '0.001' },
    });
    const app = await h.app();
    const id = (await h.runtime.engine.createTicket(dev('desk-HB', topology), { ...body, externalRef: `ext-${Math.random().toString(36).slice(2)}` })).record.id;
    const deadId = `mail-${id}-v1-handoff-vendor-lc`;
    const get = async () => {
      const res = await app.inject({ method: 'GET', url: `/v1/dead-letters/${deadId}`, headers: bearer('ops-bremen') });
      return res.statusCode === 200 ? (res.json() as { reason: string; inDoubt?: boolean; jobId: string }) : null;
    };
    const first = await waitFor(get, { timeoutMs: 30_000, what: 'the mail dead letter after the retries' });
    expect(first.reason).toMatch(/gave up after \d+ attempts/);
    expect(first.inDoubt).toBeUndefined();
    const got: Buffer[] = [];
    listener = await startMailListener({ host: '127.0.0.1', port: smtpPort, maxBytes: 1 << 20, onMessage: async (d) => void got.push(d.raw) });

    // Meanwhile the send became doubtful (a worker claimed it, handed the message over and died; its claim is older than the 10 minutes' lease).
    const sent = createMailSentStore(h.redis, h.prefix);
    const messageId = `<lotse.${id}.doubt@lotse.test>`;
    expect(await sent.claim(deadId, 'dead-worker', messageId, Date.now() - 11 * 60_000)).toMatchObject({ outcome: 'claimed' });

    const plain = await app.inject({ method: 'POST', url: `/v1/dead-letters/${deadId}/replay`, headers: bearer('ops-bremen') });
    expect(plain.statusCode).toBe(202);
    const job = await waitFor(async () => { const j = await Job.fromId(h!.runtime.queues.queue('mail'), `${deadId}-r1`); return j?.returnvalue ? j : null; }, { timeoutMs: 20_000, what: 'the replay done' });
    expect(job.returnvalue).toMatchObject({ outcome: 'dead-lettered' });
    const again = await waitFor(get, { what: 'the dead letter again' });
    expect(again).toMatchObject({ inDoubt: true, jobId: `${deadId}-r1` });
    expect(again.reason).toMatch(/^in doubt, not sent again by itself/);
    expect(got).toHaveLength(0);
    expect((await app.inject({ method: 'POST', url: `/v1/dead-letters/${deadId}/replay`, headers: bearer('ops-bremen') })).statusCode).toBe(409);
    expect(got).toHaveLength(0);
  }, 60_000);
});
