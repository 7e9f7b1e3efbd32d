/**
 * Mail in, matching to a ticket in the contract's order (Lotse's
 * Message-IDs, the subject tag, the other side's number) and what a
 * person's reply says. Table-driven; the lookups are plain maps here (the
 * store behind them is tested in test/integration/mail-store.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { classifyMail } from '../../src/mail/classify.js';
import { matchTicket, type MatchLookups, type MatchRule } from '../../src/mail/match.js';
import { parseMail } from '../../src/mail/parse.js';
import { readReply } from '../../src/mail/reply.js';
import { dsn, OTHER, OWN, raw, TICKET } from '../helpers/mail-fixtures.js';

const THIRD = 'T01KBX7Q9M2V8C4N6P0R5';
const known = new Set([TICKET, OTHER, THIRD]);
const lookups: MatchLookups = {
  ownDomain: 'lotse.test',
  organisations: [
    { orgId: 'vendor-lc', address: 'support@vendor.test', ticketNumber: /INC-[0-9]+/ },
    { orgId: 'vendor-pq', address: 'hilfe@pq.test', ticketNumber: /PQ#[0-9]{6}/ },
  ],
  findByExternalNumber: async (orgId, n) => (orgId === 'vendor-lc' && n === 'INC-12345' ? THIRD : orgId === 'vendor-pq' && n === 'PQ#000042' ? OTHER : null),
  ticketExists: async (id) => known.has(id),
};

const mail = (h: { from?: string; subject?: string; inReplyTo?: string; references?: string }, body = 'Danke.\n') =>
  raw(
    [
      `From: ${h.from ?? 'support@vendor.test'}`,
      'To: lotse@lotse.test',
      `Subject: ${h.subject ?? 'Ihre Anfrage'}`,
      'Message-ID: <r@vendor.test>',
      ...(h.inReplyTo ? [`In-Reply-To: ${h.inReplyTo}`] : []),
      ...(h.references ? [`References: ${h.references}`] : []),
    ],
    body,
  );

const ownOf = (ticket: string, domain = 'lotse.test') => `<lotse.${ticket}.0123456789abcdef01234567@${domain}>`;

const ROWS: { name: string; raw: string; ticketId: string | null; rule: MatchRule }[] = [
  { name: 'In-Reply-To names Lotse\'s mail', raw: mail({ inReplyTo: OWN }), ticketId: TICKET, rule: 'message-id' },
  { name: 'only References (the client dropped In-Reply-To)', raw: mail({ inReplyTo: '<their@vendor.test>', references: `${ownOf(OTHER)} <their@vendor.test>` }), ticketId: OTHER, rule: 'message-id' },
  { name: 'the Message-ID wins over a subject tag naming another ticket', raw: mail({ inReplyTo: OWN, subject: `[Lotse#${OTHER}]` }), ticketId: TICKET, rule: 'message-id' },
  { name: 'only the subject tag (no References)', raw: mail({ subject: `AW: [Lotse#${OTHER}] Übergabe` }), ticketId: OTHER, rule: 'subject-tag' },
  { name: 'the tag in a MIME-encoded subject', raw: mail({ subject: `=?UTF-8?Q?AW=3A_=5BLotse=23${OTHER}=5D_=C3=9Cbergabe?=` }), ticketId: OTHER, rule: 'subject-tag' },
  { name: 'only the other side\'s number, in the subject', raw: mail({ subject: 'Ticket INC-12345 gelöst' }), ticketId: THIRD, rule: 'ticket-number' },
  { name: 'only the other side\'s number, in the text, from a colleague on the same domain', raw: mail({ from: 'kollege@vendor.test' }, 'Bezug: INC-12345\n'), ticketId: THIRD, rule: 'ticket-number' },
  { name: 'another organisation\'s pattern', raw: mail({ from: 'hilfe@pq.test', subject: 'PQ#000042' }), ticketId: OTHER, rule: 'ticket-number' },
  { name: 'a number from someone outside the organisation', raw: mail({ from: 'someone@elsewhere.test', subject: 'INC-12345' }), ticketId: null, rule: 'none' },
  { name: 'a Message-ID like Lotse\'s on another domain', raw: mail({ inReplyTo: ownOf(TICKET, 'evil.test') }), ticketId: null, rule: 'none' },
  { name: 'a tag naming an unknown ticket', raw: mail({ subject: '[Lotse#T01KBX7Q9M2V8C4N6P0R9]' }), ticketId: null, rule: 'none' },
  { name: 'nothing to go by', raw: mail({}), ticketId: null, rule: 'none' },
];

describe('matchTicket', () => {
  it.each(ROWS)('$name → $rule', async ({ raw: r, ticketId, rule }) => {
    const m = await matchTicket(await parseMail(r), lookups);
    expect({ ticketId: m.ticketId, rule: m.rule }).toEqual({ ticketId, rule });
    expect(m.steps.length).toBeGreaterThan(0);
    expect(m.steps.at(-1)!.rule).toBe(rule === 'none' ? 'ticket-number' : rule);
  });

  it('explains every step it tried and reports the numbers the mail names, even when a Message-ID decided', async () => {
    const m = await matchTicket(await parseMail(mail({ inReplyTo: OWN, subject: 'Re: INC-777' })), lookups);
    expect(m.rule).toBe('message-id');
    expect(m.senderOrgId).toBe('vendor-lc');
    expect(m.externalNumbers).toEqual([{ orgId: 'vendor-lc', number: 'INC-777' }]);
    const none = await matchTicket(await parseMail(mail({})), lookups);
    expect(none.steps.map((s) => s.rule)).toEqual(['message-id', 'subject-tag', 'ticket-number']);
  });

  it('matches a bounce by the Message-ID of the mail that failed', async () => {
    const parsed = await parseMail(dsn({ action: 'failed', status: '5.1.1' }));
    const m = await matchTicket(parsed, lookups, classifyMail(parsed, { ownDomain: 'lotse.test', ownAddresses: [] }));
    expect({ ticketId: m.ticketId, rule: m.rule }).toEqual({ ticketId: TICKET, rule: 'bounce-original' });
  });
});

describe('readReply', () => {
  const ROWS: { name: string; text: string; resolved: boolean; note: string; pattern?: RegExp }[] = [
    { name: 'a line "Status: gelöst"', text: 'Konto entsperrt.\nStatus: gelöst\n', resolved: true, note: 'Konto entsperrt.' },
    { name: 'the ASCII spelling', text: 'status: geloest\nKonto entsperrt.', resolved: true, note: 'Konto entsperrt.' },
    { name: 'a plain note', text: 'Wir schauen uns das an.', resolved: false, note: 'Wir schauen uns das an.' },
    { name: 'the line only in the quoted mail', text: 'Noch offen.\n\n> Status: gelöst\n', resolved: false, note: 'Noch offen.' },
    { name: 'Lotse\'s own explanation quoted below a quote header', text: 'Danke.\n\nAm 07.12.2026 um 10:00 schrieb Lotse <lotse@lotse.test>:\nEine Zeile „Status: gelöst“ in Ihrer Antwort meldet ...\nStatus: gelöst', resolved: false, note: 'Danke.' },
    { name: 'the words inside a sentence', text: 'Der Status: gelöst ist es noch nicht.', resolved: false, note: 'Der Status: gelöst ist es noch nicht.' },
    { name: 'an organisation\'s own resolution notice', text: 'Ihr Ticket INC-12345 wurde geschlossen.', resolved: true, note: 'Ihr Ticket INC-12345 wurde geschlossen.', pattern: /wurde geschlossen/ },
  ];
  it.each(ROWS)('$name', ({ text, resolved, note, pattern }) => {
    expect(readReply(text, pattern)).toEqual({ resolved, text: note });
  });
});
