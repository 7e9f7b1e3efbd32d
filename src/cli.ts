#!/usr/bin/env node
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { ConfigError, DEFAULT_REDIS_URL, loadConfig, type Config } from './config/env.js';
import { isLoopback, PrincipalConfigError } from './config/principals.js';
import { defaultTopologyDocument, loadTopology, TopologyError } from './config/topology-file.js';
import { NoRedisError, resolveRedis, type ResolvedRedis } from './embedded-redis.js';
import { handsOffTo } from './domain/routing.js';
import { DemoError, runDemo } from './demo/index.js';
import { createLogger } from './logger.js';
import { runProviderSim } from './provider/sim.js';
import { redisCredentials } from './config/redis-url.js';
import { formatAclFile, formatSetUser, RedisAclError, redisAclUsers } from './queue/acl.js';
import { createRedis, connected } from './queue/connections.js';
import { checkRedis } from './redis-check.js';
import { createRuntime, WORKER_ROLES, type WorkerRole } from './runtime.js';

const USAGE = `lotse <command>

  start                      the HTTP API and every worker in one process
  api                        the HTTP API only
  worker [--roles a,b,...] [--partitions 0,2]
                             workers only (roles: ${WORKER_ROLES.join(', ')}); with
                             LOTSE_PARTITIONS > 1, --partitions names the partitions whose own
                             intake, events, sla, relay and feed workers this process runs (default all)
  config default             print the built-in topology as JSON
  config check FILE          validate a topology file; lists every wrong field
  redis-acl [--format aclfile|setuser]
                             the Redis users: Lotse's own (user and password from
                             REDIS_URL) and one per organisation with queues: in the
                             topology (password from LOTSE_REDIS_PASSWORD_<ORG>), as an
                             ACL file or ACL SETUSER lines (docs/operations/redis-acl.md)
  provider-sim --org ORG [--seed N] [--delay MS] [--info-chance 0..1] [--api URL] [--own-queue]
                             an IT provider built on the provider kit: takes ORG's
                             handoffs, sends receipts, answers after about MS ms
                             (--own-queue: on events-ORG, as ORG's own Redis user in REDIS_URL)
  demo [--against URL] [--port N] [--speed N] [--seed N] [--volume N]
       [--max-open N] [--max-tickets N] [--duration 10m]
                             Lotse (embedded, or a running one at URL) with simulated
                             desks of all 16 Länder and the providers; the dashboard
                             moves within seconds (keys: LOTSE_DEMO_KEYS, dev keys on loopback)
  demo --clean [--force]     remove the demo's keys (LOTSE_PREFIX, default lotse-demo) from
                             Redis, nothing else; a prefix without "demo" only with --force

Environment: REDIS_URL, PORT, HOST, LOTSE_CONFIG, LOTSE_PREFIX, LOTSE_PARTITIONS, LOG_LEVEL, LOTSE_METRICS_PATH, LOTSE_METRICS_PORT (see docs/reference/configuration.md).`;

/** Exit codes: 0 fine, 1 cannot run (Redis), 2 bad configuration or usage. */
class Exit extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return serve({ api: true, roles: [...WORKER_ROLES], embedded: true });
    case 'api':
      return serve({ api: true, roles: [], embedded: false });
    case 'worker': {
      const { values } = parseArgs({ args: rest, options: { roles: { type: 'string' }, partitions: { type: 'string' } } });
      const roles = values.roles ? values.roles.split(',').map((r) => r.trim()) : [...WORKER_ROLES];
      const unknown = roles.filter((r) => !(WORKER_ROLES as readonly string[]).includes(r));
      if (unknown.length > 0) throw new Exit(2, `unknown worker role ${unknown.join(', ')}; known: ${WORKER_ROLES.join(', ')}`);
      const partitions = values.partitions === undefined ? undefined : values.partitions.split(',').map((p) => p.trim());
      const notNumbers = (partitions ?? []).filter((p) => !/^\d{1,2}$/.test(p));
      if (partitions?.length === 0 || notNumbers.length > 0) throw new Exit(2, `--partitions: partition numbers separated by commas, such as 0,2 (not ${notNumbers.join(', ') || 'empty'})`);
      return serve({ api: false, roles: roles as WorkerRole[], embedded: false, ...(partitions ? { partitions: partitions.map(Number) } : {}) });
    }
    case 'config':
      return configCommand(rest);
    case 'provider-sim':
      return providerSim(rest);
    case 'redis-acl':
      return redisAcl(rest);
    case 'demo':
      return runDemo(rest);
    case undefined:
    case '--help':
    case 'help':
      console.log(USAGE);
      return;
    default:
      throw new Exit(2, `unknown command ${command}\n\n${USAGE}`);
  }
}

