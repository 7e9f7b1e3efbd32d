import { z } from 'zod';
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
});

export interface MailConfig {
  smtpUrl: string | undefined;
  from: string | undefined;
  /** The domain of Lotse's Message-IDs: LOTSE_MAIL_FROM's. */
  domain: string | undefined;
  listen: { host: string; port: number; protocol: 'smtp' | 'lmtp' } | undefined;
  maxBytes: number;
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

/** `organisations[].mail` (contract): where its mail goes and how its replies are read. */
export const OrganisationMailSchema = z.strictObject({
  address: z.email(),
  /** The other side's own ticket number, e.g. `INC-[0-9]+`. */
  ticketNumber: z
    .string()
    .max(200)
    .refine(isValidPattern, 'a regular expression')
    .optional(),
  /** A pattern that means resolved; default: a line `Status: gelöst`. */
  resolvedWhen: z.string().max(200).refine(isValidPattern, 'a regular expression').optional(),
});
export type OrganisationMail = z.infer<typeof OrganisationMailSchema>;

function isValidPattern(p: string): boolean {
  try {
    new RegExp(p);
    return true;
  } catch {
    return false;
  }
}
