/**
 * Issue 17 end to end against real servers (test/helpers/mail-servers.ts:
 * Postfix as the MTA, Dovecot with IMAP, LMTP and a Sieve vacation rule on
 * the vendor's mailbox): a real Lotse runtime with its relay and its `mail`
 * role sends handoffs through Postfix into the vendor's Maildir and takes
 * the vendor's replies, vacation notes and Postfix's bounces back on its
 * listener. No mock of mail. Skipped (saying why) without the servers or
 * root; LOTSE_MAIL_SERVERS=required turns the skip into a failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParsedMail } from 'mailparser';
import { bearer, createHarness, dev, waitFor, type Harness } from '../helpers/harness.js';
import { INTAKE, LOTSE_FROM, mailbox, mailEnv, mailTopology, sendAs, VENDOR } from '../helpers/mail-exchange.js';
import { mailServersMissing, startMailServers, type MailServers } from '../helpers/mail-servers.js';

const missing = mailServersMissing();
if (missing && process.env.LOTSE_MAIL_SERVERS === 'required') throw new Error(`LOTSE_MAIL_SERVERS=required, but ${missing}`);
if (missing) console.warn(`mail exchange tests skipped: ${missing}`);

const topology = mailTopology();
const body = (over: Record<string, unknown> = {}) => ({
  externalRef: `ext-${Math.random().toString(36).slice(2)}`, channel: 'phone-115', land: 'HB', service: 'lieferantencockpit', category: 'technical',
  impact: 'medium', urgency: 'medium', subject: 'Lieferantenkonto gesperrt', description: 'Seit heute früh erscheint „Konto gesperrt“.',
  reporter: { name: 'Erika Mustermann', email: 'erika@example.org' }, ...over,
});

async function retried<T>(run: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await run();
    } catch (err) {
      if ((err as { code?: string }).code !== 'VERSION_CONFLICT') throw err;
    }
  }
}

/** The vendor's mails about one ticket, oldest first. */
async function mailsFor(servers: MailServers, ticketId: string): Promise<ParsedMail[]> {
  return (await mailbox(servers, 'support')).filter((m) => m.subject?.includes(`[Lotse#${ticketId}]`));
}

