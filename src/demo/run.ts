/**
 * `lotse demo`: a Lotse (its own, or a running one), the desks of all
 * sixteen Länder and the provider simulators, one progress line, and a clean
 * stop on Ctrl-C.
 */
import { pino, type Logger } from 'pino';
import { DEFAULT_REDIS_URL, loadConfig } from '../config/env.js';
import { loadTopology } from '../config/topology-file.js';
import type { Topology } from '../domain/topology.js';
import { answers } from '../embedded-redis.js';
import { createLogger } from '../logger.js';
import { createApiClient, type ApiClient } from './api-client.js';
import { makePartOf } from './desk-policy.js';
import { startDeskSim, type DeskSim } from './desks.js';
import { createTicketGenerator } from './generator.js';
import { connectToLotse, isLoopbackUrl, startEmbeddedLotse, type LotseTarget } from './lotse-target.js';
import { DemoError, formatWorkday, parseDemoArgs, parseDemoKeys, type DemoOptions } from './options.js';
import { createProgressWriter, readStats, renderProgress, type ApiCounts } from './progress.js';
import { startProviderSims, type ProviderSims } from './providers.js';
import { cleanDemo } from './clean.js';
import { DEMO_PREFIX, DEMO_WEBHOOK_ENV, demoReceivedAt, demoTopology, FAILING_PROVIDER, SLOW_PROVIDER, startFailingEndpoint } from './demo-setup.js';

const PROGRESS_MS = 500;
const PLAIN_PROGRESS_MS = 2000;
const STATS_MS = 2000;

function findLandDesks(topology: Topology): Map<string, string> {
  const desks = new Map<string, string>();
  for (const org of topology.orgs.values()) if (org.kind === 'service-desk' && org.land && !desks.has(org.land)) desks.set(org.land, org.id);
  return desks;
}

export async function runDemo(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const options = parseDemoArgs(args);
  // Its own Lotse keeps the demo's keys apart (lotse-demo) unless LOTSE_PREFIX says otherwise; a running one has its own.
  if (!options.against && !env.LOTSE_PREFIX) env = { ...env, LOTSE_PREFIX: DEMO_PREFIX };
  const config = loadConfig(env);
  if (options.clean) return cleanDemo(config, options.force);
  const fileTopology = loadTopology(config.topologyPath);
  // Its own Lotse runs the demo policy, a failing webhook endpoint and quick retries; a running Lotse keeps its own.
  const failing = options.against ? undefined : await startFailingEndpoint();
  const topology = options.against ? fileTopology : demoTopology(fileTopology, failing?.url);
  if (!options.against) env = { ...DEMO_WEBHOOK_ENV, ...env };
  const demoKeys = parseDemoKeys(env.LOTSE_DEMO_KEYS);
  // Logs go to stderr, quiet unless asked: stdout is the progress line's.
  const logger = createLogger(env.LOG_LEVEL ? config.logLevel : 'warn', pino.destination(2));
  const operations = topology.config.tickets.operations ?? 'ops-bremen';
  const desks = findLandDesks(topology);

  const keysFor = (devKeys: boolean) => (orgId: string) => demoKeys.get(orgId) ?? (devKeys ? `dev-${orgId}` : undefined);
  const checkKeys = (keyFor: (orgId: string) => string | undefined) => {
    const missing = [operations, ...desks.values()].filter((org) => keyFor(org) === undefined);
    if (missing.length > 0) throw new DemoError(2, `LOTSE_DEMO_KEYS: no key for ${missing.join(', ')} (dev keys are accepted on loopback only)`);
  };
  // A running Lotse elsewhere: the keys are known before anything is contacted.
  if (options.against) checkKeys(keysFor(isLoopbackUrl(options.against)));

  let lotse: LotseTarget;
  try {
    lotse = options.against
      ? await connectToLotse(options.against)
      : await startEmbeddedLotse(config, topology, logger, options.port ?? config.port, env);
  } catch (err) {
    await failing?.close();
    throw err;
  }
  let sims: ProviderSims | undefined;
  try {
    const keyFor = keysFor(lotse.devKeys);
    checkKeys(keyFor);
    const api = createApiClient(lotse.url, keyFor);
    await checkAccess(api, operations);
    sims = await startProviders(options, topology, lotse, config.prefix, config.redisUrl ?? DEFAULT_REDIS_URL, logger, keyFor);
    printHeader(options, topology, lotse, sims, keyFor(operations) === `dev-${operations}` ? `dev-${operations}` : `der Schlüssel von ${operations} aus LOTSE_DEMO_KEYS`, config.prefix);
    const deskSim = startDeskSim({
      api,
      generator: createTicketGenerator({ seed: options.seed, lands: [...topology.lands.values()], services: [...topology.services.keys()], perWorkday: options.volume }),
      speed: options.speed,
      maxOpen: options.maxOpen,
      maxTickets: options.maxTickets,
      runTag: Date.now().toString(36),
      partOf: makePartOf(topology),
      deskOf: (land) => desks.get(land)!,
      ...(options.against ? {} : { receivedAt: demoReceivedAt(topology, options.seed, (land) => desks.get(land)!) }),
      logger,
    });
    const progress = showProgress(deskSim, api, operations);
    closeOnSignals(logger, config.shutdownTimeoutMs, options.durationMs, async () => {
      progress.stop();
      await deskSim.stop(config.shutdownTimeoutMs);
      await sims?.close();
      await lotse.close();
      await failing?.close();
      console.log(`Demo beendet: ${renderProgress({ officeMs: deskSim.officeNow(), counters: deskSim.counters, api: undefined, capped: undefined })}`);
    });
  } catch (err) {
    await sims?.close();
    await lotse.close();
    await failing?.close();
    throw err;
  }
}

