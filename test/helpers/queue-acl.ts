import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Job, Queue, QueueEvents, type ConnectionOptions } from 'bullmq';
import { Cluster, type Redis } from 'ioredis';
import { expect } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { createProviderWorker } from '../../src/provider/index.js';
import { createLogger } from '../../src/logger.js';
import { formatAclFile, redisAclUsers, type AclUser } from '../../src/queue/acl.js';
import { createRedis } from '../../src/queue/connections.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { dev, newPrefix, ticketBody, waitFor } from './harness.js';
import { handedToDataport } from './provider.js';
import { startAclRedis, queuePasswords, topologyWithQueueUsers, userUrl } from './redis-acl.js';
import { startRedisCluster } from './redis-cluster.js';

/** Two desks and two providers with Redis users of their own; the rest of the topology has none. */
export const QUEUE_USERS = ['desk-BY', 'desk-HB', 'dataport', 'it-BY'];
const LOTSE_USER = 'lotse';

/** Lotse on a Redis (or Redis Cluster) whose users are what `lotse redis-acl` printed for QUEUE_USERS. */
export interface QueueAclWorld {
  prefix: string;
  /** The users as `lotse redis-acl` printed them for this world. */
  users: AclUser[];
  runtime: Runtime;
  /** REDIS_URL as this user (an organisation, or `lotse`). */
  url(user: string): string;
  /** A BullMQ connection as this user. */
  connection(user: string): ConnectionOptions;
  /** A plain client as this user, for commands outside BullMQ. */
  client(user: string): Redis | Cluster;
  /** Everything the ACL refused since the last reset: `<user> <reason> <object>` (every node's log). */
  aclLog(): Promise<string[]>;
  resetAclLog(): Promise<void>;
  close(): Promise<void>;
}

