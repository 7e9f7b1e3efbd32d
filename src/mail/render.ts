import MailComposer from 'nodemailer/lib/mail-composer';
import type { ComposedMail } from './compose.js';

/**
 * The RFC 5322 bytes of a composed mail, built by nodemailer's composer.
 * The sender sends exactly these bytes (its `raw`), so what the store knows
 * of a mail is what left. Deterministic: Message-ID and Date come from the
 * composition and a text-only mail has no MIME boundary.
 */
export async function renderMail(mail: ComposedMail): Promise<Buffer> {
  const composer = new MailComposer({
    from: mail.from,
    to: mail.to,
    subject: mail.subject,
    messageId: mail.messageId,
    date: new Date(mail.date),
    ...(mail.inReplyTo ? { inReplyTo: mail.inReplyTo } : {}),
    ...(mail.references.length > 0 ? { references: mail.references } : {}),
    headers: mail.headers,
    text: mail.text,
    textEncoding: 'quoted-printable',
  });
  return composer.compile().build();
}
