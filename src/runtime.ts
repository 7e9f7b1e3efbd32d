import { hostname } from 'node:os';
import type { RedisClient } from './queue/connections.js';
import type { Logger } from 'pino';
import { createSlaWorker } from '../workers/sla.worker.js';
import { createEventsWorker } from '../workers/events.worker.js';
import { createIntakeWorker } from '../workers/intake.worker.js';
import { createWebhookWorker } from '../workers/webhook.worker.js';
import { createConnectorWorker } from '../workers/connector.worker.js';
import { loadConnectorSettings, resolveConnectors } from './connectors/settings.js';
import { createConnectorStore, partitionedConnectorStore } from './store/connector-store.js';
import { createBacklogWorker, createFeedReaderLoop } from '../workers/backlog.worker.js';
import { createBacklogEngine, createBacklogFeed, itemIdFor, type BacklogEngine } from './engine/backlog/index.js';
import { partitionedBacklogEngine } from './engine/backlog/partitioned.js';
import { createBacklogStore } from './store/backlog-store.js';
import { makeBacklogListing } from './store/backlog-listing.js';
import { makeCandidateFinder } from './store/backlog-index.js';
import { makeLocks } from './store/locks.js';
import { createFeedReader, makeRecurringWindow, partitionedWindow } from './store/recurring-window.js';
import { backlogRoutes } from './http/routes/backlog.js';
import { reportRoutes } from './http/routes/reports.js';
import { createRetentionWorker } from '../workers/retention.worker.js';
import type { KitWorker } from '../workers/worker-kit.js';
import { createRetention, partitionedRetention } from '../workers/retention.js';
import type { Config } from './config/env.js';
import { createPrincipalResolver, isLoopback, type PrincipalResolver } from './config/principals.js';
import { PRIORITIES, type Topology } from './domain/topology.js';
import { createTicketEngine, externalRefIndex, mergedLister, newTicketId, partitionedTicketEngine, storeLister, type AppliedEvent, type TicketEngine } from './engine/ticket/index.js';
import { createExecutors } from './engine/index.js';
import { createOutboxRelay } from '../workers/relay.worker.js';
import { buildApp, type App } from './http/app.js';
import { deadLetterRoutes } from './http/routes/dead-letters.js';
import { erasureRoutes } from './http/routes/erasure.js';
import type { ReadinessCheck } from './http/routes/health.js';
import { createMetrics, listenMetrics, metricsRoute, type Metrics, type MetricsListener } from './metrics/index.js';
import { connected, createRedis } from './queue/connections.js';
import { createJobPresence } from './queue/job-presence.js';
import { ownQueues } from './queue/names.js';
import { createQueues, type Queues } from './queue/queues.js';
import { createChartSamples } from './store/chart-samples.js';
import { createDeadLetterStore } from './store/dead-letters.js';
import { createIdempotencyStore } from './store/idempotency.js';
import { makeKeys, type Keys } from './store/keys.js';
import { liveMembers, recordBeats, removeBeats } from './store/heartbeats.js';
import { createMetricFigures, mergedMetricFigures } from './store/metric-figures.js';
import { createRelayOutbox } from './store/outbox.js';
import { createRateCounters } from './store/rate-counters.js';
import { backfillRefIndex, createReadModel, mergedReadModel, migrateActiveCounters } from './store/read-model.js';
import { createRetentionScan } from './store/retention-scan.js';
import { createSessionStore } from './store/sessions.js';
import { createTicketStore } from './store/ticket-store.js';
import { createDeadLetters } from './webhooks/dead-letters.js';
import { BOARD_DOCS, bullBoardRoutes } from './dashboard/bull-board.js';
import { createOverview } from './dashboard/overview.js';
import { dashboardRoutes } from './dashboard/routes.js';
import { sessionAdminRoutes } from './dashboard/access-routes.js';
import { createSampler } from './dashboard/sampler.js';
import { createSessions } from './dashboard/sessions.js';
import { createStatsReader } from './dashboard/stats-reader.js';
import { statsRoutes } from './http/routes/stats.js';
import { streamRoutes } from './http/routes/stream.js';
import { createEventHub, partitionedStream } from './store/event-hub.js';
import { resolvePartitions } from './store/partitions.js';
import { idInPartition, makeLayout, type PartitionLayout } from './domain/partitions.js';
import { PARTITIONED_QUEUES, queueReaders } from './queue/partitioned.js';
import { loadWebhookSettings, resolveWebhookTargets } from './webhooks/settings.js';
import { createMailRoom, mailRoomSettings, type MailRoom } from '../workers/mail-room.js';
import { mailRoutes } from './http/routes/mail.js';
import { createMailStore } from './store/mail-store.js';

