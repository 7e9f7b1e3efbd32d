import { Queue } from 'bullmq';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseClusterUrl } from '../../src/config/redis-url.js';
import { createLogger } from '../../src/logger.js';
import { createProviderWorker } from '../../src/provider/index.js';
import { startRedisCluster, type LocalCluster } from '../helpers/redis-cluster.js';
import { ticketBody, waitFor } from '../helpers/harness.js';
import { callAs, spawnLotse, type LotseProcess } from '../helpers/process.js';

/**
 * Lotse on a real three-master Redis Cluster: every connection (store,
 * queues, workers, relay) is an ioredis Cluster, and the `{lotse}` prefix
 * puts every key in one slot.
 */
const PREFIX = '{lotse}';
let cluster: LocalCluster;
let lotse: LotseProcess;
let url: string;
let admin: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  admin = new Cluster(parseClusterUrl(cluster.url)!.nodes);
  lotse = spawnLotse(['start'], { REDIS_URL: cluster.url, LOTSE_PREFIX: PREFIX, LOTSE_RELAY_CLAIM_IDLE_MS: '300' });
  url = await lotse.url();
}, 60_000);

afterAll(async () => {
  await lotse?.kill();
  admin?.disconnect();
  await cluster?.stop();
});

const call = (orgId: string, method: string, path: string, body?: unknown) => callAs(url, orgId, method, path, body);

it('runs on three masters: the cluster has them, and every Lotse key lies in the slot of {lotse}', async () => {
  const masters = admin.nodes('master');
  expect(masters).toHaveLength(3);
  const slot = Number(await admin.cluster('KEYSLOT', `${PREFIX}:t:x`));
  expect(Number(await admin.cluster('KEYSLOT', `${PREFIX}:intake:wait`))).toBe(slot);
});

it('carries a ticket from creation over HTTP through a provider handoff to resolution', async () => {
  const created = await call('desk-HB', 'POST', '/v1/tickets', ticketBody({ land: 'HB', service: 'elfe' }));
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = created.body.id as string;
  expect(created.body).toMatchObject({ version: 1, level: 1, status: 'new', assignee: 'desk-HB' });
  // The relay armed the ticket's SLA timer as a delayed job on the cluster.
  await waitFor(async () => (await admin.zrange(`${PREFIX}:sla:delayed`, 0, -1)).includes(`timer-${id}-1`), { timeoutMs: 15_000, what: 'the SLA timer' });

  expect((await call('desk-HB', 'POST', `/v1/tickets/${id}/events`, { type: 'ACCEPT' })).body).toMatchObject({ status: 'open', version: 2 });
  const escalated = await call('desk-HB', 'POST', `/v1/tickets/${id}/events`, { type: 'ESCALATE', reason: 'Fehler beim Absenden' });
  expect(escalated.body).toMatchObject({ level: 2, status: 'handoff-pending', assignee: 'dataport', version: 3 });

  // The handoff CloudEvent is a job on the provider's queue, its id the event id.
  const handoff = new Queue('handoff-dataport', { connection: admin, prefix: PREFIX });
  handoff.on('error', () => undefined);
  try {
    const eventId = `${id}-v3-handoff-dataport`;
    const job = await waitFor(() => handoff.getJob(eventId), { timeoutMs: 15_000, what: 'the handoff job' });
    expect(job.data).toMatchObject({ specversion: '1.0', id: eventId, type: 'lotse.ticket.handoff.requested', subject: id });
  } finally {
    await handoff.close();
  }

  const receipt = await call('dataport', 'POST', `/v1/tickets/${id}/events`, { type: 'ACCEPT' });
  expect(receipt.body).toMatchObject({ level: 2, status: 'open', assignee: 'dataport', version: 4 });
  const resolved = await call('dataport', 'POST', `/v1/tickets/${id}/events`, { type: 'RESOLVE', resolution: 'Zertifikat erneuert' });
  expect(resolved.body).toMatchObject({ status: 'resolved', level: null, version: 5 });

  const history = await call('ops-bremen', 'GET', `/v1/tickets/${id}/history`);
  expect((history.body.items as { type: string }[]).map((e) => e.type)).toEqual(['CREATED', 'ACCEPT', 'ESCALATE', 'ACCEPT', 'RESOLVE']);
  // Every version reached the public event stream, once; the outbox drained.
  await waitFor(async () => (await admin.xlen(`${PREFIX}:events`)) >= 5 && (await admin.xlen(`${PREFIX}:outbox`)) === 0, { timeoutMs: 15_000, what: 'the event stream' });
  const ids = (await admin.xrange(`${PREFIX}:events`, '-', '+')).map(([, f]) => f[1]);
  expect(ids).toEqual([1, 2, 3, 4, 5].map((v) => `${id}-v${v}`));
  // The listing (a Lua script over several index sets) works across the cluster's one slot.
  const list = await call('ops-bremen', 'GET', '/v1/tickets?status=resolved');
  expect((list.body.items as { id: string }[]).map((t) => t.id)).toEqual([id]);
});