function configCommand(args: string[]): void {
  const [sub, file] = args;
  if (sub === 'default') {
    console.log(JSON.stringify(defaultTopologyDocument(), null, 2));
    return;
  }
  if (sub === 'check' && file) {
    const topology = loadTopology(file);
    console.log(`${file}: valid (${topology.lands.size} Länder, ${topology.orgs.size} organisations, ${topology.services.size} services)`);
    return;
  }
  throw new Exit(2, 'usage: lotse config default | lotse config check FILE');
}

/** Prints the ACL users; only password hashes, never a password. */
function redisAcl(args: string[]): void {
  const { values } = parseArgs({ args, options: { format: { type: 'string', default: 'aclfile' } } });
  if (values.format !== 'aclfile' && values.format !== 'setuser') throw new Exit(2, `--format: ${values.format} is not aclfile or setuser`);
  const config = loadConfig(process.env);
  const topology = loadTopology(config.topologyPath);
  const users = redisAclUsers({ topology, prefix: config.prefix, partitions: config.partitions, lotse: redisCredentials(config.redisUrl ?? DEFAULT_REDIS_URL), env: process.env });
  process.stdout.write(values.format === 'setuser' ? formatSetUser(users) : formatAclFile(users));
}

/**
 * The key provider-sim answers with over HTTP: LOTSE_PROVIDER_KEY (never an
 * argument: arguments show in the process list), else on a loopback address
 * the development key `dev-<org>`.
 */