export const WORKER_ROLES = ['intake', 'events', 'sla', 'relay', 'webhook', 'backlog', 'retention', 'mail', 'connector'] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];

/** The roles whose workers serve partitions (`lotse worker --partitions`): each partition's queues, outbox and feed. */
const PARTITIONED_ROLES: readonly WorkerRole[] = ['intake', 'events', 'sla', 'relay', 'backlog'];

const HEARTBEAT_MS = 5000;
const HEARTBEAT_STALE_MS = 3 * HEARTBEAT_MS;
/** A heartbeat this old belongs to a process that is gone: removed from `<prefix>:hb`. */
export const HEARTBEAT_GONE_MS = 12 * HEARTBEAT_MS;

export interface RuntimeOptions {
  config: Config;
  redisUrl: string;
  topology: Topology;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
  /** The partitions whose own workers (intake, events, sla, relay, the backlog feed's reader) this process runs: all by default (`lotse worker --partitions`). */
  partitions?: readonly number[];
}

export interface Runtime {
  config: Config;
  /** The deployment's keys: partition 0's, and everything that is not a ticket's. */
  keys: Keys;
  /** Where the partitions are (LOTSE_PARTITIONS): their prefixes, and which one a Land and a ticket id belong to. */
  layout: PartitionLayout;
  engine: TicketEngine;
  backlog: BacklogEngine;
  queues: Queues;
  principals: PrincipalResolver;
  redis: RedisClient;
  metrics: Metrics;
  startWorkers(roles: readonly WorkerRole[]): Promise<void>;
  buildApp(): Promise<App>;
  /**
   * Metrics on their own port when LOTSE_METRICS_PORT names one other than
   * the API's (else the API serves them and this answers undefined). A
   * process without the API serves only its own figures there.
   */
  listenMetrics(opts: { api: boolean }): Promise<MetricsListener | undefined>;
  close(): Promise<void>;
}