/** Client connections on every master: what a closed kit must have given back. */
/**
 * Connections on the masters but Lotse's own named ones (`<prefix>-store`, `-relay`, `-backlog-feed`, …): those
 * come and go with Lotse's loops (a blocking reader's copy opens at its first read), not with the kit, whose
 * connections are named `<prefix>-provider-<org>` or by BullMQ (`<prefix>:<queue>`).
 */
async function clientsOnMasters(): Promise<number> {
  const lists = await Promise.all(admin.nodes('master').map((node) => node.client('LIST') as Promise<string>));
  const lotseOwn = (line: string) => / name=(\S*)/.exec(line)?.[1]?.startsWith(`${PREFIX}-`) === true && !line.includes(` name=${PREFIX}-provider-`);
  return lists.reduce((n, list) => n + list.trim().split('\n').filter((line) => !lotseOwn(line)).length, 0);
}

it("runs an IT provider's kit on the cluster URL: the handoff comes, its receipt and answer go back as jobs", async () => {
  const handled: string[] = [];
  const before = await clientsOnMasters();
  const kit = createProviderWorker({
    orgId: 'dataport',
    connection: cluster.url,
    prefix: PREFIX,
    logger: createLogger('silent'),
    async onHandoff(event, ctx) {
      handled.push(event.subject);
      await ctx.resolve('Zertifikat erneuert');
    },
  });
  try {
    const created = await call('desk-HB', 'POST', '/v1/tickets', ticketBody({ land: 'HB', service: 'elfe' }));
    const id = created.body.id as string;
    await call('desk-HB', 'POST', `/v1/tickets/${id}/events`, { type: 'ACCEPT' });
    await call('desk-HB', 'POST', `/v1/tickets/${id}/events`, { type: 'ESCALATE', reason: 'Fehler beim Absenden' });
    await waitFor(async () => (await call('ops-bremen', 'GET', `/v1/tickets/${id}`)).body.status === 'resolved', { timeoutMs: 30_000, what: "the kit's resolution" });
    expect(handled).toEqual([id]);
    const history = await call('ops-bremen', 'GET', `/v1/tickets/${id}/history`);
    // The kit's receipt (ACCEPT by dataport), then its resolution: both came as jobs on the events queue.
    expect((history.body.items as { type: string; actor: { orgId?: string } }[]).map((e) => [e.type, e.actor.orgId])).toEqual([
      ['CREATED', 'desk-HB'], ['ACCEPT', 'desk-HB'], ['ESCALATE', 'desk-HB'], ['ACCEPT', 'dataport'], ['RESOLVE', 'dataport'],
    ]);
  } finally {
    await kit.close();
  }
  // Closed, the kit holds no connection: its Cluster client and BullMQ's copies of it are all gone.
  await waitFor(async () => (await clientsOnMasters()) === before, { timeoutMs: 10_000, what: "the kit's connections to close" });
}, 60_000);

it('refuses a cluster URL for the kit with a prefix that has no hash tag, naming the option', () => {
  expect(() => createProviderWorker({ orgId: 'dataport', connection: cluster.url, prefix: 'lotse', onHandoff: () => undefined })).toThrow(/prefix: on a Redis Cluster the prefix needs a hash tag/);
});

it('answers ready and stops cleanly on SIGTERM', async () => {
  const ready = await fetch(`${url}/readyz`);
  expect(ready.status).toBe(200);
  const { code } = await lotse.stop();
  expect(code).toBe(0);
});

it('refuses a cluster URL with a prefix that has no hash tag, naming the variable', async () => {
  const p = spawnLotse(['api'], { REDIS_URL: cluster.url, LOTSE_PREFIX: 'lotse' });
  const { code } = await p.exited;
  expect(code).toBe(2);
  expect(p.logs.map((l) => String(l.stderr ?? '')).join('\n')).toMatch(/LOTSE_PREFIX: on a Redis Cluster the prefix needs a hash tag/);
});
