/**
 * Mail in, meaning (src/mail/meaning.ts) and mail out, deciding
 * (src/mail/outbound.ts): what a classified, matched mail does to its
 * ticket, and which mail a handoff event becomes. Pure; real mails parsed
 * by the real reader, the lookups plain maps (their store is tested in
 * test/integration/mail-store.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { readInboundMail } from '../../src/mail/inbound.js';
import type { MatchLookups } from '../../src/mail/match.js';
import { decideInbound, safeText, type TicketFacts } from '../../src/mail/meaning.js';
import { decideOutbound } from '../../src/mail/outbound.js';
import { base, dsn, raw, TICKET, ticketView } from '../helpers/mail-fixtures.js';

const lookups: MatchLookups = {
  ownDomain: 'lotse.test',
  organisations: [{ orgId: 'vendor-lc', address: 'support@vendor.test', ticketNumber: /INC-[0-9]+/ }],
  findByExternalNumber: async () => null,
  ticketExists: async (id) => id === TICKET,
};
const read = (m: string) => readInboundMail(m, { mailbox: 'smtp:test' }, { ownDomain: 'lotse.test', ownAddresses: ['lotse@lotse.test'], lookups });
const pending: TicketFacts = { id: TICKET, holder: 'vendor-lc', status: 'handoff-pending' };
const open: TicketFacts = { ...pending, status: 'open' };
const MAILBOX = { address: 'intake@lotse.test', orgId: 'desk-HB', service: 'lieferantencockpit' };

describe('what a mail means', () => {
  it("the holder's first reply is the receipt, with its number kept; later ones are notes", async () => {
    const r = await read(raw(base(), 'Wir kümmern uns, bei uns INC-4711.\n\n> zitierte Übergabe\n'));
    expect(decideInbound(r, pending, [], [])).toEqual({
      steps: [{ do: 'ref', orgId: 'vendor-lc', number: 'INC-4711' }, { do: 'event', as: 'holder', event: { type: 'ACCEPT', note: 'Wir kümmern uns, bei uns INC-4711.' } }],
      outcome: 'ACCEPT',
    });
    expect(decideInbound(r, open, [], []).steps.at(-1)).toEqual({ do: 'event', as: 'holder', event: { type: 'NOTE', text: 'Wir kümmern uns, bei uns INC-4711.' } });
  });

  it('a line "Status: gelöst" resolves, after the receipt when it was still awaited', async () => {
    const r = await read(raw(base(), 'Konto entsperrt.\nStatus: gelöst\n'));
    expect(decideInbound(r, pending, [], [])).toEqual({
      steps: [{ do: 'event', as: 'holder', event: { type: 'ACCEPT' } }, { do: 'event', as: 'holder', event: { type: 'RESOLVE', resolution: 'Konto entsperrt.' } }],
      outcome: 'ACCEPT+RESOLVE',
    });
  });

  it("someone not the holder: a note of Lotse's own, no state change, whatever it says", async () => {
    const r = await read(raw(base([], 'Kollege <kollege@elsewhere.test>'), 'Status: gelöst\n'));
    const m = decideInbound(r, pending, [], []);
    expect(m.outcome).toBe('NOTE');
    expect(m.steps).toEqual([{ do: 'note', text: expect.stringContaining('Mail von unbekannt, nicht von der bearbeitenden Stelle') }]);
  });

  it('an automatic reply is a note, the receipt only when it names the holder\'s own number', async () => {
    const vacation = await read(raw(base(['Auto-Submitted: auto-replied']), 'Ich bin im Urlaub.\n'));
    expect(decideInbound(vacation, pending, [], []).steps).toEqual([{ do: 'note', text: expect.stringContaining('Automatische Antwort per Mail von vendor-lc (auto-submitted)') }]);
    const ack = await read(raw(base(['Auto-Submitted: auto-replied']), 'Ihr Anliegen wurde unter INC-99 erfasst.\n'));
    expect(decideInbound(ack, pending, [], []).steps).toEqual([
      { do: 'ref', orgId: 'vendor-lc', number: 'INC-99' },
      { do: 'event', as: 'holder', event: { type: 'ACCEPT', note: 'Automatische Eingangsbestätigung per Mail (Vorgangsnummer INC-99).' } },
    ]);
    expect(decideInbound(ack, null, [MAILBOX], ['intake@lotse.test'])).toEqual({ steps: [], outcome: 'ignored (automatic reply, no ticket)' });
  });

  it("a ticket system's automatic resolution notice resolves by the holder's own pattern", async () => {
    const notice = await read(raw(base(['Auto-Submitted: auto-generated']), 'Ihr Vorgang INC-7 wurde geschlossen (Resolved).\n'));
    expect(decideInbound(notice, open, [], [], /\(Resolved\)/)).toMatchObject({ outcome: 'RESOLVE', steps: [{ do: 'ref' }, { do: 'event', event: { type: 'RESOLVE', resolution: expect.stringContaining('Lösungsmeldung des Ticketsystems von vendor-lc') } }] });
    expect(decideInbound(notice, open, [], []).outcome).toBe('NOTE');
    expect(decideInbound(notice, open, [], [], /Status: erledigt/).outcome).toBe('NOTE');
  });

  it('a permanent bounce marks the address and rejects the waiting handoff; a transient one is a note', async () => {
    const r = await read(dsn({ action: 'failed', status: '5.1.1' }));
    const m = decideInbound(r, pending, [], []);
    expect(m.outcome).toBe('REJECT_HANDOFF');
    expect(m.steps[0]).toEqual({ do: 'undeliverable', address: 'nobody@vendor.test', status: '5.1.1', diagnostic: 'smtp; 550 5.1.1 <nobody@vendor.test> User unknown' });
    expect(m.steps[1]).toEqual({ do: 'event', as: 'holder', event: { type: 'REJECT_HANDOFF', reason: expect.stringMatching(/^Nicht zustellbar: nobody@vendor\.test 5\.1\.1/) } });
    const later = decideInbound(r, open, [], []);
    expect(later.steps.map((s) => s.do)).toEqual(['undeliverable', 'note']);
    const delayed = decideInbound(await read(dsn({ action: 'delayed', status: '4.4.1' })), pending, [], []);
    expect(delayed.steps).toEqual([{ do: 'note', text: 'Mail-Zustellung verzögert oder unklar (transient).' }]);
  });

  it('unmatched mail to an intake mailbox creates a ticket; elsewhere, lists and own mail are only taken', async () => {
    const fresh = await read(raw(['From: erika@example.org', 'To: intake@lotse.test', 'Subject: Passwort vergessen', 'Message-ID: <n@example.org>'], 'Hilfe.\n'));
    expect(decideInbound(fresh, null, [MAILBOX], ['intake@lotse.test'])).toEqual({ steps: [{ do: 'create', mailbox: MAILBOX }], outcome: 'CREATED' });
    expect(decideInbound(fresh, null, [MAILBOX], ['other@lotse.test']).steps).toEqual([]);
    const list = await read(raw(base(['List-Id: <news.vendor.test>'])));
    expect(decideInbound(list, pending, [], []).steps).toEqual([]);
  });

  it('keeps text safe for the history: no control characters, bounded', () => {
    expect(safeText('a\u0000b\r\nc\u001b[31m')).toBe('a b\nc [31m');
    expect(safeText('x'.repeat(5000)).length).toBe(4000);
  });
});

describe('which mail a handoff event becomes', () => {
  const event = (type: string, data: unknown) => ({ specversion: '1.0', id: `${TICKET}-v2-x-vendor-lc`, source: 'urn:lotse:t', type, subject: TICKET, time: '2026-12-07T09:00:00.000Z', data }) as never;
  const entry = (type: string, actor: unknown, details: Record<string, unknown>) => ({ version: 2, at: '2026-12-07T09:00:00.000Z', type, actor, from: null, to: 'open', level: 1, assignee: 'vendor-lc', details });

  it('a handoff is automatic; an update passing on a person\'s words is not; Lotse\'s own note is never mailed', () => {
    expect(decideOutbound(event('lotse.ticket.handoff.requested', { ticket: ticketView(), reason: 'Zuständig' }))).toMatchObject({ send: true, automatic: true, message: { kind: 'handoff', reason: 'Zuständig' } });
    const byDesk = decideOutbound(event('lotse.ticket.updated', { ticket: ticketView(), change: 'NOTE', history: [entry('NOTE', { orgId: 'desk-HB', role: 'desk' }, { text: 'Bitte zurückrufen.' })] }));
    expect(byDesk).toMatchObject({ send: true, automatic: false, message: { kind: 'update', summary: 'Änderung: Notiz\n\nBitte zurückrufen.' } });
    const own = decideOutbound(event('lotse.ticket.updated', { ticket: ticketView(), change: 'NOTE', history: [entry('NOTE', { system: true }, { text: 'Automatische Antwort …' })] }));
    expect(own).toEqual({ send: false, why: "Lotse's own note (mail in) is never mailed back", ticketId: TICKET });
    expect(decideOutbound(event('lotse.ticket.updated', { ticket: ticketView(), change: 'SLA_WARNING', history: [entry('SLA_WARNING', { system: true }, {})] }))).toMatchObject({ send: true, automatic: true });
    expect(decideOutbound(event('lotse.ticket.withdrawn', { ticketId: TICKET, reason: 'anders gelöst' }))).toMatchObject({ send: true, ticket: null, message: { kind: 'update', summary: 'Die Übergabe wurde zurückgenommen: anders gelöst' } });
  });
});
