/**
 * The mail exchange against the real servers of mail-servers.ts: a
 * topology whose vendor desks work by e-mail, the environment that points
 * Lotse at Postfix and Dovecot, and the vendor's side (reading its Maildir,
 * answering through Postfix as its people would).
 */
import { readFileSync } from 'node:fs';
import { simpleParser, type ParsedMail } from 'mailparser';
import { createTransport } from 'nodemailer';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { parseTopology } from '../../src/config/topology-file.js';
import type { Topology, TopologyInput } from '../../src/domain/topology.js';
import type { MAIL_USERS, MailServers } from './mail-servers.js';

/** Lotse's sender: Postfix relays `@in.lotse.test` to Lotse's listener, so replies, vacation notes and bounces come back to it. */
export const LOTSE_FROM = 'lotse@in.lotse.test';
/** The vendor desk on vacation (Sieve) and a vendor address that does not exist (a real bounce). */
export const VENDOR = 'support@vendor.test';
export const NOWHERE = 'nobody@vendor.test';
export const INTAKE = 'intake@in.lotse.test';

export function mailTopologyInput(): TopologyInput {
  const base = structuredClone(DEFAULT_TOPOLOGY) as TopologyInput;
  base.organisations = base.organisations.map((o) => {
    if (o.id === 'vendor-lc') return { ...o, calendar: '24x7', mail: { address: VENDOR, ticketNumber: 'INC-[0-9]+' } };
    if (o.id === 'vendor-pq') return { ...o, calendar: '24x7', mail: { address: NOWHERE } };
    return o;
  });
  base.mailboxes = [{ address: INTAKE, orgId: 'desk-HB', service: 'lieferantencockpit' }];
  return base;
}

export const mailTopology = (): Topology => parseTopology(mailTopologyInput(), 'mail test topology');

/** Lotse's mail settings for the servers: send through Postfix, listen where Postfix relays `in.lotse.test`. */
export function mailEnv(servers: MailServers, extra: Record<string, string> = {}): Record<string, string> {
  return {
    LOTSE_SMTP_URL: `smtp://127.0.0.1:${servers.smtpPort}`,
    LOTSE_MAIL_FROM: LOTSE_FROM,
    LOTSE_MAIL_LISTEN: `127.0.0.1:${servers.listenerPort}`,
    LOTSE_MAIL_INSECURE: '1',
    ...extra,
  };
}

/** Every mail in a user's Maildir, parsed, in delivery order. */
export async function mailbox(servers: MailServers, user: keyof typeof MAIL_USERS): Promise<ParsedMail[]> {
  const files = servers.maildir(user).sort();
  return Promise.all(files.map((f) => simpleParser(readFileSync(f))));
}

/** The vendor's people answer through Postfix, as their mail client would. */
export async function sendAs(servers: MailServers, mail: { from?: string; to?: string; subject: string; text: string; inReplyTo?: string; references?: string[]; headers?: Record<string, string>; envelopeFrom?: string }): Promise<string> {
  const transport = createTransport({ host: '127.0.0.1', port: servers.smtpPort, secure: false, ignoreTLS: true });
  try {
    const info = await transport.sendMail({
      from: mail.from ?? `Max Support <${VENDOR}>`,
      to: mail.to ?? LOTSE_FROM,
      subject: mail.subject,
      text: mail.text,
      ...(mail.inReplyTo ? { inReplyTo: mail.inReplyTo } : {}),
      ...(mail.references ? { references: mail.references } : {}),
      ...(mail.headers ? { headers: mail.headers } : {}),
      ...(mail.envelopeFrom !== undefined ? { envelope: { from: mail.envelopeFrom, to: [mail.to ?? LOTSE_FROM] } } : {}),
    });
    return info.messageId;
  } finally {
    transport.close();
  }
}