async function checkAccess(api: ApiClient, operations: string): Promise<void> {
  const res = await api.call(operations, 'GET', '/v1/tickets?limit=1');
  if (res.status === 401 || res.status === 403) throw new DemoError(2, `Lotse at ${api.url} refuses the key of ${operations} (${res.status}): set LOTSE_DEMO_KEYS`);
  if (res.status !== 200) throw new DemoError(1, `Lotse at ${api.url} answered ${res.status} to GET /v1/tickets`);
}

async function startProviders(
  options: DemoOptions, topology: Topology, lotse: LotseTarget, prefix: string, redisUrl: string, logger: Logger, keyFor: (org: string) => string | undefined,
): Promise<ProviderSims | undefined> {
  const common = { topology, prefix, logger, seed: options.seed, speed: options.speed };
  if (lotse.redisUrl) return startProviderSims({ ...common, redisUrl: lotse.redisUrl, ...(topology.orgs.has(SLOW_PROVIDER) ? { slow: SLOW_PROVIDER } : {}) });
  // A running Lotse: the providers read their queues in its Redis and answer over HTTP.
  if (!(await answers(redisUrl))) {
    console.log(`Keine Provider-Simulatoren: Redis unter ${redisUrl.replace(/\/\/[^@/]*@/, '//***@')} antwortet nicht (REDIS_URL und LOTSE_PREFIX wie beim laufenden Lotse setzen).`);
    return undefined;
  }
  return startProviderSims({ ...common, redisUrl, api: { url: lotse.url, keyFor } });
}

function printHeader(options: DemoOptions, topology: Topology, lotse: LotseTarget, sims: ProviderSims | undefined, loginKey: string, topologyPrefix: string): void {
  const lines = [
    `Lotse-Demo: ${topology.lands.size} Länder, ${topology.services.size} Dienste, ${sims?.orgs.length ?? 0} Provider-Simulatoren; Tempo ${options.speed}× (ein Arbeitstag von 10 h dauert ${formatWorkday(options.speed)}), Seed ${options.seed}`,
    options.against ? `Lotse: ${lotse.url} (läuft bereits)` : `Lotse: ${lotse.url} (eingebettet, alle Worker; Demo-Richtlinie mit kurzen SLA-Fristen, Präfix ${topologyPrefix})`,
    ...(options.against ? [] : [`Absichtlich gestört: ${topology.orgs.get(SLOW_PROVIDER)?.name ?? SLOW_PROVIDER} bestätigt Übergaben spät, der Webhook von ${topology.orgs.get(FAILING_PROVIDER)?.name ?? FAILING_PROVIDER} schlägt fehl`]),
    `Dashboard: ${lotse.url}/dashboard`,
    `Anmelden mit dem Schlüssel: ${loginKey}`,
    'Beenden mit Strg+C.',
  ];
  console.log(lines.join('\n'));
}

/** The live line, with Lotse's own counts from GET /v1/stats where it has them, else the demo's. */
function showProgress(deskSim: DeskSim, api: ApiClient, operations: string) {
  const writer = createProgressWriter(process.stdout, PLAIN_PROGRESS_MS);
  let apiCounts: ApiCounts | undefined;
  let statsGone = false;
  let statsBusy = false;
  const pollStats = async () => {
    if (statsGone || statsBusy) return;
    statsBusy = true;
    try {
      const res = await api.call(operations, 'GET', '/v1/stats');
      if (res.status === 404) statsGone = true;
      else if (res.status === 200) apiCounts = readStats(res.body);
    } catch {
      // The next poll tries again; the line shows the demo's own counts meanwhile.
    } finally {
      statsBusy = false;
    }
  };
  void pollStats();
  const stats = setInterval(() => void pollStats(), STATS_MS);
  const line = setInterval(
    () => writer.update(renderProgress({ officeMs: deskSim.officeNow(), counters: deskSim.counters, api: apiCounts, capped: deskSim.capped() }, writer.width())),
    PROGRESS_MS,
  );
  return {
    stop() {
      clearInterval(stats);
      clearInterval(line);
      writer.finish();
    },
  };
}

/** SIGINT, SIGTERM or the end of `--duration` stop everything once, within the deadline, then exit 0; past it, exit 1. */
function closeOnSignals(logger: Logger, timeoutMs: number, durationMs: number | undefined, close: () => Promise<void>): void {
  let closing = false;
  const shutdown = async (reason: string) => {
    if (closing) return;
    closing = true;
    logger.info({ reason }, 'demo stopping');
    const force = setTimeout(() => {
      logger.error('demo shutdown took too long; exiting');
      process.exit(1);
    }, timeoutMs + 5000).unref();
    try {
      await close();
    } catch (err) {
      logger.error({ err }, 'demo shutdown failed');
      process.exit(1);
    }
    clearTimeout(force);
    logger.flush?.();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  if (durationMs !== undefined) setTimeout(() => void shutdown('duration'), durationMs).unref();
}
