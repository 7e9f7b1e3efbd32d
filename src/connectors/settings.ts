import { z } from 'zod';
import { ConfigError } from '../config/env.js';
import type { ConnectorConfig } from '../domain/connector-config.js';
import type { Topology } from '../domain/topology.js';
import type { Connector } from './connector.js';
import { createRtConnector } from './rt.js';

/** An organisation's connector, its token resolved: what the connector worker works with. */
export interface ConnectorTarget {
  orgId: string;
  config: ConnectorConfig;
  connector: Connector & { whoAmI(remoteId: string): Promise<string> };
}

export interface ConnectorSettings {
  /** Ceiling of the first retry's delay, and of any one delay. */
  backoff: { baseMs: number; capMs: number };
  /** Attempts per outbound change; by default enough for the retries to span a day. */
  attempts: number;
  timeoutMs: number;
}

const DAY_MS = 86_400_000;

const EnvSchema = z.object({
  LOTSE_CONNECTOR_BACKOFF_MS: z.coerce.number().int().min(1).default(30_000),
  LOTSE_CONNECTOR_BACKOFF_CAP_MS: z.coerce.number().int().min(1).default(3_600_000),
  LOTSE_CONNECTOR_ATTEMPTS: z.coerce.number().int().min(1).max(1000).optional(),
  LOTSE_CONNECTOR_TIMEOUT_MS: z.coerce.number().int().min(1).default(15_000),
});

/** The wait before retry number `retry` (1 = the first): exponential, capped, with equal jitter (half of it certain). */
export function connectorBackoff(retry: number, policy: { baseMs: number; capMs: number }, random: () => number = Math.random): number {
  const ceiling = retry < 1 ? 0 : Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(retry - 1, 60));
  return Math.floor(ceiling / 2 + (Math.min(Math.max(random(), 0), 1 - Number.EPSILON) * ceiling) / 2);
}

/** Attempts whose certain waits add up to at least `spanMs`. */
function attemptsToSpan(spanMs: number, policy: { baseMs: number; capMs: number }): number {
  let attempts = 1;
  for (let total = 0; total < spanMs; attempts += 1) total += Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempts - 1, 60)) / 2;
  return attempts;
}

/** Connector settings from the environment; one error names every wrong variable. */
export function loadConnectorSettings(env: NodeJS.ProcessEnv): ConnectorSettings {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  const e = parsed.data;
  const backoff = { baseMs: e.LOTSE_CONNECTOR_BACKOFF_MS, capMs: Math.max(e.LOTSE_CONNECTOR_BACKOFF_CAP_MS, e.LOTSE_CONNECTOR_BACKOFF_MS) };
  return Object.freeze({ backoff, attempts: e.LOTSE_CONNECTOR_ATTEMPTS ?? attemptsToSpan(DAY_MS, backoff), timeoutMs: e.LOTSE_CONNECTOR_TIMEOUT_MS });
}

/**
 * Every organisation's connector, resolved once at start: a token variable
 * that is not set stops the start naming the field.
 */
export function resolveConnectors(topology: Topology, env: NodeJS.ProcessEnv, settings: Pick<ConnectorSettings, 'timeoutMs'>): ReadonlyMap<string, ConnectorTarget> {
  const problems: string[] = [];
  const targets = new Map<string, ConnectorTarget>();
  topology.config.organisations.forEach((org, i) => {
    if (!org.connector) return;
    const name = org.connector.token.slice(4);
    const token = env[name];
    if (!token) {
      problems.push(`organisations.${i}.connector.token: environment variable ${name} is not set`);
      return;
    }
    const c = org.connector;
    targets.set(org.id, { orgId: org.id, config: c, connector: createRtConnector({ url: c.url, token, queue: c.queue, customField: c.customField, timeoutMs: settings.timeoutMs }) });
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return targets;
}
