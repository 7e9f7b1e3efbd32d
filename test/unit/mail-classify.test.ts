/**
 * Mail in, parsing and classification: table-driven, from raw messages
 * shaped like real ones (Postfix and Exchange bounces, Sieve and Exchange
 * out-of-office notes, ticket systems' acknowledgements, mailing lists).
 * Each row names the rule that must decide.
 */
import { describe, expect, it } from 'vitest';
import { classifyMail, mayAnswer, type MailKind } from '../../src/mail/classify.js';
import { parseMail } from '../../src/mail/parse.js';
import { base, dsn, OWN, raw, TICKET } from '../helpers/mail-fixtures.js';

const ctx = { ownDomain: 'lotse.test', ownAddresses: ['lotse@lotse.test'] };

const ROWS: { name: string; mail: string; envelopeFrom?: string; kind: MailKind; rule: string }[] = [
  { name: 'a person\'s reply', mail: raw(base()), kind: 'person', rule: 'no-automation-mark' },
  { name: 'Auto-Submitted: no is a person', mail: raw(base(['Auto-Submitted: no'])), kind: 'person', rule: 'no-automation-mark' },
  { name: 'Sieve vacation (RFC 3834)', mail: raw(base(['Auto-Submitted: auto-replied (vacation)', 'Precedence: bulk'])), kind: 'auto-reply', rule: 'auto-submitted' },
  { name: 'a ticket system\'s acknowledgement', mail: raw(base(['Auto-Submitted: auto-generated', 'X-Loop: support@vendor.test'])), kind: 'auto-reply', rule: 'auto-submitted' },
  { name: 'Exchange out of office', mail: raw(base(['X-Auto-Response-Suppress: All'])), kind: 'auto-reply', rule: 'x-auto-response-suppress' },
  { name: 'Precedence: bulk', mail: raw(base(['Precedence: bulk'])), kind: 'auto-reply', rule: 'precedence' },
  { name: 'Precedence: junk', mail: raw(base(['Precedence: junk'])), kind: 'auto-reply', rule: 'precedence' },
  { name: 'X-Loop', mail: raw(base(['X-Loop: helpdesk@vendor.test'])), kind: 'auto-reply', rule: 'x-loop' },
  { name: 'X-Autoreply', mail: raw(base(['X-Autoreply: yes'])), kind: 'auto-reply', rule: 'x-autoreply' },
  { name: 'an empty envelope sender', mail: raw(base()), envelopeFrom: '', kind: 'auto-reply', rule: 'empty-return-path' },
  { name: 'Return-Path: <> written by the delivering MTA', mail: raw(['Return-Path: <>', ...base()]), kind: 'auto-reply', rule: 'empty-return-path' },
  { name: 'a list message (List-Id)', mail: raw(base(['List-Id: Ankuendigungen <ankuendigungen.vendor.test>', 'List-Unsubscribe: <mailto:leave@vendor.test>'])), kind: 'list', rule: 'list-headers' },
  { name: 'Precedence: list', mail: raw(base(['Precedence: list'])), kind: 'list', rule: 'precedence-list' },
  { name: 'a permanent bounce (RFC 3464)', mail: dsn({ action: 'failed', status: '5.1.1' }), kind: 'bounce', rule: 'delivery-report' },
  { name: 'a delay notice (RFC 3464)', mail: dsn({ action: 'delayed', status: '4.4.1' }), kind: 'bounce', rule: 'delivery-report' },
  { name: 'a bounce returning the whole message', mail: dsn({ action: 'failed', status: '5.2.2', part: 'message/rfc822' }), kind: 'bounce', rule: 'delivery-report' },
  {
    name: 'a mailer-daemon note without a report',
    mail: raw(['From: MAILER-DAEMON@mx.vendor.test', 'To: lotse@lotse.test', 'Subject: failure notice', 'Message-ID: <fn-1@mx.vendor.test>'], 'Sorry, I could not deliver.\n'),
    envelopeFrom: '',
    kind: 'bounce',
    rule: 'mailer-daemon',
  },
  { name: 'Lotse\'s own mail coming back', mail: raw(['From: Lotse <lotse@lotse.test>', 'To: support@vendor.test', `Subject: [Lotse#${TICKET}] Übergabe`, `Message-ID: ${OWN}`, 'Auto-Submitted: auto-generated']), kind: 'own', rule: 'own-message-id' },
  {
    name: 'Lotse\'s own address with its ticket header, re-sent with a new Message-ID',
    mail: raw(['From: Lotse <lotse@lotse.test>', 'To: support@vendor.test', 'Subject: Fwd: x', 'Message-ID: <fwd-1@vendor.test>', `X-Lotse-Ticket: ${TICKET}`]),
    kind: 'own',
    rule: 'own-sender',
  },
];