function providerKey(api: string, org: string): string {
  let url: URL;
  try {
    url = new URL(api);
  } catch {
    throw new Exit(2, `--api: not a URL: ${api}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Exit(2, `--api: not an http(s) URL: ${api}`);
  const key = process.env.LOTSE_PROVIDER_KEY;
  if (key) return key;
  // URL keeps an IPv6 host in brackets: [::1].
  if (isLoopback(url.hostname.replace(/^\[(.*)\]$/, '$1'))) return `dev-${org}`;
  throw new Exit(2, '--api: set LOTSE_PROVIDER_KEY to the provider\'s API key (dev keys work on loopback only)');
}

async function providerSim(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { org: { type: 'string' }, seed: { type: 'string' }, delay: { type: 'string' }, 'info-chance': { type: 'string' }, api: { type: 'string' }, 'own-queue': { type: 'boolean' } } });
  const number = (name: string, value: string | undefined, ok: (n: number) => boolean) => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isFinite(n) || !ok(n)) throw new Exit(2, `--${name}: not a valid value: ${value}`);
    return n;
  };
  const config = loadConfig(process.env);
  const topology = loadTopology(config.topologyPath);
  if (!values.org) throw new Exit(2, 'usage: lotse provider-sim --org ORG [--seed N] [--delay MS] [--info-chance 0..1] [--api URL]');
  if (!handsOffTo(topology, values.org)) throw new Exit(2, `--org: ${values.org} is not an IT provider or vendor desk of the topology`);
  const api = values.api === undefined ? undefined : { url: values.api, key: providerKey(values.api, values.org) };
  const logger = createLogger(config.logLevel);
  const seed = number('seed', values.seed, Number.isInteger) ?? Date.now();
  const sim = runProviderSim({
    orgId: values.org,
    redisUrl: config.redisUrl ?? DEFAULT_REDIS_URL,
    prefix: config.prefix,
    logger,
    seed,
    delayMs: number('delay', values.delay, (n) => n >= 0),
    infoChance: number('info-chance', values['info-chance'], (n) => n >= 0 && n <= 1),
    ...(api ? { api } : {}),
    ...(values['own-queue'] ? { answersQueue: 'own' as const } : {}),
  });
  await sim.kit.worker.waitUntilReady();
  logger.info({ org: values.org, seed, prefix: config.prefix, redis: redact(config.redisUrl ?? DEFAULT_REDIS_URL), answers: api ? `http ${api.url}` : values['own-queue'] ? `events-${values.org} queue` : 'events queue' }, 'provider-sim running');
  closeOnSignals(logger, config.shutdownTimeoutMs, () => sim.close());
}

async function serve(mode: { api: boolean; roles: WorkerRole[]; embedded: boolean; partitions?: number[] }): Promise<void> {
  const config = loadConfig(process.env);
  const topology = loadTopology(config.topologyPath);
  const logger = createLogger(config.logLevel);
  const redis = await findRedis(config, mode.embedded, (msg) => logger.info(msg));
  try {
    const probe = createRedis(redis.url, 'producer', `${config.prefix}-probe`);
    probe.on('error', () => undefined);
    try {
      await connected(probe).catch(() => {
        throw new Exit(1, `Redis at ${redis.url} does not answer: ${process.env.REDIS_URL ? 'start it, or correct REDIS_URL' : 'start it, or set REDIS_URL'}.`);
      });
      const problem = await checkRedis(probe);
      if (problem) throw new Exit(1, problem);
    } finally {
      probe.disconnect();
    }

    const runtime = await createRuntime({ config, redisUrl: redis.url, topology, logger, ...(mode.partitions ? { partitions: mode.partitions } : {}) }).catch((err: Error) => {
      // A partition this deployment does not have, or a lowered count: a usage error, named.
      if (/^partitions: /.test(err.message)) throw new Exit(2, err.message);
      throw err;
    });
    if (runtime.principals.devKeys && mode.api) {
      logger.warn('DEVELOPMENT KEYS ARE ON: no principals are configured, so dev-<orgId> keys (dev-desk-HB, dev-dataport, dev-ops-bremen, …) are accepted on this loopback address. Configure principals before anyone else can reach this port.');
    } else if (mode.api && topology.config.principals.length === 0) {
      throw new Exit(2, `No principals configured and HOST ${config.host} is not a loopback address: configure principals (API keys) in the topology first.`);
    }
    // From here on a signal closes whatever has started: a SIGTERM that comes while Lotse starts (its
    // port may already answer) still ends in a clean close, never in the default kill.
    const started: { app?: Awaited<ReturnType<typeof runtime.buildApp>>; metrics?: Awaited<ReturnType<typeof runtime.listenMetrics>> } = {};
    closeOnSignals(logger, config.shutdownTimeoutMs, async () => {
      await started.metrics?.close();
      await started.app?.close();
      await runtime.close();
      await redis.stop?.();
    });
    await runtime.startWorkers(mode.roles);
    const app = mode.api ? await runtime.buildApp() : undefined;
    started.app = app;
    if (app) await app.listen({ port: config.port, host: config.host });
    const metrics = await runtime.listenMetrics({ api: mode.api });
    started.metrics = metrics;
    if (metrics) logger.info({ url: metrics.url }, 'metrics listening');
    logger.info({ roles: mode.roles, api: mode.api, redis: redact(redis.url), prefix: config.prefix, ...(runtime.layout.count > 1 ? { partitions: mode.partitions ?? 'all', of: runtime.layout.count } : {}) }, 'lotse running');
  } catch (err) {
    await redis.stop?.();
    throw err;
  }
}

async function findRedis(config: Config, embedded: boolean, log: (m: string) => void): Promise<ResolvedRedis> {
  if (!embedded) return { url: config.redisUrl ?? DEFAULT_REDIS_URL };
  try {
    return await resolveRedis(config.redisUrl, config.dataDir, log);
  } catch (err) {
    if (err instanceof NoRedisError) throw new Exit(1, err.message);
    throw err;
  }
}

/** SIGTERM and SIGINT close everything once, within the deadline, then exit 0; past it, exit 1. */
function closeOnSignals(logger: Logger, timeoutMs: number, close: () => Promise<void>): void {
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, timeoutMs + 5000).unref();
    await close();
    clearTimeout(force);
    logger.flush?.();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

const redact = (url: string) => url.replace(/\/\/[^@/]*@/, '//***@');

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof Exit || err instanceof DemoError) {
    console.error(err.message);
    process.exit(err.code);
  }
  if (err instanceof TopologyError || err instanceof ConfigError || err instanceof PrincipalConfigError || err instanceof RedisAclError) {
    console.error(err.message);
    process.exit(2);
  }
  console.error(err);
  process.exit(1);
});

