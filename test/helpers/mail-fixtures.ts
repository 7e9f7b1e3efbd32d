/** A ticket view and raw messages for the mail unit tests. */
import type { TicketView } from '../../src/domain/ticket.js';
import { composeHandoffMail, type ComposedMail } from '../../src/mail/compose.js';

export const TICKET = 'T01KBX7Q9M2V8C4N6P0R3';
export const OTHER = 'T01KBX7Q9M2V8C4N6P0R4';
export const OWN = `<lotse.${TICKET}.0123456789abcdef01234567@lotse.test>`;

export function ticketView(overrides: Partial<TicketView> = {}): TicketView {
  return {
    id: TICKET, externalRef: 'ext-1', version: 3, land: 'HB', service: 'lieferantencockpit', themeField: 'unternehmensfuehrung',
    channel: 'email', category: 'technical', impact: 'high', urgency: 'medium', priority: 'P2',
    subject: 'Lieferantenkonto gesperrt', description: 'Seit heute früh erscheint beim Login „Konto gesperrt“.',
    attachments: [], level: 3, status: 'handoff-pending', state: 'handoffPending', assignee: 'vendor-lc', createdBy: 'desk-HB',
    handledBy: ['desk-HB'], sla: { firstResponseDueAt: null, resolutionDueAt: '2026-12-09T16:00:00.000Z', paused: false, warnings: [], breaches: [] },
    receivedAt: '2026-12-07T08:00:00.000Z', createdAt: '2026-12-07T08:00:00.000Z', updatedAt: '2026-12-07T09:00:00.000Z', resolvedAt: null, closedAt: null,
    reporter: { name: 'Erika Mustermann', email: 'erika@example.org', phone: '+49 421 123456' },
    ...overrides,
  } as TicketView;
}

/** A raw RFC 5322 message: headers (CRLF-joined) and a body. */
export const raw = (headers: string[], body = 'Hallo,\n\ndas Konto ist wieder frei.\n\nGruß\nSupport\n') => `${headers.join('\r\n')}\r\n\r\n${body.replace(/\n/g, '\r\n')}`;

export const base = (extra: string[] = [], from = 'Max Support <support@vendor.test>') => [
  `From: ${from}`,
  'To: lotse@lotse.test',
  `Subject: Re: [Lotse#${TICKET}] Übergabe: Lieferantenkonto gesperrt`,
  'Date: Mon, 07 Dec 2026 10:00:00 +0100',
  'Message-ID: <reply-1@vendor.test>',
  `In-Reply-To: ${OWN}`,
  `References: ${OWN}`,
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  ...extra,
];

export function dsn(opts: { action: string; status: string; original?: string; part?: 'text/rfc822-headers' | 'message/rfc822' }): string {
  return raw(
    [
      'Return-Path: <>',
      'From: Mail Delivery System <MAILER-DAEMON@mx.vendor.test>',
      'To: lotse@lotse.test',
      'Subject: Undelivered Mail Returned to Sender',
      'Auto-Submitted: auto-replied',
      'Message-Id: <20261207100000.ABC@mx.vendor.test>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="B1"',
    ],
    [
      '--B1',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      'This is the mail system at host mx.vendor.test.',
      '',
      '--B1',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.vendor.test',
      'Original-Envelope-Id: eff-7',
      '',
      'Final-Recipient: rfc822; nobody@vendor.test',
      `Action: ${opts.action}`,
      `Status: ${opts.status}`,
      'Diagnostic-Code: smtp; 550 5.1.1 <nobody@vendor.test> User unknown',
      '',
      '--B1',
      `Content-Type: ${opts.part ?? 'text/rfc822-headers'}`,
      '',
      'From: Lotse <lotse@lotse.test>',
      `Message-ID: ${opts.original ?? OWN}`,
      `Subject: [Lotse#${TICKET}] Übergabe`,
      '',
      '--B1--',
      '',
    ].join('\n'),
  );
}

/** The mail of one effect, as the kill test's worker and its retry compose it. */
export function killMail(effectId: string): ComposedMail {
  return composeHandoffMail({
    effectId, at: '2026-12-07T09:00:00.000Z', ticket: ticketView(), personalData: false,
    recipient: { orgId: 'vendor-lc', address: 'desk@lotse.test' }, sender: { address: 'lotse@lotse.test' }, thread: [],
  });
}
