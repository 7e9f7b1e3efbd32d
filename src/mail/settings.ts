import { z } from 'zod';
import { OrganisationMailSchema } from '../domain/topology.js';
import { domainOf } from './ids.js';

/**
 * Mail settings: the environment (contract, "Mail and other ticket
 * systems") and the organisation's `mail` block of the topology. Parsed
 * here so src/config/env.ts stays untouched until mail is wired in; the
 * wiring can call `loadMailConfig(process.env)` beside `loadConfig`.
 */

const HostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'host:port, such as 127.0.0.1:2525');

const MailEnvSchema = z.object({
  LOTSE_SMTP_URL: z.string().regex(/^smtps?:\/\//, 'an smtp:// or smtps:// URL').optional(),
  LOTSE_MAIL_FROM: z.email().optional(),
  LOTSE_MAIL_LISTEN: HostPort.optional(),
  /** `smtp` (default) or `lmtp`: how the listener speaks to an MTA that delivers to it. */
  LOTSE_MAIL_LISTEN_PROTOCOL: z.enum(['smtp', 'lmtp']).default('smtp'),
  LOTSE_MAIL_MAX_BYTES: z.coerce.number().int().min(1024).max(100 * 1024 * 1024).default(10 * 1024 * 1024),
  /** IMAP mailboxes Lotse fetches from: `imap://user:pass@host:port/folder`, comma-separated (`imaps://` for TLS; a password `env:NAME`). */
  LOTSE_IMAP_URLS: z.string().max(4000).optional(),
  /** At most this many mails per recipient and ticket per UTC day (no floods). */
  LOTSE_MAIL_MAX_PER_DAY: z.coerce.number().int().min(1).max(1000).default(20),
  /** How long a mail is retried while the SMTP server fails, in hours, before it becomes a dead letter. */
  LOTSE_MAIL_RETRY_HOURS: z.coerce.number().min(0.001).max(24 * 14).default(26),
  /** The first retry's delay ceiling (ms); each next one doubles, up to an hour. */
  LOTSE_MAIL_BACKOFF_MS: z.coerce.number().int().min(10).max(3_600_000).default(30_000),
  /** Attachments kept per inbound mail, and the size of each (bytes). */
  LOTSE_MAIL_MAX_ATTACHMENTS: z.coerce.number().int().min(0).max(50).default(10),
  LOTSE_MAIL_MAX_ATTACHMENT_BYTES: z.coerce.number().int().min(0).max(50 * 1024 * 1024).default(5 * 1024 * 1024),
  /** Lotse's public base URL (`https://lotse.example`): attachments of intake mail become links `<base>/v1/mail/attachments/<id>`. */
  LOTSE_MAIL_ATTACHMENT_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Plain IMAP and SMTP on a trusted network (no STARTTLS): `1` for loopback test servers. */
  LOTSE_MAIL_INSECURE: z.enum(['0', '1']).default('0'),
});

export interface MailConfig {
  smtpUrl: string | undefined;
  from: string | undefined;
  /** The domain of Lotse's Message-IDs: LOTSE_MAIL_FROM's. */
  domain: string | undefined;
  listen: { host: string; port: number; protocol: 'smtp' | 'lmtp' } | undefined;
  maxBytes: number;
  imap: ImapTarget[];
  maxPerDay: number;
  retryHours: number;
  backoffMs: number;
  maxAttachments: number;
  maxAttachmentBytes: number;
  insecure: boolean;
  attachmentBaseUrl: string | undefined;
}

export interface ImapTarget {
  /** `user@host:port/folder`: the mailbox's name in cursors and seen marks (no password). */
  name: string;
  host: string;
  port: number;
  secure: boolean;
  auth: { user: string; pass: string };
  folder: string;
}

/** `imap://user:pass@host:port/folder` (folder default INBOX; password `env:NAME` read from the environment). */
export function parseImapUrl(url: string, env: NodeJS.ProcessEnv): ImapTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('LOTSE_IMAP_URLS: each entry is imap://user:password@host:port/folder');
  }
  if (u.protocol !== 'imap:' && u.protocol !== 'imaps:') throw new Error('LOTSE_IMAP_URLS: imap:// or imaps://');
  const secure = u.protocol === 'imaps:';
  const user = decodeURIComponent(u.username);
  let pass = decodeURIComponent(u.password);
  if (!user) throw new Error('LOTSE_IMAP_URLS: each entry names its user');
  if (pass.startsWith('env:')) {
    const name = pass.slice(4);
    const value = env[name];
    if (value === undefined) throw new Error(`LOTSE_IMAP_URLS: the password names ${name}, which is not set`);
    pass = value;
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = u.port ? Number(u.port) : secure ? 993 : 143;
  const folder = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'INBOX';
  return { name: `${user}@${host}:${port}/${folder}`, host, port, secure, auth: { user, pass }, folder };
}

