import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { createTransport } from 'nodemailer';
import { failpoint } from '../failpoints.js';
import type { MailSentStore } from '../store/mail-sent.js';
import type { ComposedMail } from './compose.js';
import { renderMail } from './render.js';
import type { SmtpTarget } from './settings.js';

/**
 * Mail out, sending: one effect, one mail, never twice (see
 * src/store/mail-sent.ts for the trade between at most once and at least
 * once, and why this is at most once with a visible "in doubt").
 *
 * The sender sends the rendered bytes itself (`raw`) as a stream and notes
 * when the SMTP client has read all of it. A failure before that, or one
 * the server answered with a reply code, means the message did not leave:
 * the claim is released and the error says whether a retry helps (4xx,
 * connection) or not (5xx). A failure after the whole message was handed
 * over with no answer is in doubt: marked so, never sent again by itself.
 */

export type SendResult =
  | { outcome: 'sent'; messageId: string; response: string }
  | { outcome: 'already-sent'; messageId: string }
  /** Another attempt holds the claim and may still be sending: retry later. */
  | { outcome: 'busy'; messageId: string }
  /** It may have left: an operator decides (the Message-ID is in the MTA's log). Dead-letter it; do not retry. */
  | { outcome: 'in-doubt'; messageId: string; reason: string }
  /** Not sent and not to be retried: the address bounced for good, or the day's limit for this recipient and ticket is reached. */
  | { outcome: 'refused'; messageId: string; reason: 'undeliverable' | 'quota'; detail: string };

/** The "no loops, no floods" checks (src/store/mail-limits.ts), asked once a send is claimed. */
export interface SendChecks {
  undeliverable(address: string): Promise<{ status: string; diagnostic: string } | null>;
  /** Counts the effect for (recipient, ticket, day); false once over the limit. A retried effect counts once. */
  count(recipient: string, ticketId: string, effectId: string, at: number): Promise<{ allowed: boolean; count: number }>;
}

export class MailSendError extends Error {
  constructor(
    message: string,
    /** A 5xx answer: the same mail will be refused again (a dead letter, not a retry). */
    readonly permanent: boolean,
    readonly responseCode: number | undefined,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'MailSendError';
  }
  get retryable(): boolean {
    return !this.permanent;
  }
}

export interface MailSenderOptions {
  smtp: SmtpTarget;
  sent: MailSentStore;
  /** EHLO name; default the sender's domain. */
  name?: string;
  /** Test servers without TLS or with their own certificate: `ignoreTLS` skips STARTTLS. */
  ignoreTLS?: boolean;
  timeouts?: { connectMs?: number; greetingMs?: number; socketMs?: number };
  /** Ask for delivery status notifications that carry the effect id (RFC 3461 ENVID) and only the headers. */
  dsn?: boolean;
  checks?: SendChecks;
  now?: () => number;
}

export interface MailSender {
  sendMail(effectId: string, mail: ComposedMail): Promise<SendResult>;
  close(): void;
}

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  permanent?: boolean;
}

export function createMailSender(opts: MailSenderOptions): MailSender {
  const now = opts.now ?? Date.now;
  const transport = createTransport({
    host: opts.smtp.host,
    port: opts.smtp.port,
    secure: opts.smtp.secure,
    ...(opts.smtp.auth ? { auth: opts.smtp.auth } : {}),
    ...(opts.name ? { name: opts.name } : {}),
    ignoreTLS: opts.ignoreTLS ?? false,
    connectionTimeout: opts.timeouts?.connectMs ?? 30_000,
    greetingTimeout: opts.timeouts?.greetingMs ?? 30_000,
    socketTimeout: opts.timeouts?.socketMs ?? 120_000,
    disableFileAccess: true,
    disableUrlAccess: true,
  });

  async function refusalOf(effectId: string, mail: ComposedMail): Promise<SendResult | null> {
    if (!opts.checks) return null;
    for (const to of mail.envelope.to) {
      const bad = await opts.checks.undeliverable(to);
      if (bad) return { outcome: 'refused', messageId: mail.messageId, reason: 'undeliverable', detail: `${to} bounced for good: ${bad.status} ${bad.diagnostic}`.trim() };
    }
    for (const to of mail.envelope.to) {
      const quota = await opts.checks.count(to, mail.ticketId, effectId, now());
      if (!quota.allowed) return { outcome: 'refused', messageId: mail.messageId, reason: 'quota', detail: `${quota.count} mails to ${to} on this ticket today` };
    }
    return null;
  }

  return {
    async sendMail(effectId, mail) {
      const raw = await renderMail(mail);
      const claim = await opts.sent.claim(effectId, randomUUID(), mail.messageId, now());
      switch (claim.outcome) {
        case 'already-sent':
          return { outcome: 'already-sent', messageId: claim.record.messageId };
        case 'busy':
          return { outcome: 'busy', messageId: claim.record.messageId };
        case 'in-doubt':
          return { outcome: 'in-doubt', messageId: claim.record.messageId, reason: claim.record.state === 'doubt' ? claim.record.reason : 'an earlier attempt claimed the send and never recorded it (killed?)' };
        case 'claimed':
          break;
      }
      const refusal = await refusalOf(effectId, mail);
      if (refusal) {
        await opts.sent.release(effectId, claim.claim);
        return refusal;
      }
      let handedOver = false;
      const body = new Readable({
        read() {
          this.push(raw);
          this.push(null);
        },
      });
      body.on('end', () => (handedOver = true));
      try {
        const info = await transport.sendMail({
          envelope: mail.envelope,
          raw: body,
          ...(opts.dsn ? { dsn: { id: effectId, return: 'headers' as const, notify: ['failure', 'delay'] as ('failure' | 'delay')[] } } : {}),
        });
        // The window a killed worker leaves: accepted by the server, not yet recorded (mail-kill test).
        failpoint('mail-after-send');
        await opts.sent.markSent(effectId, mail.messageId, now(), String(info.response ?? ''));
        return { outcome: 'sent', messageId: mail.messageId, response: String(info.response ?? '') };
      } catch (caught) {
        const err = caught as SmtpError;
        const answered = typeof err.responseCode === 'number';
        if (handedOver && !answered) {
          const reason = `the connection failed after the message was handed over: ${err.code ?? ''} ${err.message}`.trim();
          await opts.sent.markInDoubt(effectId, mail.messageId, now(), reason);
          return { outcome: 'in-doubt', messageId: mail.messageId, reason };
        }
        await opts.sent.release(effectId, claim.claim);
        throw new MailSendError(err.message, err.permanent === true, err.responseCode, err.code);
      }
    },
    close() {
      transport.close();
    },
  };
}