describe.skipIf(missing !== null)('mail exchange with real Postfix and Dovecot', () => {
  let servers: MailServers;
  let h: Harness;

  beforeAll(async () => {
    servers = await startMailServers();
    h = await createHarness({ topology, roles: ['relay', 'mail'], principalEnv: mailEnv(servers, { LOTSE_MAIL_MAX_PER_DAY: '500', LOTSE_MAIL_ATTACHMENT_BASE_URL: 'https://lotse.example', LOTSE_MAIL_MAX_ATTACHMENTS: '2', LOTSE_MAIL_MAX_ATTACHMENT_BYTES: '1000' }) });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await servers?.stop();
  });

  const history = async (id: string) => h.runtime.engine.history(dev('ops-bremen', topology), id);
  const status = async (id: string) => h.runtime.engine.view('system', (await h.runtime.engine.findTicket(id))!).status;

  it('a handoff by mail gets its receipt, a note and its resolution back by mail, threaded', async () => {
    const { record } = await h.runtime.engine.createTicket(dev('desk-HB', topology), body());
    const id = record.id;
    const [handoff] = await waitFor(async () => (await mailsFor(servers, id)).length >= 1 && mailsFor(servers, id), { timeoutMs: 20_000, what: 'the handoff mail in the vendor mailbox' }) as ParsedMail[];
    expect(handoff!.subject).toBe(`[Lotse#${id}] Übergabe: Lieferantenkonto gesperrt`);
    expect(handoff!.messageId).toMatch(new RegExp(`^<lotse\\.${id}\\.[0-9a-f]{24}@in\\.lotse\\.test>$`));
    expect(handoff!.headers.get('auto-submitted')).toBe('auto-generated');
    expect(handoff!.text).toContain('Lotse übergibt Ihnen den folgenden Vorgang');
    // The service does not share the reporter with the vendor: no personal data in its mail.
    expect(handoff!.text).not.toContain('erika@example.org');
    expect(handoff!.text).not.toContain('Mustermann');
    // Mail only (no `queues:`): nobody takes its handoff queue, so nothing waits there.
    expect(await h.runtime.queues.queue('handoff-vendor-lc').getJobCounts('waiting', 'delayed', 'completed')).toEqual({ waiting: 0, delayed: 0, completed: 0 });

    // The first person's reply is the receipt; it names the vendor's own number.
    const reply1 = await sendAs(servers, { subject: `Re: ${handoff!.subject}`, text: 'Wir kümmern uns darum. Unsere Nummer: INC-4711', inReplyTo: handoff!.messageId!, references: [handoff!.messageId!] });
    await waitFor(async () => (await status(id)) === 'open', { timeoutMs: 20_000, what: 'the receipt (ACCEPT) from the reply' });
    // A second reply is a note.
    await sendAs(servers, { subject: `Re: ${handoff!.subject}`, text: 'Das Konto ist entsperrt, wir beobachten es noch.', inReplyTo: reply1, references: [handoff!.messageId!, reply1] });
    await waitFor(async () => (await history(id)).some((e) => e.type === 'NOTE' && 'orgId' in e.actor && e.actor.orgId === 'vendor-lc'), { timeoutMs: 20_000, what: 'the note' });

    // The desk adds a note: the vendor gets it as an update, threaded to the conversation's last message.
    await h.runtime.engine.applyEvent(dev('desk-HB', topology), id, { type: 'NOTE', text: 'Die Meldende bittet um Rückruf.' });
    const mails = await waitFor(async () => { const m = await mailsFor(servers, id); return m.length >= 2 && m; }, { timeoutMs: 20_000, what: 'the update mail' }) as ParsedMail[];
    const update = mails.find((m) => m.subject?.includes('Aktualisierung'))!;
    expect(update.text).toContain('Die Meldende bittet um Rückruf.');
    expect(update.references).toContain(handoff!.messageId);
    expect(update.inReplyTo).toBeTruthy();
    expect([...(Array.isArray(update.references) ? update.references : [update.references])]).toContain(reply1);

    // A reply with the documented line resolves.
    await sendAs(servers, { subject: `Re: ${update.subject}`, text: 'Erledigt, das Konto funktioniert wieder.\nStatus: gelöst\n', inReplyTo: update.messageId!, references: [handoff!.messageId!, update.messageId!] });
    await waitFor(async () => (await status(id)) === 'resolved', { timeoutMs: 20_000, what: 'the resolution' });
    const resolved = (await history(id)).find((e) => e.type === 'RESOLVE')!;
    expect(resolved.details?.resolution).toBe('Erledigt, das Konto funktioniert wieder.');

    // The ticket's mail log: every mail in and out, how it was classified and matched.
    const app = await h.app();
    const res = await app.inject({ method: 'GET', url: `/v1/tickets/${id}/mail`, headers: bearer('ops-bremen') });
    expect(res.statusCode).toBe(200);
    const log = (res.json() as { items: { direction: string; kind: string; rule?: string; match?: string; outcome: string; party: string | null }[] }).items;
    expect(log.filter((e) => e.direction === 'out').map((e) => [e.kind, e.outcome])).toEqual([['handoff', 'sent'], ['update', 'sent']]);
    // The vendor is on vacation (Sieve): the update, a person's words, got an RFC 3834 reply: kept as a note, never answered.
    expect(log.filter((e) => e.kind === 'auto-reply').map((e) => [e.rule, e.match, e.outcome])).toEqual([['auto-submitted', 'message-id', 'NOTE']]);
    expect(log.filter((e) => e.direction === 'in' && e.kind === 'person').map((e) => [e.kind, e.rule, e.match, e.outcome])).toEqual([
      ['person', 'no-automation-mark', 'message-id', 'ACCEPT'],
      ['person', 'no-automation-mark', 'message-id', 'NOTE'],
      ['person', 'no-automation-mark', 'message-id', 'RESOLVE'],
    ]);
    expect(JSON.stringify(log)).not.toContain(VENDOR);

    // Operators see the exchange: the organisation's mail health on /metrics and /v1/mail/health.
    const metrics = await app.inject({ method: 'GET', url: '/metrics', headers: bearer('ops-bremen') });
    expect(metrics.body).toMatch(/^lotse_mail_sent_total\{org="vendor-lc"\} [1-9]\d*$/m);
    expect(metrics.body).toMatch(/^lotse_mail_received_total\{org="vendor-lc"\} [1-9]\d*$/m);
    expect(metrics.body).toMatch(/^lotse_mail_failing\{org="vendor-lc"\} 0$/m);
    expect(metrics.body).not.toContain(VENDOR);
    const health = (await app.inject({ method: 'GET', url: '/v1/mail/health', headers: bearer('ops-bremen') })).json() as { items: { orgId: string; address: string; lastSentAt: string | null; failing: number }[] };
    expect(health.items.find((x) => x.orgId === 'vendor-lc')).toMatchObject({ address: VENDOR, failing: 0, lastSentAt: expect.any(String) });
    expect((await app.inject({ method: 'GET', url: '/v1/mail/health', headers: bearer('desk-HB') })).statusCode).toBe(403);
  }, 90_000);

  it('a reply with only the subject tag, and one with only the vendor\'s own number, find their ticket', async () => {
    const { record } = await h.runtime.engine.createTicket(dev('desk-HB', topology), body({ subject: 'Rechnungsexport bricht ab' }));
    const id = record.id;
    await waitFor(async () => (await mailsFor(servers, id)).length >= 1, { timeoutMs: 20_000, what: 'the handoff mail' });
    // No In-Reply-To, no References: only the tag in the subject (a mail client that drops headers).
    await sendAs(servers, { subject: `Ihre Anfrage [Lotse#${id}]`, text: 'Angenommen, bei uns INC-5001.' });
    await waitFor(async () => (await status(id)) === 'open', { timeoutMs: 20_000, what: 'the receipt found by the subject tag' });
    // Only the vendor's own number (kept from the receipt as the ticket's reference for vendor-lc).
    await sendAs(servers, { subject: 'Zwischenstand zu INC-5001', text: 'Der Export läuft wieder, wir prüfen die Ursache.' });
    await waitFor(async () => (await history(id)).some((e) => e.type === 'NOTE' && e.details?.text === 'Der Export läuft wieder, wir prüfen die Ursache.'), { timeoutMs: 20_000, what: 'the note found by the ticket number' });
    const log = await h.runtime.engine.getTicket(dev('ops-bremen', topology), id).then(() => h.app()).then((app) => app.inject({ method: 'GET', url: `/v1/tickets/${id}/mail`, headers: bearer('ops-bremen') }));
    const inbound = (log.json() as { items: { direction: string; match?: string; outcome: string; steps?: string[] }[] }).items.filter((e) => e.direction === 'in' && e.outcome !== 'NOTE' || e.match === 'ticket-number');
    expect(inbound.map((e) => [e.match, e.outcome])).toEqual([['subject-tag', 'ACCEPT'], ['ticket-number', 'NOTE']]);
    expect(inbound[1]!.steps).toEqual([
      'message-id: no In-Reply-To or References',
      'subject-tag: no subject tag',
      `ticket-number: vendor-lc's number INC-5001 is kept on ${id}`,
    ]);
  }, 60_000);

  it('mail from someone who is not the holder is a note of Lotse\'s own and changes nothing', async () => {
    const { record } = await h.runtime.engine.createTicket(dev('desk-HB', topology), body({ subject: 'Kein Zugriff auf Angebote' }));
    const id = record.id;
    const [handoff] = (await waitFor(async () => { const m = await mailsFor(servers, id); return m.length >= 1 && m; }, { timeoutMs: 20_000, what: 'the handoff mail' })) as ParsedMail[];
    await sendAs(servers, { from: 'Kollege <kollege@elsewhere.test>', subject: `Re: ${handoff!.subject}`, text: 'Status: gelöst', inReplyTo: handoff!.messageId!, references: [handoff!.messageId!] });
    const note = await waitFor(async () => (await history(id)).find((e) => e.type === 'NOTE'), { timeoutMs: 20_000, what: 'the note' });
    expect(note.actor).toEqual({ system: true });
    expect(String(note.details?.text)).toContain('nicht von der bearbeitenden Stelle');
    expect(await status(id)).toBe('handoff-pending');
  }, 60_000);

  it('mail to an intake mailbox that matches no ticket creates one; HTML is reduced to text; the address is the reporter\'s personal data', async () => {
    const transport = (await import('nodemailer')).createTransport({ host: '127.0.0.1', port: servers.smtpPort, secure: false, ignoreTLS: true });
    await transport.sendMail({
      from: 'Erika Muster <erika.muster@example.org>', to: INTAKE, subject: 'Passwort vergessen', html: '<p>Ich komme <b>nicht</b> mehr ins Portal.</p><script>alert(1)</script>',
      // Bounded: two kept (LOTSE_MAIL_MAX_ATTACHMENTS=2), one over LOTSE_MAIL_MAX_ATTACHMENT_BYTES and one too many dropped.
      attachments: [
        { filename: 'fehler.txt', content: 'Fehlercode 42' },
        { filename: 'gross.bin', content: Buffer.alloc(5000, 1) },
        { filename: 'bild.html', content: '<script>alert(2)</script>', contentType: 'text/html' },
        { filename: 'noch-einer.txt', content: 'zu viele' },
      ],
    });
    transport.close();
    const app = await h.app();
    const created = await waitFor(async () => {
      const page = await app.inject({ method: 'GET', url: '/v1/tickets?limit=100', headers: bearer('desk-HB') });
      return (page.json() as { items: { id: string; subject: string }[] }).items.find((t) => t.subject === 'Passwort vergessen');
    }, { timeoutMs: 20_000, what: 'the ticket from the intake mailbox' });
    const record = (await h.runtime.engine.findTicket(created.id))!;
    const desk = h.runtime.engine.view(dev('desk-HB', topology), record);
    expect(desk.description).toBe('Ich komme nicht mehr ins Portal.\n\n[2 Anhang/Anhänge über den Grenzen nicht übernommen]');
    // Kept as the contract keeps attachments: links, served to whoever may read the ticket, as a download only.
    expect(desk.attachments.map((a) => [a.name, a.size])).toEqual([['fehler.txt', 13], ['bild.html', 25]]);
    const path = new URL(desk.attachments[1]!.url).pathname;
    const file = await app.inject({ method: 'GET', url: path, headers: bearer('desk-HB') });
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-type']).toBe('application/octet-stream');
    expect(file.headers['content-disposition']).toBe("attachment; filename*=UTF-8''bild.html");
    expect(file.body).toBe('<script>alert(2)</script>');
    expect((await app.inject({ method: 'GET', url: path, headers: bearer('desk-BY') })).statusCode).toBe(404);
    expect(desk.channel).toBe('email');
    expect(desk.reporter).toEqual({ name: 'Erika Muster', email: 'erika.muster@example.org' });
    // Operators never see the reporter: not in the view, not in the mail log.
    expect(h.runtime.engine.view(dev('ops-bremen', topology), record).reporter).toBeUndefined();
    const log = await app.inject({ method: 'GET', url: `/v1/tickets/${created.id}/mail`, headers: bearer('ops-bremen') });
    expect(log.body).not.toContain('erika');
    expect((log.json() as { items: { party: string; outcome: string }[] }).items[0]).toMatchObject({ party: 'reporter', outcome: 'CREATED' });
    // Erasable: an erasure takes the reporter and the attachment links; the attachment is gone with them.
    expect((await app.inject({ method: 'POST', url: `/v1/tickets/${created.id}/erasure`, headers: bearer('ops-bremen') })).statusCode).toBe(200);
    const erased = h.runtime.engine.view(dev('desk-HB', topology), (await h.runtime.engine.findTicket(created.id))!);
    expect(erased.reporter).toBeUndefined();
    expect((await app.inject({ method: 'GET', url: path, headers: bearer('desk-HB') })).statusCode).toBe(404);
    expect(await h.redis.exists(`${h.prefix}:mx:att:${path.split('/').pop()}`)).toBe(0);
  }, 60_000);

  it('a reply\'s attachments are bounded and kept as an intake mail\'s: linked from its text, served to the ticket\'s readers, gone with an erasure', async () => {
    const { record } = await h.runtime.engine.createTicket(dev('desk-HB', topology), body({ subject: 'Export mit Anhang' }));
    const id = record.id;
    const [handoff] = (await waitFor(async () => { const m = await mailsFor(servers, id); return m.length >= 1 && m; }, { timeoutMs: 20_000, what: 'the handoff mail' })) as ParsedMail[];
    const transport = (await import('nodemailer')).createTransport({ host: '127.0.0.1', port: servers.smtpPort, secure: false, ignoreTLS: true });
    await transport.sendMail({
      from: `Max Support <${VENDOR}>`, to: LOTSE_FROM, subject: `Re: ${handoff!.subject}`, text: 'Angenommen, das Protokoll liegt bei.', inReplyTo: handoff!.messageId!, references: [handoff!.messageId!],
      // Bounded as intake mail: two kept (LOTSE_MAIL_MAX_ATTACHMENTS=2), one over LOTSE_MAIL_MAX_ATTACHMENT_BYTES dropped.
      attachments: [
        { filename: 'protokoll.txt', content: 'Zeile 1\nZeile 2' },
        { filename: 'gross.bin', content: Buffer.alloc(5000, 1) },
        { filename: 'seite.html', content: '<script>alert(3)</script>', contentType: 'text/html' },
      ],
    });
    transport.close();
    await waitFor(async () => (await status(id)) === 'open', { timeoutMs: 20_000, what: 'the receipt (ACCEPT) from the reply' });
    const accept = (await history(id)).find((e) => e.type === 'ACCEPT')!;
    const note = String(accept.details?.note);
    expect(note).toContain('Angenommen, das Protokoll liegt bei.');
    expect(note).toContain('[1 Anhang/Anhänge über den Grenzen nicht übernommen]');
    const urls = [...note.matchAll(/^- (\S+) \((\d+) Bytes\): (https:\/\/lotse\.example\/v1\/mail\/attachments\/[0-9a-f]{32})$/gm)].map((m) => [m[1], Number(m[2]), m[3]!] as const);
    expect(urls.map(([name, size]) => [name, size])).toEqual([['protokoll.txt', 15], ['seite.html', 25]]);

    const app = await h.app();
    const path = new URL(urls[1]![2]).pathname;
    const file = await app.inject({ method: 'GET', url: path, headers: bearer('desk-HB') });
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-type']).toBe('application/octet-stream');
    expect(file.headers['content-disposition']).toBe("attachment; filename*=UTF-8''seite.html");
    expect(file.body).toBe('<script>alert(3)</script>');
    expect((await app.inject({ method: 'GET', url: path, headers: bearer('desk-BY') })).statusCode).toBe(404);
    const log = (await app.inject({ method: 'GET', url: `/v1/tickets/${id}/mail`, headers: bearer('ops-bremen') })).json() as { items: { direction: string; outcome: string; detail?: string }[] };
    expect(log.items.find((e) => e.direction === 'in')).toMatchObject({ outcome: 'ACCEPT', detail: '1 attachment(s) over the limits not kept' });

    // Erasable: the erasure rewrites the reply's text, so its links are gone, and the bytes with them.
    expect((await app.inject({ method: 'POST', url: `/v1/tickets/${id}/erasure`, headers: bearer('ops-bremen') })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: path, headers: bearer('desk-HB') })).statusCode).toBe(404);
    expect(await h.redis.exists(`${h.prefix}:mx:att:${path.split('/').pop()}`)).toBe(0);
  }, 60_000);

  it('a vendor on vacation and a bounce make 0 loops in 100 round trips', async () => {
    const { record } = await h.runtime.engine.createTicket(dev('desk-HB', topology), body({ subject: 'Urlaubstest' }));
    const id = record.id;
    const [handoff] = (await waitFor(async () => { const m = await mailsFor(servers, id); return m.length >= 1 && m; }, { timeoutMs: 20_000, what: 'the handoff mail' })) as ParsedMail[];
    await sendAs(servers, { subject: `Re: ${handoff!.subject}`, text: 'Angenommen.', inReplyTo: handoff!.messageId!, references: [handoff!.messageId!] });
    await waitFor(async () => (await status(id)) === 'open', { timeoutMs: 20_000, what: 'the receipt' });
    // 100 round trips: the desk writes, the vendor's mailbox answers each with a real Sieve vacation notice.
    // (The vacation notes land meanwhile: a desk's write that keeps meeting them is tried again, as any client would.)
    for (let i = 1; i <= 100; i++) await retried(() => h.runtime.engine.applyEvent(dev('desk-HB', topology), id, { type: 'NOTE', text: `Nachfrage ${i}` }));
    const vacationNotes = async () => (await history(id)).filter((e) => e.type === 'NOTE' && 'system' in e.actor && String(e.details?.text).startsWith('Automatische Antwort'));
    await waitFor(async () => (await vacationNotes()).length === 100, { timeoutMs: 120_000, intervalMs: 250, what: '100 vacation notices kept as notes' });
    // Nothing answered them: the vendor got the handoff and the 100 updates, no more, and nothing waits to be sent.
    await waitFor(async () => (await h.runtime.queues.queue('mail').getJobCounts('waiting', 'delayed', 'active')).waiting === 0, { what: 'the mail queue drained' });
    const counts = await h.runtime.queues.queue('mail').getJobCounts('waiting', 'delayed', 'active');
    expect(counts).toEqual({ waiting: 0, delayed: 0, active: 0 });
    expect((await mailsFor(servers, id)).length).toBe(101);
    const app = await h.app();
    const log = (await app.inject({ method: 'GET', url: `/v1/tickets/${id}/mail`, headers: bearer('ops-bremen') })).json() as { items: { direction: string; kind: string; outcome: string }[] };
    expect(log.items.filter((e) => e.direction === 'out').length).toBe(101);
    expect(log.items.filter((e) => e.kind === 'auto-reply').length).toBe(100);

    // A handoff to an address that does not exist: Postfix's real bounce rejects it as undeliverable, once.
    const pq = await h.runtime.engine.createTicket(dev('desk-HB', topology), body({ service: 'pq-portal', subject: 'Präqualifikation hängt' }));
    await waitFor(async () => (await status(pq.record.id)) === 'open', { timeoutMs: 30_000, what: 'the handoff rejected by the bounce, back to operations' });
    const rejected = (await history(pq.record.id)).find((e) => e.type === 'REJECT_HANDOFF')!;
    expect(rejected.actor).toEqual({ orgId: 'vendor-pq', role: 'provider' });
    expect(String(rejected.details?.reason)).toMatch(/^Nicht zustellbar: nobody@vendor\.test 5\.1\.1/);
    expect((await h.runtime.engine.findTicket(pq.record.id))!.state.context.assignee).toBe('ops-bremen');
    const bad = (await app.inject({ method: 'GET', url: '/v1/mail/undeliverable', headers: bearer('ops-bremen') })).json() as { items: { address: string; status: string; ticketId: string }[] };
    expect(bad.items).toEqual([expect.objectContaining({ address: 'nobody@vendor.test', status: '5.1.1', ticketId: pq.record.id })]);
    expect((await app.inject({ method: 'GET', url: '/v1/mail/undeliverable', headers: bearer('desk-HB') })).statusCode).toBe(403);
    // 99 more round trips to it: none is sent (the address is marked), so nothing bounces again; each is a dead letter an operator sees.
    for (let i = 0; i < 99; i++) {
      await h.runtime.engine.applyEvent(dev('ops-bremen', topology), pq.record.id, { type: 'ASSIGN', assignee: 'vendor-pq', reason: `Versuch ${i}` });
      await h.runtime.engine.applyEvent(dev('ops-bremen', topology), pq.record.id, { type: 'ASSIGN', assignee: 'ops-bremen', reason: 'zurück' });
    }
    const dead = async () => ((await app.inject({ method: 'GET', url: '/v1/dead-letters?orgId=vendor-pq&limit=200', headers: bearer('ops-bremen') })).json() as { items: { channel?: string; reason: string; event: { type: string } }[] }).items;
    await waitFor(async () => (await dead()).filter((d) => d.event.type === 'lotse.ticket.handoff.requested').length === 99, { timeoutMs: 60_000, intervalMs: 250, what: '99 refused handoff mails as dead letters' });
    expect((await dead()).every((d) => d.channel === 'mail' && d.reason.startsWith('undeliverable: nobody@vendor.test bounced for good'))).toBe(true);
    // One delivery attempt to the address, one bounce, ever.
    expect((servers.logs().match(/to=<nobody@vendor\.test>/g) ?? []).length).toBe(1);
    expect((servers.logs().match(/status=bounced/g) ?? []).length).toBe(1);
  }, 240_000);

  it('takes mail over LMTP too, as an MTA delivers to a mailbox', async () => {
    const l = await createHarness({ topology, roles: ['mail'], principalEnv: mailEnv(servers, { LOTSE_MAIL_LISTEN: `127.0.0.1:${servers.lmtpListenerPort}`, LOTSE_MAIL_LISTEN_PROTOCOL: 'lmtp' }) });
    try {
      const { record } = await l.runtime.engine.createTicket(dev('desk-HB', topology), body({ subject: 'Über LMTP' }));
      await sendAs(servers, { to: 'lotse@lmtp.lotse.test', subject: `Re: [Lotse#${record.id}] Übergabe: Über LMTP`, text: 'Angenommen.' });
      await waitFor(async () => l.runtime.engine.view('system', (await l.runtime.engine.findTicket(record.id))!).status === 'open', { timeoutMs: 20_000, what: 'the receipt taken over LMTP' });
      // Postfix logs the delivery once Lotse answered it (after the commit).
      await waitFor(() => /to=<lotse@lmtp\.lotse\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*status=sent \(250/.test(servers.logs()), { what: "Postfix's LMTP delivery to Lotse in its log" });
    } finally {
      await l.close();
    }
  }, 60_000);

  it('sends at most LOTSE_MAIL_MAX_PER_DAY mails per recipient and ticket a day; the next is a dead letter, not a mail', async () => {
    const env = mailEnv(servers, { LOTSE_MAIL_MAX_PER_DAY: '2' });
    delete env.LOTSE_MAIL_LISTEN;
    const q = await createHarness({ topology, roles: ['relay', 'mail'], principalEnv: env });
    try {
      const { record } = await q.runtime.engine.createTicket(dev('desk-HB', topology), body({ subject: 'Flutgrenze' }));
      const id = record.id;
      await q.runtime.engine.applyEvent(dev('desk-HB', topology), id, { type: 'NOTE', text: 'Erste Nachfrage.' });
      await q.runtime.engine.applyEvent(dev('desk-HB', topology), id, { type: 'NOTE', text: 'Zweite Nachfrage.' });
      const app = await q.app();
      const dead = await waitFor(async () => {
        const res = await app.inject({ method: 'GET', url: '/v1/dead-letters?orgId=vendor-lc', headers: bearer('ops-bremen') });
        return (res.json() as { items: { channel?: string; reason: string; event: { subject: string } }[] }).items.find((d) => d.event.subject === id);
      }, { timeoutMs: 20_000, what: 'the third mail refused as a dead letter' });
      expect(dead.channel).toBe('mail');
      expect(dead.reason).toBe(`quota: 2 mails to ${VENDOR} on this ticket today`);
      await waitFor(async () => (await mailsFor(servers, id)).length === 2, { timeoutMs: 20_000, what: 'the two mails within the limit' });
      const log = (await app.inject({ method: 'GET', url: `/v1/tickets/${id}/mail`, headers: bearer('ops-bremen') })).json() as { items: { direction: string; outcome: string }[] };
      expect(log.items.filter((e) => e.direction === 'out').map((e) => e.outcome).sort()).toEqual(['refused (quota)', 'sent', 'sent']);
    } finally {
      await q.close();
    }
  }, 60_000);
});

