import { isOwnMessageId, ticketIdFromMessageId } from './ids.js';
import type { DeliveryRecipient, InboundMail } from './parse.js';

/**
 * Mail in, classification: what a mail is, decided by the first rule of a
 * fixed list that applies, and that rule's name kept with the result (the
 * ticket shows it). Pure. The order matters: Lotse's own mail first (a loop
 * is cut before anything reads it), then delivery reports (a bounce carries
 * `Auto-Submitted` too), then lists, then the automatic-reply marks of RFC
 * 3834 and the conventions around it; a mail no rule claims is a person's.
 */

export type MailKind = 'own' | 'bounce' | 'list' | 'auto-reply' | 'person';

export interface BounceInfo {
  /** permanent: 5.x.x / Action failed; transient: 4.x.x / Action delayed; unknown: a mailer-daemon mail without a report. */
  severity: 'permanent' | 'transient' | 'unknown';
  recipients: DeliveryRecipient[];
  originalMessageId: string | undefined;
  /** The ticket, when the original was one of Lotse's own mails. */
  originalTicketId: string | null;
}

export interface Classification {
  kind: MailKind;
  /** The name of the rule that decided (see RULES). */
  rule: string;
  /** What the rule saw, for the ticket's history. */
  detail: string;
  bounce?: BounceInfo;
}

export interface ClassifyContext {
  /** The domain of Lotse's Message-IDs (LOTSE_MAIL_FROM's). */
  ownDomain: string;
  /** LOTSE_MAIL_FROM and any other address Lotse sends from. */
  ownAddresses: readonly string[];
}

type Rule = { name: string; test: (m: InboundMail, c: ClassifyContext) => Omit<Classification, 'rule'> | null };

const first = (m: InboundMail, h: string) => m.headers[h]?.[0];

export const RULES: readonly Rule[] = [
  {
    name: 'own-message-id',
    test: (m, c) => (m.messageId && isOwnMessageId(m.messageId, c.ownDomain) ? { kind: 'own', detail: `Message-ID ${m.messageId}` } : null),
  },
  {
    name: 'own-sender',
    test: (m, c) =>
      m.from && c.ownAddresses.some((a) => a.toLowerCase() === m.from!.address) && m.headers['x-lotse-ticket']
        ? { kind: 'own', detail: `From ${m.from.address} with X-Lotse-Ticket` }
        : null,
  },
  {
    name: 'delivery-report',
    test: (m, c) => {
      if (!m.delivery) return null;
      const bounce = bounceOf(m, c);
      return { kind: 'bounce', detail: `RFC 3464 report: ${m.delivery.recipients.map((r) => `${r.address} ${r.action} ${r.status}`).join(', ') || 'no recipients'}`, bounce };
    },
  },
  {
    name: 'mailer-daemon',
    test: (m, c) => {
      const from = m.from?.address ?? '';
      if (m.returnPath !== '' || !/^(mailer-daemon|postmaster)@/.test(from)) return null;
      return { kind: 'bounce', detail: `from ${from} with an empty return path, no delivery report`, bounce: { severity: 'unknown', recipients: [], originalMessageId: undefined, originalTicketId: ownTicketIn(m, c) } };
    },
  },
  {
    name: 'list-headers',
    test: (m) => (m.listId || m.hasListHeaders ? { kind: 'list', detail: m.listId ? `List-Id ${m.listId}` : 'List-* headers' } : null),
  },
  {
    name: 'precedence-list',
    test: (m) => (/^\s*list\s*$/i.test(first(m, 'precedence') ?? '') ? { kind: 'list', detail: 'Precedence: list' } : null),
  },
  {
    name: 'auto-submitted',
    test: (m) => {
      const v = first(m, 'auto-submitted');
      return v !== undefined && !/^\s*no\s*(;|$)/i.test(v) ? { kind: 'auto-reply', detail: `Auto-Submitted: ${v}` } : null;
    },
  },
  {
    name: 'x-auto-response-suppress',
    test: (m) => {
      const v = first(m, 'x-auto-response-suppress');
      return v && /\b(all|oof|autoreply)\b/i.test(v) ? { kind: 'auto-reply', detail: `X-Auto-Response-Suppress: ${v}` } : null;
    },
  },
  {
    name: 'precedence',
    test: (m) => {
      const v = first(m, 'precedence');
      return v && /^\s*(bulk|junk|auto_reply)\s*$/i.test(v) ? { kind: 'auto-reply', detail: `Precedence: ${v}` } : null;
    },
  },
  {
    name: 'x-loop',
    test: (m) => (m.headers['x-loop'] ? { kind: 'auto-reply', detail: `X-Loop: ${m.headers['x-loop'].join(', ')}` } : null),
  },
  {
    name: 'x-autoreply',
    test: (m) => (m.headers['x-autoreply'] || m.headers['x-autorespond'] ? { kind: 'auto-reply', detail: 'X-Autoreply / X-Autorespond' } : null),
  },
  {
    name: 'empty-return-path',
    test: (m) => (m.returnPath === '' ? { kind: 'auto-reply', detail: 'return path <>' } : null),
  },
];

export function classifyMail(mail: InboundMail, context: ClassifyContext): Classification {
  for (const rule of RULES) {
    const hit = rule.test(mail, context);
    if (hit) return { ...hit, rule: rule.name };
  }
  return { kind: 'person', rule: 'no-automation-mark', detail: 'no rule for own, bounce, list or automatic mail applied' };
}

/** Only a person's mail may ever be answered: never an automatic reply, a bounce, a list's or Lotse's own. */
export const mayAnswer = (c: Classification): boolean => c.kind === 'person';

function bounceOf(m: InboundMail, c: ClassifyContext): BounceInfo {
  const recipients = m.delivery!.recipients;
  const failed = recipients.some((r) => r.action === 'failed' || r.status.startsWith('5.'));
  const delayed = recipients.some((r) => r.action === 'delayed' || r.status.startsWith('4.'));
  const originalMessageId = m.delivery!.originalMessageId;
  return {
    severity: failed ? 'permanent' : delayed ? 'transient' : 'unknown',
    recipients,
    originalMessageId,
    originalTicketId: (originalMessageId && ticketIdFromMessageId(originalMessageId, c.ownDomain)) || ownTicketIn(m, c),
  };
}

function ownTicketIn(m: InboundMail, c: ClassifyContext): string | null {
  for (const id of [...m.inReplyTo, ...m.references]) {
    const t = ticketIdFromMessageId(id, c.ownDomain);
    if (t) return t;
  }
  return null;
}