export async function openQueueAclWorld(o: { cluster: boolean; partitions?: number }): Promise<QueueAclWorld> {
  const topology = topologyWithQueueUsers(QUEUE_USERS);
  const passwords = queuePasswords(QUEUE_USERS);
  const lotsePassword = randomBytes(16).toString('hex');
  const prefix = o.cluster ? `{${newPrefix('acl')}}` : newPrefix('acl');
  const users = redisAclUsers({ topology, prefix, partitions: o.partitions ?? 1, lotse: { username: LOTSE_USER, password: lotsePassword }, env: passwords.env });
  const aclFile = formatAclFile(users);
  const passwordOf = (user: string) => (user === LOTSE_USER ? lotsePassword : passwords.of(user));

  let url: (user: string) => string;
  let stopRedis: () => Promise<void>;
  if (o.cluster) {
    const dir = mkdtempSync(join(tmpdir(), 'lotse-acl-cluster-'));
    writeFileSync(join(dir, 'users.acl'), aclFile);
    const cluster = await startRedisCluster(3, { aclFile: join(dir, 'users.acl'), auth: { user: LOTSE_USER, password: lotsePassword } });
    const nodes = cluster.ports.map((p) => `127.0.0.1:${p}`).join(',');
    url = (user) => `redis+cluster://${encodeURIComponent(user)}:${encodeURIComponent(passwordOf(user))}@${nodes}`;
    stopRedis = async () => {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    };
  } else {
    const server = await startAclRedis(aclFile, { user: LOTSE_USER, password: lotsePassword });
    url = (user) => userUrl(server.port, user, passwordOf(user));
    stopRedis = server.stop;
  }

  const clients: (Redis | Cluster)[] = [];
  const client = (user: string) => {
    const c = createRedis(url(user), 'worker', `${prefix}-acl-${user}`);
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };
  let runtime: Runtime;
  try {
    const config = loadConfig({ LOTSE_PREFIX: prefix, REDIS_URL: url(LOTSE_USER), LOTSE_RELAY_CLAIM_IDLE_MS: '300', LOG_LEVEL: 'silent', LOTSE_MAX_EVENT_LOOP_DELAY_MS: '0', LOTSE_PARTITIONS: String(o.partitions ?? 1) });
    runtime = await createRuntime({ config, redisUrl: url(LOTSE_USER), topology, logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'), env: {} });
    await runtime.startWorkers(['intake', 'events', 'relay', 'sla']);
  } catch (err) {
    await stopRedis();
    throw err;
  }
  const admin = client(LOTSE_USER);
  const nodes = (): (Redis | Cluster)[] => (admin instanceof Cluster ? admin.nodes('master') : [admin]);
  return {
    prefix,
    users,
    runtime,
    url,
    connection: (user) => (o.cluster ? (client(user) as ConnectionOptions) : { url: url(user) }),
    client,
    async aclLog() {
      const logs = await Promise.all(nodes().map((n) => n.call('ACL', 'LOG') as Promise<unknown[][]>));
      return logs.flat().map((entry) => {
        const e = Object.fromEntries(Array.from({ length: entry.length / 2 }, (_, i) => [entry[2 * i], entry[2 * i + 1]])) as Record<string, string>;
        return `${e.username} ${e.reason} ${e.object}`;
      });
    },
    async resetAclLog() {
      await Promise.all(nodes().map((n) => n.call('ACL', 'LOG', 'RESET')));
    },
    async close() {
      await runtime.close();
      for (const c of clients) c.disconnect();
      await stopRedis();
    },
  };
}

/** Opens queues and listeners as one user and closes them all at the end. */
export function queuesAs(w: QueueAclWorld, user: string) {
  const open: { close(): Promise<void> }[] = [];
  const track = <T extends { close(): Promise<void>; on(e: 'error', f: (err: Error) => void): unknown }>(x: T): T => {
    x.on('error', () => undefined);
    open.push(x);
    return x;
  };
  return {
    queue: (name: string) => track(new Queue(name, { connection: w.connection(user), prefix: w.prefix })),
    async events(name: string) {
      // From the stream's start, not '$' at the first blocking read: a job that fails at once could finish
      // between waitUntilReady and that read, and its notification would be missed.
      const qe = track(new QueueEvents(name, { connection: w.connection(user), prefix: w.prefix, lastEventId: '0-0' }));
      await qe.waitUntilReady();
      return qe;
    },
    close: async () => void (await Promise.all(open.map((x) => x.close()))),
  };
}

const operator = dev('ops-bremen');

/** A desk adds to its own intake queue (no orgId needed) and reads the result, with nothing refused on the way. */
export async function deskCreatesOnItsOwnQueue(w: QueueAclWorld): Promise<void> {
  await w.resetAclLog();
  const desk = queuesAs(w, 'desk-BY');
  try {
    const intake = desk.queue('intake-desk-BY');
    const listener = await desk.events('intake-desk-BY');
    const job = await intake.add('ticket', ticketBody({ service: 'uvo' }), { jobId: 'acl-intake-1' });
    const { ticketId } = (await job.waitUntilFinished(listener, 15_000)) as { ticketId: string };
    expect((await Job.fromId(intake, 'acl-intake-1'))?.returnvalue).toEqual({ ticketId });
    const [created] = await w.runtime.engine.history(operator, ticketId);
    expect(created).toMatchObject({ type: 'CREATED', actor: { orgId: 'desk-BY', role: 'desk' } });
    // An answer on its own events queue, applied as the desk.
    const events = desk.queue('events-desk-BY');
    const eventsListener = await desk.events('events-desk-BY');
    const accepted = await events.add('ACCEPT', { ticketId, event: { type: 'ACCEPT' } }, { jobId: `acl-accept-${ticketId}` });
    expect(await accepted.waitUntilFinished(eventsListener, 15_000)).toMatchObject({ ticketId, version: 2 });
    expect((await w.runtime.engine.history(operator, ticketId)).at(-1)).toMatchObject({ type: 'ACCEPT', actor: { orgId: 'desk-BY' } });
  } finally {
    await desk.close();
  }
  expect(await w.aclLog()).toEqual([]);
}

const forgedPriority = (ticketId: string) => ({
  ticketId, orgId: 'ops-bremen', event: { type: 'CHANGE_PRIORITY', impact: 'high', urgency: 'high', reason: 'forged' },
});

/** A job on one's own queue that names another organisation fails, naming the field; nothing is recorded. */
export async function forgedOrgIdFails(w: QueueAclWorld, user: 'desk-BY' | 'dataport'): Promise<void> {
  const { record } = await w.runtime.engine.createTicket(dev('desk-BY'), ticketBody({ service: 'uvo' }));
  const as = queuesAs(w, user);
  try {
    const events = as.queue(`events-${user}`);
    const listener = await as.events(`events-${user}`);
    const job = await events.add('CHANGE_PRIORITY', forgedPriority(record.id), { jobId: `forged-${record.id}` });
    await expect(job.waitUntilFinished(listener, 15_000)).rejects.toThrow(`orgId: must be ${user}, whose queue events-${user} this job came through`);
    if (user === 'desk-BY') {
      const intake = as.queue('intake-desk-BY');
      const intakeListener = await as.events('intake-desk-BY');
      const forged = await intake.add('ticket', { ...ticketBody(), orgId: 'desk-HB' }, { jobId: `forged-intake-${record.id}` });
      await expect(forged.waitUntilFinished(intakeListener, 15_000)).rejects.toThrow('orgId: must be desk-BY');
    }
  } finally {
    await as.close();
  }
  expect((await w.runtime.engine.history(operator, record.id)).map((e) => e.type)).toEqual(['CREATED']);
}

const NOPERM = /NOPERM/;

/** Another organisation's queue, the shared queues, a ticket key, a session key, and looking around: all refused by Redis. */
export async function refusedEverythingElse(w: QueueAclWorld, user: string, others: { add: string[]; read: string[] }): Promise<void> {
  const { record } = await w.runtime.engine.createTicket(dev('desk-BY'), ticketBody({ service: 'uvo' }));
  const as = queuesAs(w, user);
  try {
    for (const name of others.add) await expect(as.queue(name).add('x', { ticketId: record.id, orgId: user, event: { type: 'ACCEPT' } }), name).rejects.toThrow(NOPERM);
    for (const name of others.read) await expect(as.queue(name).getJobs(['wait', 'completed', 'failed']), name).rejects.toThrow(NOPERM);
    // A job on its own queue whose parent is a job of Lotse's queues: the parent's keys are not the user's.
    const own = as.queue(`events-${user}`);
    await expect(own.add('x', { ticketId: record.id, event: { type: 'ACCEPT' } }, { parent: { id: 'some-job', queue: `${w.prefix}:events` } })).rejects.toThrow(/NOPERM|can't access/);
  } finally {
    await as.close();
  }
  const raw = w.client(user);
  await expect(raw.hgetall(w.runtime.keys.ticket(record.id))).rejects.toThrow(NOPERM);
  await expect(raw.call('GET', w.runtime.keys.ticket(record.id))).rejects.toThrow(NOPERM);
  await expect(raw.hgetall(w.runtime.keys.session('any-session'))).rejects.toThrow(NOPERM);
  await expect(raw.xrange(w.runtime.keys.events, '-', '+')).rejects.toThrow(NOPERM);
  // A script may touch only keys the user may: a key computed inside Lua is checked too.
  await expect(raw.eval(`return redis.call('HGETALL', '${w.runtime.keys.ticket(record.id)}')`, 0)).rejects.toThrow(/NOPERM|can't access at least one of the keys/);
  if (!(raw instanceof Cluster)) {
    await expect(raw.call('SCAN', '0')).rejects.toThrow(NOPERM);
    await expect(raw.call('KEYS', '*')).rejects.toThrow(NOPERM);
  }
  await expect(raw.call('ACL', 'SETUSER', user, '~*')).rejects.toThrow(NOPERM);
  await expect(raw.call('CONFIG', 'GET', 'dir')).rejects.toThrow(NOPERM);
}

/** A provider takes its handoff and answers receipt and resolution as itself, through the kit, with nothing refused. */
export async function providerAnswersAsItself(w: QueueAclWorld): Promise<void> {
  const id = await handedToDataport(w.runtime.engine);
  await w.resetAclLog();
  const kit = createProviderWorker({
    orgId: 'dataport',
    connection: w.url('dataport'),
    prefix: w.prefix,
    answersQueue: 'own',
    logger: createLogger('silent'),
    async onHandoff(_event, ctx) {
      await ctx.resolve('Zertifikat erneuert');
    },
  });
  try {
    await waitFor(async () => (await w.runtime.engine.getTicket(operator, id)).state.value === 'resolved', { timeoutMs: 20_000, what: 'the provider to resolve the ticket' });
  } finally {
    await kit.close();
  }
  const history = await w.runtime.engine.history(operator, id);
  expect(history.slice(-2)).toMatchObject([
    { type: 'ACCEPT', actor: { orgId: 'dataport', role: 'provider' } },
    { type: 'RESOLVE', actor: { orgId: 'dataport', role: 'provider' } },
  ]);
  expect(await w.aclLog()).toEqual([]);
}