describe('classifyMail', () => {
  it.each(ROWS)('$name → $kind by $rule', async ({ mail, envelopeFrom, kind, rule }) => {
    const parsed = await parseMail(mail, envelopeFrom === undefined ? {} : { envelopeFrom });
    const c = classifyMail(parsed, ctx);
    expect({ kind: c.kind, rule: c.rule }).toEqual({ kind, rule });
    expect(c.detail.length).toBeGreaterThan(0);
    expect(mayAnswer(c)).toBe(kind === 'person');
  });

  it('reads a permanent bounce: recipients, status, the original Message-ID and ticket, the envelope id', async () => {
    const parsed = await parseMail(dsn({ action: 'failed', status: '5.1.1' }));
    const c = classifyMail(parsed, ctx);
    expect(c.bounce).toEqual({
      severity: 'permanent',
      recipients: [{ address: 'nobody@vendor.test', action: 'failed', status: '5.1.1', diagnostic: 'smtp; 550 5.1.1 <nobody@vendor.test> User unknown' }],
      originalMessageId: OWN,
      originalTicketId: TICKET,
    });
    expect(parsed.delivery?.originalEnvelopeId).toBe('eff-7');
    // The report parts are not attachments.
    expect(parsed.attachments).toEqual([]);
  });

  it('tells a transient bounce from a permanent one, and a bounce of someone else\'s mail names no ticket', async () => {
    const delayed = classifyMail(await parseMail(dsn({ action: 'delayed', status: '4.4.1' })), ctx);
    expect(delayed.bounce?.severity).toBe('transient');
    const foreign = classifyMail(await parseMail(dsn({ action: 'failed', status: '5.1.1', original: '<x@elsewhere.test>' })), ctx);
    expect(foreign.bounce).toMatchObject({ severity: 'permanent', originalMessageId: '<x@elsewhere.test>', originalTicketId: null });
  });
});

describe('parseMail', () => {
  it('reduces an HTML-only mail to text and keeps no markup', async () => {
    const html = '<html><head><style>p{color:red}</style><script>alert(1)</script></head><body><p>Das <b>Konto</b> ist <a href="https://x.test">wieder frei</a>.</p><img src="cid:logo"></body></html>';
    const parsed = await parseMail(raw([...base().filter((h) => !h.startsWith('Content-Type')), 'Content-Type: text/html; charset=utf-8'], html));
    expect(parsed.text).toContain('Das Konto ist wieder frei');
    expect(parsed.text).not.toMatch(/<[a-z/][^>]*>/i);
    expect(parsed.text).not.toContain('alert(1)');
    expect(JSON.stringify(parsed)).not.toContain('<b>');
  });

  it('bounds attachments in number and size, saying which were dropped', async () => {
    const parts: string[] = [];
    for (let i = 1; i <= 4; i++) parts.push('--A1', 'Content-Type: text/plain', `Content-Disposition: attachment; filename="log-${i}.txt"`, '', `Zeile ${i} `.repeat(i === 4 ? 200 : 1), '');
    const mail = raw(
      [...base().filter((h) => !h.startsWith('Content-Type')), 'Content-Type: multipart/mixed; boundary="A1"'],
      ['--A1', 'Content-Type: text/plain; charset=utf-8', '', 'Siehe Anhang.', '', ...parts, '--A1--', ''].join('\n'),
    );
    const parsed = await parseMail(mail, { limits: { maxAttachments: 2, maxAttachmentBytes: 1000 } });
    expect(parsed.attachments.map((a) => a.name)).toEqual(['log-1.txt', 'log-2.txt']);
    expect(parsed.droppedAttachments).toEqual([
      { name: 'log-3.txt', size: expect.any(Number), reason: 'too-many' },
      { name: 'log-4.txt', size: expect.any(Number), reason: 'too-big' },
    ]);
    expect(parsed.text).toContain('Siehe Anhang.');
  });

  it('bounds the text and keeps ids bracketed; a mail without Message-ID is known by its hash', async () => {
    const parsed = await parseMail(raw(base().filter((h) => !h.startsWith('Message-ID')), 'x'.repeat(30_000)));
    expect(parsed.text.length).toBe(20_000);
    expect(parsed.textTruncated).toBe(true);
    expect(parsed.messageId).toBeUndefined();
    expect(parsed.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(parsed.inReplyTo).toEqual([OWN]);
  });
});