export function loadMailConfig(env: NodeJS.ProcessEnv): MailConfig {
  const parsed = MailEnvSchema.safeParse(env);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'));
  const e = parsed.data;
  if (e.LOTSE_SMTP_URL && !e.LOTSE_MAIL_FROM) throw new Error('LOTSE_MAIL_FROM: needed with LOTSE_SMTP_URL (its domain names Lotse\'s Message-IDs)');
  return Object.freeze({
    smtpUrl: e.LOTSE_SMTP_URL,
    from: e.LOTSE_MAIL_FROM,
    domain: e.LOTSE_MAIL_FROM ? domainOf(e.LOTSE_MAIL_FROM) : undefined,
    listen: e.LOTSE_MAIL_LISTEN ? { ...splitHostPort(e.LOTSE_MAIL_LISTEN), protocol: e.LOTSE_MAIL_LISTEN_PROTOCOL } : undefined,
    maxBytes: e.LOTSE_MAIL_MAX_BYTES,
    imap: (e.LOTSE_IMAP_URLS ?? '').split(',').map((x) => x.trim()).filter(Boolean).map((x) => parseImapUrl(x, env)),
    maxPerDay: e.LOTSE_MAIL_MAX_PER_DAY,
    retryHours: e.LOTSE_MAIL_RETRY_HOURS,
    backoffMs: e.LOTSE_MAIL_BACKOFF_MS,
    maxAttachments: e.LOTSE_MAIL_MAX_ATTACHMENTS,
    maxAttachmentBytes: e.LOTSE_MAIL_MAX_ATTACHMENT_BYTES,
    insecure: e.LOTSE_MAIL_INSECURE === '1',
    attachmentBaseUrl: e.LOTSE_MAIL_ATTACHMENT_BASE_URL?.replace(/\/+$/, ''),
  });
}

export function splitHostPort(value: string): { host: string; port: number } {
  const at = value.lastIndexOf(':');
  return { host: value.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(value.slice(at + 1)) };
}

/** What an SMTP URL says, with the password resolved where it is `env:NAME`. */
export interface SmtpTarget {
  host: string;
  port: number;
  /** smtps://: TLS from the first byte; smtp://: STARTTLS where the server offers it. */
  secure: boolean;
  auth: { user: string; pass: string } | undefined;
}

export function parseSmtpUrl(url: string, env: NodeJS.ProcessEnv): SmtpTarget {
  const u = new URL(url);
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') throw new Error('LOTSE_SMTP_URL: smtp:// or smtps://');
  const secure = u.protocol === 'smtps:';
  const user = decodeURIComponent(u.username);
  let pass = decodeURIComponent(u.password);
  if (pass.startsWith('env:')) {
    const name = pass.slice(4);
    const value = env[name];
    if (value === undefined) throw new Error(`LOTSE_SMTP_URL: the password names ${name}, which is not set`);
    pass = value;
  }
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : secure ? 465 : 25, secure, auth: user ? { user, pass } : undefined };
}

/** `organisations[].mail` (contract): where its mail goes and how its replies are read; the topology's schema (src/domain/topology.ts). */
export { OrganisationMailSchema };
export type OrganisationMail = z.infer<typeof OrganisationMailSchema>;
