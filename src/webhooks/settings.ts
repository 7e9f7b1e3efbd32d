import { z } from 'zod';
import { ConfigError } from '../config/env.js';
import type { Topology } from '../domain/topology.js';
import { attemptsToSpan, DEFAULT_BACKOFF, HOUR_MS, type BackoffPolicy } from './backoff.js';
import { decodeSecret } from './sign.js';

/** Where and with which key an organisation's webhook is delivered. */
export interface WebhookTarget {
  orgId: string;
  url: string;
  key: Buffer;
}

export interface WebhookSettings {
  backoff: BackoffPolicy;
  /** Attempts per delivery; by default enough for the retries to span a day on average. */
  attempts: number;
  /** One request may take this long. */
  timeoutMs: number;
  /** A Retry-After longer than this is shortened to it. */
  maxRetryAfterMs: number;
  /** How often one attempt may be put off by Retry-After before it counts as failed. */
  maxDeferrals: number;
}

const DAY_MS = 24 * HOUR_MS;

const EnvSchema = z.object({
  LOTSE_WEBHOOK_BACKOFF_MS: z.coerce.number().int().min(1).default(DEFAULT_BACKOFF.baseMs),
  LOTSE_WEBHOOK_BACKOFF_CAP_MS: z.coerce.number().int().min(1).default(DEFAULT_BACKOFF.capMs),
  LOTSE_WEBHOOK_ATTEMPTS: z.coerce.number().int().min(1).max(1000).optional(),
  LOTSE_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(1).default(10_000),
});

/** Webhook delivery settings from the environment; one error names every wrong variable. */
export function loadWebhookSettings(env: NodeJS.ProcessEnv): WebhookSettings {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  const e = parsed.data;
  const backoff = { baseMs: e.LOTSE_WEBHOOK_BACKOFF_MS, capMs: Math.max(e.LOTSE_WEBHOOK_BACKOFF_CAP_MS, e.LOTSE_WEBHOOK_BACKOFF_MS) };
  return Object.freeze({
    backoff,
    attempts: e.LOTSE_WEBHOOK_ATTEMPTS ?? attemptsToSpan(DAY_MS, backoff),
    timeoutMs: e.LOTSE_WEBHOOK_TIMEOUT_MS,
    maxRetryAfterMs: DAY_MS,
    maxDeferrals: 50,
  });
}

/**
 * Every organisation's webhook with its key, resolved once at start: an
 * `env:NAME` secret whose variable is missing, or a secret that is not
 * `whsec_` + base64, stops the start naming the field.
 */
export function resolveWebhookTargets(topology: Topology, env: NodeJS.ProcessEnv): ReadonlyMap<string, WebhookTarget> {
  const problems: string[] = [];
  const targets = new Map<string, WebhookTarget>();
  topology.config.organisations.forEach((org, i) => {
    if (!org.webhook) return;
    const field = `organisations.${i}.webhook.secret`;
    let secret: string | undefined = org.webhook.secret;
    if (secret.startsWith('env:')) {
      const name = secret.slice(4);
      secret = env[name];
      if (!secret) {
        problems.push(`${field}: environment variable ${name} is not set`);
        return;
      }
    }
    try {
      targets.set(org.id, { orgId: org.id, url: org.webhook.url, key: decodeSecret(secret) });
    } catch (err) {
      problems.push(`${field}: ${(err as Error).message}`);
    }
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return targets;
}