/** Wires one Lotse process: connections, store, engine, and the workers and API it was asked to run. */
export async function createRuntime(o: RuntimeOptions): Promise<Runtime> {
  const { config, topology, logger } = o;
  const now = o.now ?? Date.now;
  const keys = makeKeys(config.prefix);
  // Before any connection opens: a missing key variable must not leave one behind.
  const principals = createPrincipalResolver(topology, o.env ?? process.env, { loopback: isLoopback(config.host) });
  const webhookTargets = resolveWebhookTargets(topology, o.env ?? process.env);
  const webhookSettings = loadWebhookSettings(o.env ?? process.env);
  // Mail (workers/mail-room.ts): settings checked before any connection opens.
  const mailSettings = mailRoomSettings(topology, o.env ?? process.env);
  const connectorSettings = loadConnectorSettings(o.env ?? process.env);
  const connectorTargets = resolveConnectors(topology, o.env ?? process.env, connectorSettings);
  const redis = createRedis(o.redisUrl, 'producer', `${config.prefix}-store`, { commandTimeoutMs: config.redisCommandTimeoutMs });
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  await connected(redis);
  // Partitions (LOTSE_PARTITIONS): partition 0 is the prefix itself; the others' prefixes are chosen once and remembered.
  const partitions = await resolvePartitions(redis, config.prefix, config.partitions);
  const layout = makeLayout(partitions.prefixes, partitions.earlierCounts);
  const served = o.partitions ?? layout.prefixes.map((_, p) => p);
  const bad = served.filter((p) => !Number.isInteger(p) || p < 0 || p >= layout.count);
  if (bad.length > 0) {
    redis.disconnect();
    throw new Error(`partitions: ${bad.join(', ')} not among this deployment's ${layout.count} (0 to ${layout.count - 1})`);
  }
  // The queues' producer connection, apart from the store's: BullMQ defines its ~50 scripts on the connection it is
  // given, and ioredis copies every defined script into each pipeline it makes, the store's automatic ones too.
  const queueRedis = createRedis(o.redisUrl, 'producer', `${config.prefix}-queues`, { commandTimeoutMs: config.redisCommandTimeoutMs });
  queueRedis.on('error', (err) => logger.warn({ err: err.message }, 'redis queue connection error'));
  // Ready before anything is queued: a producer's connection has no offline queue, and Lotse's own scripts on it
  // (the delayed timer's removal) would fail while it connects.
  await connected(queueRedis);
  const workerConnection = createRedis(o.redisUrl, 'worker', `${config.prefix}-worker`);
  workerConnection.on('error', (err) => logger.warn({ err: err.message }, 'redis worker connection error'));
  // On the worker connection, which has no command timeout: the one-time script must not be cut short by the client.
  const migrated = await migrateActiveCounters(workerConnection, keys, { lands: [...topology.lands.keys()], services: [...topology.services.keys()], priorities: PRIORITIES });
  if (migrated !== null) logger.info({ tickets: migrated }, 'active ticket counts rebuilt for stats:active; the index sets of an older Lotse are gone');
  // Once (`<prefix>:upgrade` remembers it): the tickets of a Lotse from before the search by desk reference into `ix:ref:<digest>`.
  const refIndexed = await backfillRefIndex(workerConnection, keys, (ref) => keys.index(externalRefIndex(ref)));
  if (refIndexed !== null) logger.info({ added: refIndexed }, 'tickets indexed by their desk reference (ix:ref) for GET /v1/tickets?externalRef=');
  // One cell per partition: its keys, queues, ticket store and engine. Partition 0's queues are the deployment's.
  let observeEvent: (change: AppliedEvent) => void = () => undefined;
  const cells = layout.prefixes.map((prefix, p) => {
    const cellKeys = p === 0 ? keys : makeKeys(prefix);
    const store = createTicketStore(redis, cellKeys, { eventsMaxLen: config.eventsMaxLen });
    const deps = {
      topology,
      store,
      idempotency: createIdempotencyStore(redis, cellKeys),
      keys: cellKeys,
      now,
      newId: (at: number) => idInPartition(newTicketId(at), p),
      source: `urn:lotse:${config.prefix}`,
      logger,
      onEventApplied: (change: AppliedEvent) => observeEvent(change),
    };
    return { p, prefix, keys: cellKeys, deps, engine: createTicketEngine(deps), lister: storeLister(store, cellKeys), queues: createQueues(queueRedis, prefix, logger) };
  });
  const queues = cells[0]!.queues;
  const readQueues = queueReaders(cells.map((c) => c.queues));
  const engine = partitionedTicketEngine({
    layout,
    topology,
    engines: cells.map((c) => c.engine),
    lists: createTicketEngine({ ...cells[0]!.deps, lister: mergedLister(cells.map((c) => c.lister), layout.ofId) }),
  });
  const connectorStore = partitionedConnectorStore(cells.map((c) => createConnectorStore(redis, c.prefix)), layout.ofId);
  const connectorHealth = () => connectorStore.health([...connectorTargets.keys()]);
  const metrics = createMetrics({
    topology,
    readFigures: mergedMetricFigures(cells.map((c) => createMetricFigures(redis, c.keys))),
    queue: readQueues.queue,
    connectorHealth,
    extra: () => mail.metrics(),
  });
  observeEvent = metrics.observeEvent;
  const metricsOnApi = config.metricsPort === undefined || config.metricsPort === config.port;
  // The backlog by service (LOTSE_PARTITIONS): each partition's items, listing sets and text index are its services'.
  const backlogCells = cells.map((c) => {
    const store = createBacklogStore(redis, c.keys);
    const deps = { topology, store, keys: c.keys, listing: makeBacklogListing(redis, c.keys), idempotency: createIdempotencyStore(redis, c.keys), now, source: `urn:lotse:${config.prefix}`, logger };
    return { deps, engine: createBacklogEngine(deps) };
  });
  const backlog = partitionedBacklogEngine({
    layout,
    engines: backlogCells.map((b) => b.engine),
    lists: createBacklogEngine({
      ...backlogCells[0]!.deps,
      listing: { read: async (sort, scope, from, count) => (await Promise.all(backlogCells.map((b) => b.deps.listing.read(sort, scope, from, count)))).flat() },
      store: { ...backlogCells[0]!.deps.store, loadMany: async (ids) => (await Promise.all(backlogCells.map((b, p) => b.deps.store.loadMany(ids.filter((id) => layout.ofId(id) === p))))).flat() },
    }),
  });
  const deadLetters = createDeadLetters({ store: createDeadLetterStore(redis, keys), queues, attempts: webhookSettings.attempts, mailAttempts: mailSettings.attempts, connectorAttempts: connectorSettings.attempts });
  const mail: MailRoom = createMailRoom({ settings: mailSettings, topology, engine, store: createMailStore(redis, config.prefix), queues, deadLetters, logger: logger.child({ role: 'mail' }), now });
  // The operators' view: read model, sessions, the one shared reader of the events stream, the charts' sampler.
  const readModel = mergedReadModel(cells.map((c) => createReadModel(redis, c.keys)));
  const sessions = createSessions({
    store: createSessionStore(redis, keys),
    principals,
    ttlSeconds: config.sessions.idleSeconds,
    maxSeconds: config.sessions.maxSeconds,
    throttle: { maxFailures: config.sessions.loginMaxFailures, windowSeconds: config.sessions.loginWindowSeconds },
    now,
  });
  const stats = createStatsReader({ readModel, topology, queues: readQueues, now });
  // One reader of each partition's events stream, merged (one Last-Event-ID holds a position in each).
  const hub = partitionedStream(cells.map((c) => createEventHub({
    redis,
    key: c.keys.events,
    logger,
    connect: () => {
      const conn = createRedis(o.redisUrl, 'worker', `${config.prefix}-stream${c.p === 0 ? '' : `-p${c.p}`}`);
      conn.on('error', (err) => logger.warn({ err: err.message }, 'redis stream connection error'));
      return conn;
    },
  })));
  const sampler = createSampler({ samples: createChartSamples(redis, keys, cells.map((c) => c.keys)), stats, logger, now });
  const overview = createOverview({ engine, topology, queues: readQueues, deadLetters, stats, sampler, now, connectorHealth });
  const workers: Pick<KitWorker, 'close'>[] = [];
  const stoppers: (() => Promise<void>)[] = [];
  const roles = new Set<WorkerRole>();
  const instance = `${hostname()}:${process.pid}`;
  let heartbeat: NodeJS.Timeout | undefined;

  /** `role@instance`; with partitions, a role that works per partition also beats as `role/<p>@instance` for each partition it serves. */
  function beatMembers(): string[] {
    const perPartition = layout.count > 1 ? [...roles].filter((r) => PARTITIONED_ROLES.includes(r)).flatMap((r) => served.map((p) => `${r}/${p}@${instance}`)) : [];
    return [...[...roles].map((r) => `${r}@${instance}`), ...perPartition];
  }

  async function beat() {
    if (roles.size === 0) return;
    // Whoever beats also drops the beats of processes gone for longer than HEARTBEAT_GONE_MS: the set holds live processes only.
    await recordBeats(redis, keys, beatMembers(), Date.now(), HEARTBEAT_GONE_MS).catch(() => undefined);
  }

  const workerDeps = { connection: workerConnection, prefix: config.prefix, logger, onReplaced: (queue: string) => metrics.workerReplaced(queue) };
  /** The partitions this process serves, with their queues' prefix. */
  const servedCells = cells.filter((c) => served.includes(c.p));
  const cellDeps = (c: (typeof cells)[number]) => ({ ...workerDeps, prefix: c.prefix, logger: c.p === 0 ? logger : logger.child({ partition: c.p }) });
  const starters: Record<WorkerRole, () => unknown> = {
    // The shared queues (one trusted Redis user; one per partition served), and each organisation's own (a Redis user of its own each).
    intake: () => {
      for (const c of servedCells) workers.push(createIntakeWorker({ ...cellDeps(c), engine, principals }, config.concurrency));
      for (const q of ownQueues(topology)) if (q.intake) workers.push(createIntakeWorker({ ...workerDeps, engine, principals }, config.concurrency, q.orgId));
    },
    events: () => {
      for (const c of servedCells) workers.push(createEventsWorker({ ...cellDeps(c), engine, principals }, config.concurrency));
      for (const q of ownQueues(topology)) workers.push(createEventsWorker({ ...workerDeps, engine, principals }, config.concurrency, q.orgId));
    },
    sla: () => {
      for (const c of servedCells) workers.push(createSlaWorker({ ...cellDeps(c), engine }, config.concurrency));
    },
    backlog: () => {
      const finders = cells.map((c) => makeCandidateFinder(redis, c.prefix));
      const feed = createBacklogFeed({
        topology,
        keys,
        // A service's text index and recurring-problem window are in its backlog's partition; its items' ids name that partition.
        findCandidates: (service, analysed) => finders[layout.ofService(service)]!(service, analysed),
        window: partitionedWindow(cells.map((c) => makeRecurringWindow(redis, c.keys)), layout.ofService),
        itemIdOf: (origin, service) => idInPartition(itemIdFor(origin), layout.ofService(service)),
        locks: makeLocks(redis),
        tickets: engine,
        backlog,
        now,
        logger,
      });
      workers.push(createBacklogWorker({ ...workerDeps, feed }, config.concurrency));
      // Each served partition's recurring-problem feed (`rfeed`, written by its commits), read in batches beside the queue.
      for (const c of servedCells) {
        const feedRedis = createRedis(o.redisUrl, 'worker', `${config.prefix}-backlog-feed${c.p === 0 ? '' : `-p${c.p}`}`);
        feedRedis.on('error', (err) => logger.warn({ err: err.message }, 'redis backlog feed connection error'));
        const reader = createFeedReaderLoop({
          reader: createFeedReader(feedRedis, c.keys, { consumer: instance, onError: (err) => logger.warn({ err: err.message }, 'backlog feed read connection error') }),
          feed,
          logger: logger.child({ role: 'backlog-feed', ...(c.p === 0 ? {} : { partition: c.p }) }),
          // Observations are not urgent: a dead worker's batch waits at least 5 s before another takes it over.
          claimIdleMs: Math.max(config.relayClaimIdleMs, 5000),
        });
        reader.start();
        stoppers.push(async () => {
          await reader.stop();
          feedRedis.disconnect();
        });
      }
    },
    webhook: () => workers.push(createWebhookWorker({ ...workerDeps, targets: webhookTargets, deadLetters, settings: webhookSettings, now }, config.concurrency)),
    connector: async () => {
      if (connectorTargets.size === 0) return;
      workers.push(createConnectorWorker({ ...workerDeps, targets: connectorTargets, store: connectorStore, engine, principals, deadLetters, settings: connectorSettings, now }, config.concurrency));
      await queues.scheduleConnectorPolls([...connectorTargets.values()].map((t) => ({ orgId: t.orgId, everyMs: t.config.pollSeconds * 1000 })));
    },
    retention: async () => {
      // Each partition's tickets by their own sets, outbox and stream; dead letters and the recurring window are the deployment's.
      const scans = cells.map((c) => createRetentionScan(redis, c.keys));
      const baseScan = scans[0]!;
      const basePresence = createJobPresence(redis, config.prefix);
      const parts = cells.map((c) => {
        // A ticket's recurring-window entry is in its service's partition: looked for in each.
        const forgetRecurringTicket = async (id: string) => {
          await Promise.all(scans.map((s) => s.forgetRecurringTicket(id)));
        };
        const scan = { ...scans[c.p]!, purgeDeliveries: baseScan.purgeDeliveries, forgetRecurringTicket };
        const onCell = (queue: string) => PARTITIONED_QUEUES.includes(queue);
        const cellPresence = createJobPresence(redis, c.prefix);
        return createRetention({
          scan,
          // A ticket's timer and intake job are on its partition's queues, its handoffs and deliveries on the deployment's.
          jobsPresent: async (jobs) => {
            const [own, rest] = await Promise.all([cellPresence(jobs.filter((j) => onCell(j.queue))), basePresence(jobs.filter((j) => !onCell(j.queue)))]);
            return jobs.map((j) => (onCell(j.queue) ? own.shift() : rest.shift()) ?? false);
          },
          queues: { queue: (name: string) => (onCell(name) ? c.queues : queues).queue(name) },
          engine,
          loadTicket: (id) => engine.findTicket(id),
          topology,
          now,
          logger: logger.child({ role: 'retention', ...(c.p === 0 ? {} : { partition: c.p }) }),
          connectors: connectorStore,
        });
      });
      workers.push(await createRetentionWorker({ ...workerDeps, retention: partitionedRetention(parts, layout.ofId), everyMs: config.retentionSweepMs }));
    },
    mail: () => mail.start({ ...workerDeps, logger: logger.child({ role: 'mail' }) }, config.concurrency),
    relay: () => {
      // One relay per served partition: its outbox, its stream, its timers; handoffs and deliveries to the deployment's queues.
      for (const c of servedCells) {
        const relayRedis = createRedis(o.redisUrl, 'worker', `${config.prefix}-relay${c.p === 0 ? '' : `-p${c.p}`}`);
        relayRedis.on('error', (err) => logger.warn({ err: err.message }, 'redis relay connection error'));
        const relay = createOutboxRelay({
          outbox: createRelayOutbox(relayRedis, c.keys, {
            consumer: instance,
            eventsMaxLen: config.eventsMaxLen,
            onError: (err) => logger.warn({ err: err.message }, 'relay read connection error'),
          }),
          executors: createExecutors(queues, now, { has: (orgId) => webhookTargets.has(orgId), attempts: webhookSettings.attempts }, mail.routing, { has: (orgId) => connectorTargets.has(orgId), attempts: connectorSettings.attempts }, c.queues),
          logger: logger.child({ role: 'relay', ...(c.p === 0 ? {} : { partition: c.p }) }),
          claimIdleMs: config.relayClaimIdleMs,
        });
        relay.start();
        stoppers.push(async () => {
          await relay.stop();
          relayRedis.disconnect();
        });
      }
    },
  };

  const readiness: ReadinessCheck[] = [
    // The store's connection and the queues' producer connection both answer.
    { name: 'redis', check: async () => (await Promise.all([redis.ping(), queueRedis.ping()])).every((answer) => answer === 'PONG') },
    {
      name: 'workers',
      check: async () => {
        const live = await liveMembers(redis, keys, Date.now() - HEARTBEAT_STALE_MS);
        const liveRoles = new Set(live.map((m) => m.split('@')[0]!.split('/')[0]));
        // Webhook workers are needed only where some organisation has a webhook; mail workers only where mail is configured; connector workers where some organisation has a connector.
        const missing = WORKER_ROLES.filter((r) => !liveRoles.has(r) && !(r === 'webhook' && webhookTargets.size === 0) && !(r === 'mail' && !mail.configured) && !(r === 'connector' && connectorTargets.size === 0));
        // With partitions, each partition needs its own workers of those roles somewhere.
        const liveParts = new Set(live.map((m) => m.split('@')[0]));
        const unserved = layout.count > 1 ? PARTITIONED_ROLES.flatMap((r) => layout.prefixes.map((_, p) => `${r}/${p}`)).filter((rp) => !liveParts.has(rp) && liveRoles.has(rp.split('/')[0]!)) : [];
        if (missing.length > 0) return { ok: false as const, reason: `missing roles: ${missing.join(', ')}` };
        return unserved.length === 0 || { ok: false as const, reason: `partitions without workers: ${unserved.join(', ')}` };
      },
    },
  ];

  return {
    config,
    keys,
    layout,
    engine,
    backlog,
    queues,
    principals,
    redis,
    metrics,
    async listenMetrics({ api }) {
      if (metricsOnApi || config.metricsPort === undefined) return undefined;
      return listenMetrics(metrics, { host: config.host, port: config.metricsPort, path: config.metricsPath, shared: api, logger });
    },
    async startWorkers(wanted) {
      for (const role of wanted) {
        if (roles.has(role)) continue;
        await starters[role]();
        roles.add(role);
      }
      await beat();
      heartbeat ??= setInterval(() => void beat(), HEARTBEAT_MS).unref();
    },
    async buildApp() {
      const app = await buildApp({
        engine,
        principals,
        logger,
        readiness,
        http: config.http,
        rateLimit: { counters: createRateCounters(redis, config.prefix), limits: topology.config.limits.rate },
        sessions,
        keyThrottle: sessions.keyThrottle,
        trustProxy: config.trustProxy,
        documentedElsewhere: BOARD_DOCS,
        plugins: [
          async (app) => {
            await app.register(deadLetterRoutes(deadLetters));
            await app.register(mailRoutes(mail.view));
            await app.register(erasureRoutes(engine));
            await app.register(statsRoutes(stats));
            await app.register(backlogRoutes(backlog, engine));
            await app.register(reportRoutes({ topology, readModel }));
            await app.register(streamRoutes(engine, hub, { heartbeatMs: config.streamHeartbeatMs, maxPerKey: config.stream.maxPerKey, replayMax: config.stream.replayMax }));
            await app.register(dashboardRoutes({ topology, principals, sessions, overview, engine, now }));
            await app.register(sessionAdminRoutes({ topology, sessions }));
            // Partition 0's queues and the deployment's; then every other partition's own intake, events and sla queues.
            const partitionQueues = cells.slice(1).flatMap((c) => PARTITIONED_QUEUES.map((n) => ({ queue: c.queues.queue(n), partition: c.p })));
            await app.register(bullBoardRoutes({ queues: [...stats.queueNames.map((n) => queues.queue(n)), ...partitionQueues], sessions }));
            if (metricsOnApi) await app.register(metricsRoute(metrics, config.metricsPath));
          },
        ],
      });
      sampler.start();
      return app;
    },
    async close() {
      if (heartbeat) clearInterval(heartbeat);
      await sampler.stop();
      await hub.close();
      await removeBeats(redis, keys, beatMembers()).catch(() => undefined);
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, config.shutdownTimeoutMs).unref());
      await Promise.race([Promise.all([...workers.map((w) => w.close()), ...stoppers.map((s) => s()), mail.stop()]), deadline]);
      await Promise.all(cells.map((c) => c.queues.close()));
      workerConnection.disconnect();
      await queueRedis.quit().catch(() => queueRedis.disconnect());
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
