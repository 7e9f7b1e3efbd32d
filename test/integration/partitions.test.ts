import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAND_CODES, type LandCode } from '../../src/domain/ids.js';
import { partitionOfId } from '../../src/domain/partitions.js';
import { loadConfig } from '../../src/config/env.js';
import { createLogger } from '../../src/logger.js';
import type { App } from '../../src/http/app.js';
import { createRuntime, WORKER_ROLES } from '../../src/runtime.js';
import { resolvePartitionPrefixes } from '../../src/store/partitions.js';
import { bearer, createHarness, dropPrefix, defaultTopology, redisUrl, ticketBody, waitFor, type Harness } from '../helpers/harness.js';
import { openStream } from '../helpers/sse.js';

/**
 * Three partitions (LOTSE_PARTITIONS=3) on one Redis: every ticket lives in
 * its Land's partition under that partition's prefix, its id names the
 * partition, and lists, counts, metrics and the stream read across all three.
 * test/e2e/partitions-cluster.test.ts runs the same on a Redis Cluster with replicas, and through a failover.
 */
let h: Harness;
let app: App;
let base: string;
let prefixes: readonly string[];
const streams: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  h = await createHarness({ roles: [...WORKER_ROLES], env: { LOTSE_PARTITIONS: '3', LOTSE_STREAM_HEARTBEAT_MS: '100' } });
  prefixes = h.runtime.layout.prefixes;
  app = await h.app();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
}, 30_000);

afterAll(async () => {
  await Promise.all(streams.map((s) => s.close()));
  await h.close();
});

const landOfIndex = (i: number) => LAND_CODES[i]!;

async function create(land: string, overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/v1/tickets', headers: bearer(`desk-${land}`), payload: ticketBody({ land, service: 'elfe', ...overrides }) });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

async function event(orgId: string, id: string, body: Record<string, unknown>) {
  const res = await app.inject({ method: 'POST', url: `/v1/tickets/${id}/events`, headers: bearer(orgId), payload: body });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

describe('partitions on one Redis', () => {
  it('raises the count on a deployment that ran with one: old tickets stay and are found, a repeated creation answers the ticket made before', async () => {
    const prefix = `${h.prefix}r`;
    const start = async (count: string) => {
      const config = loadConfig({ LOTSE_PREFIX: prefix, LOTSE_PARTITIONS: count, LOG_LEVEL: 'silent', LOTSE_MAX_EVENT_LOOP_DELAY_MS: '0' });
      return createRuntime({ config, redisUrl: redisUrl(), topology: defaultTopology, logger: createLogger('silent'), env: {} });
    };
    const body = ticketBody({ land: 'HH', service: 'elfe' });
    const one = await start('1');
    let before: string;
    try {
      before = (await one.engine.createTicket({ orgId: 'desk-HH', role: 'desk', land: 'HH' }, body)).record.id;
    } finally {
      await one.close();
    }
    expect(partitionOfId(before)).toBe(0);
    const three = await start('3');
    try {
      expect(three.layout.earlierCounts).toEqual([1]);
      // The same creation again (its externalRef is its key): the ticket of then, from partition 0, not a second one in partition 1.
      const again = await three.engine.createTicket({ orgId: 'desk-HH', role: 'desk', land: 'HH' }, body);
      expect(again).toMatchObject({ replayed: true, record: { id: before } });
      expect(await h.redis.zcard(`${three.layout.prefixes[1]}:ix:all`)).toBe(0);
      // Another body under the same key is refused as ever.
      await expect(three.engine.createTicket({ orgId: 'desk-HH', role: 'desk', land: 'HH' }, { ...body, subject: 'Ganz etwas anderes' })).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
      // A new one goes to the new layout; the old one is still found and listed.
      const fresh = (await three.engine.createTicket({ orgId: 'desk-HH', role: 'desk', land: 'HH' }, ticketBody({ land: 'HH', service: 'elfe' }))).record.id;
      expect(partitionOfId(fresh)).toBe(1);
      expect((await three.engine.findTicket(before))?.id).toBe(before);
      const listed = await three.engine.listTickets({ orgId: 'ops-bremen', role: 'operator', land: 'HB' }, { limit: 10, land: 'HH' } as never);
      expect(listed.items.map((t) => t.id)).toEqual([fresh, before]);
    } finally {
      await three.close();
      for (const p of three.layout.prefixes) await dropPrefix(h.redis, p);
    }
  });

  it('gives partitions 1 and 2 prefixes of their own, remembered, with the deployment prefix as partition 0', async () => {
    expect(prefixes).toEqual([h.prefix, `${h.prefix}-p1`, `${h.prefix}-p2`]);
    expect(await h.redis.hgetall(`${h.prefix}:partitions`)).toEqual({ 1: `${h.prefix}-p1`, 2: `${h.prefix}-p2`, counts: '3' });
    // A later start (another process) reads them; a raised count keeps them and adds one.
    expect(await resolvePartitionPrefixes(h.redis, h.prefix, 3)).toEqual(prefixes);
    expect(await resolvePartitionPrefixes(h.redis, h.prefix, 4)).toEqual([...prefixes, `${h.prefix}-p3`]);
    // Lowered, the tickets of partition 3 would be found by nobody: refused, naming the variable.
    await expect(resolvePartitionPrefixes(h.redis, h.prefix, 2)).rejects.toThrow(/LOTSE_PARTITIONS cannot be lowered/);
    expect(await h.redis.hget(`${h.prefix}:partitions`, 'counts')).toBe('3,4');
    await h.redis.hdel(`${h.prefix}:partitions`, '3');
    await h.redis.hset(`${h.prefix}:partitions`, 'counts', '3');
  });

  it('refuses a process asked to serve a partition the deployment does not have', async () => {
    const config = loadConfig({ LOTSE_PREFIX: h.prefix, LOTSE_PARTITIONS: '3', LOG_LEVEL: 'silent' });
    await expect(createRuntime({ config, redisUrl: redisUrl(), topology: defaultTopology, logger: createLogger('silent'), env: {}, partitions: [0, 3] })).rejects.toThrow(/partitions: 3 not among this deployment's 3/);
  });

  it('is ready only when every partition has its workers: a process serving partition 0 of 2 alone names partition 1\'s', async () => {
    const prefix = `${h.prefix}x`;
    const config = loadConfig({ LOTSE_PREFIX: prefix, LOTSE_PARTITIONS: '2', LOG_LEVEL: 'silent' });
    const one = await createRuntime({ config, redisUrl: redisUrl(), topology: defaultTopology, logger: createLogger('silent'), env: {}, partitions: [0] });
    try {
      await one.startWorkers(['intake', 'events', 'sla', 'relay', 'backlog', 'retention']);
      const oneApp = await one.buildApp();
      const res = await oneApp.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json().reasons).toEqual({ workers: 'partitions without workers: intake/1, events/1, sla/1, relay/1, backlog/1' });
      // A second process for partition 1 makes the deployment ready.
      const other = await createRuntime({ config, redisUrl: redisUrl(), topology: defaultTopology, logger: createLogger('silent'), env: {}, partitions: [1] });
      try {
        await other.startWorkers(['intake', 'events', 'sla', 'relay', 'backlog']);
        expect((await oneApp.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      } finally {
        await other.close();
      }
      await oneApp.close();
    } finally {
      await one.close();
      for (const p of one.layout.prefixes) await dropPrefix(h.redis, p);
    }
  });

  it('puts a ticket in its Land\'s partition: the id names it, its keys, timer and stream events are there', async () => {
    for (const [i, expected] of [[0, 0], [1, 1], [2, 2], [3, 0]] as const) {
      const land = landOfIndex(i);
      const id = await create(land);
      expect(partitionOfId(id), `${land}: ${id}`).toBe(expected);
      expect(id).toMatch(expected === 0 ? /^T[0-9A-Z]{20}$/ : new RegExp(`^T[0-9A-Z]{20}-${expected}$`));
      const own = prefixes[expected]!;
      expect(await h.redis.exists(`${own}:t:${id}`)).toBe(1);
      for (const other of prefixes.filter((p) => p !== own)) expect(await h.redis.exists(`${other}:t:${id}`)).toBe(0);
      // The relay of its partition arms the timer on its partition's sla queue and publishes on its stream.
      await waitFor(async () => (await h.redis.zscore(`${own}:sla:delayed`, `timer-${id}-1`)) !== null, { what: `the timer of ${id} in ${own}` });
      await waitFor(async () => (await h.redis.xrange(`${own}:events`, '-', '+')).some(([, f]) => f.includes(id)), { what: `the created event of ${id} in ${own}` });
    }
  });

  it('carries a partition-1 ticket through a handoff: the handoff job is on the deployment\'s provider queue, the receipt comes back to its partition', async () => {
    const id = await create('HH');
    expect(partitionOfId(id)).toBe(1);
    await event('desk-HH', id, { type: 'ACCEPT' });
    expect(await event('desk-HH', id, { type: 'ESCALATE', reason: 'Fehler beim Absenden' })).toMatchObject({ level: 2, status: 'handoff-pending', assignee: 'dataport' });
    const jobKey = `${h.prefix}:handoff-dataport:${id}-v3-handoff-dataport`;
    await waitFor(async () => (await h.redis.exists(jobKey)) === 1, { what: 'the handoff job on the deployment queue' });
    expect(await event('dataport', id, { type: 'ACCEPT' })).toMatchObject({ status: 'open', assignee: 'dataport', version: 4 });
    expect(await event('dataport', id, { type: 'RESOLVE', resolution: 'Zertifikat erneuert' })).toMatchObject({ status: 'resolved', version: 5 });
    const history = await app.inject({ method: 'GET', url: `/v1/tickets/${id}/history`, headers: bearer('ops-bremen') });
    expect((history.json().items as { type: string }[]).map((e) => e.type)).toEqual(['CREATED', 'ACCEPT', 'ESCALATE', 'ACCEPT', 'RESOLVE']);
    await waitFor(async () => (await h.redis.xrange(`${prefixes[1]}:events`, '-', '+')).filter(([, f]) => f.includes(id)).length === 5, { what: 'five events on partition 1\'s stream' });
    for (const p of prefixes) expect(await h.redis.xlen(`${p}:outbox`)).toBe(0);
  });

  it('lists across partitions newest first, page after page, each ticket once; filters, search and sorting read all three', async () => {
    const made: string[] = [];
    for (let i = 0; i < 16; i++) made.push(await create(landOfIndex(i), { subject: `Partitionstest Seite ${i}` }));
    expect(new Set(made.map(partitionOfId))).toEqual(new Set([0, 1, 2]));
    const seen: string[] = [];
    let cursor: string | null = '';
    for (let page = 0; cursor !== null && page < 20; page++) {
      const res = await app.inject({ method: 'GET', url: `/v1/tickets?q=Partitionstest&limit=5${cursor ? `&cursor=${cursor}` : ''}`, headers: bearer('ops-bremen') });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json() as { items: { id: string }[]; next: string | null };
      seen.push(...body.items.map((t) => t.id));
      cursor = body.next;
    }
    expect(seen).toEqual([...made].sort().reverse());
    // Without a search, paging by 3 over everything: ordered, nothing twice, every ticket of this test there.
    const all: string[] = [];
    cursor = '';
    for (let page = 0; cursor !== null && page < 50; page++) {
      const body = (await app.inject({ method: 'GET', url: `/v1/tickets?limit=3${cursor ? `&cursor=${cursor}` : ''}`, headers: bearer('ops-bremen') })).json() as { items: { id: string }[]; next: string | null };
      all.push(...body.items.map((t) => t.id));
      cursor = body.next;
    }
    expect(all).toEqual([...all].sort().reverse());
    expect(new Set(all).size).toBe(all.length);
    for (const id of made) expect(all).toContain(id);
    // A Land's list is its partition's; a desk sees its own Land's tickets only.
    const ni = (await app.inject({ method: 'GET', url: '/v1/tickets?land=NI&limit=100', headers: bearer('ops-bremen') })).json() as { items: { id: string; land: string }[] };
    expect(ni.items.length).toBeGreaterThan(0);
    expect(ni.items.every((t) => t.land === 'NI' && partitionOfId(t.id) === 2)).toBe(true);
    const desk = (await app.inject({ method: 'GET', url: '/v1/tickets?limit=100', headers: bearer('desk-NW') })).json() as { items: { id: string }[] };
    expect(desk.items.map((t) => t.id)).toEqual([made[4]]);
    // Sorted by Land over all partitions.
    const sorted = (await app.inject({ method: 'GET', url: '/v1/tickets?q=Partitionstest&sort=land&limit=16', headers: bearer('ops-bremen') })).json() as { items: { land: (typeof LAND_CODES)[number] }[]; sorted: { over: number } };
    expect(sorted.sorted.over).toBe(16);
    const names = sorted.items.map((t) => defaultTopology.lands.get(t.land as LandCode)!.name.toLocaleLowerCase('de'));
    expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b, 'de')));
  });

  it('counts across partitions: /v1/stats and /metrics sum every partition\'s counters and index sets', async () => {
    for (const land of ['SH', 'HH', 'NI']) await create(land);
    const stats = (await app.inject({ method: 'GET', url: '/v1/stats', headers: bearer('ops-bremen') })).json() as { tickets: { total: { all: { count: number } }; land: Record<string, { count: number }> } };
    let stored = 0;
    const per: number[] = [];
    for (const p of prefixes) {
      per.push(await h.redis.zcard(`${p}:ix:all`));
      stored += per.at(-1)!;
    }
    expect(per.every((n) => n > 0)).toBe(true);
    expect(stats.tickets.total.all.count).toBe(stored);
    // A Land's active count comes from its partition's counters.
    expect(stats.tickets.land.NI!.count).toBeGreaterThan(0);
    const metrics = (await app.inject({ method: 'GET', url: '/metrics', headers: bearer('ops-bremen') })).body;
    const created = [...metrics.matchAll(/^lotse_tickets_created_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    expect(created).toBe(stored);
    // The sla queue's jobs of all three partitions, each labelled with its partition.
    expect(metrics).toMatch(/queue="sla"[^}]*partition="2"|partition="2"[^}]*queue="sla"/);
  });

  it('streams every partition\'s events on one connection; one Last-Event-ID resumes each partition where it stood', async () => {
    const s = await openStream(`${base}/v1/stream`, bearer('ops-bremen'));
    streams.push(s);
    await s.next((f) => f.comment === 'connected');
    const first = [await create('SH'), await create('HH'), await create('NI')];
    const frames = [];
    for (let i = 0; i < 3; i++) frames.push(await s.next((f) => f.data !== undefined && first.includes(JSON.parse(f.data).subject)));
    // One position per partition in every id.
    for (const f of frames) expect(f.id).toMatch(/^\d+-\d+_\d+-\d+_\d+-\d+$/);
    const resumeAt = frames.at(-1)!.id!;
    const later = [await create('NI'), await create('SH'), await create('HH')];
    const resumed = await openStream(`${base}/v1/stream`, { ...bearer('ops-bremen'), 'last-event-id': resumeAt });
    streams.push(resumed);
    const created = (x: { data?: string }) => x.data !== undefined && JSON.parse(x.data).type === 'lotse.ticket.created';
    const got: string[] = [];
    while (got.length < 3) {
      const f = await resumed.next(created);
      got.push(JSON.parse(f.data!).subject as string);
    }
    // Exactly the later tickets' creations (each partition's in order), none of the first three again.
    expect(new Set(got)).toEqual(new Set(later));
    expect(resumed.frames.some((f) => created(f) && first.includes(JSON.parse(f.data!).subject))).toBe(false);
  });

  it('links a partition\'s timer into the queue board, where each partition\'s own queues are listed', async () => {
    const id = await create('NI');
    await waitFor(async () => (await h.redis.zscore(`${prefixes[2]}:sla:delayed`, `timer-${id}-1`)) !== null, { what: 'the timer' });
    const login = await app.inject({ method: 'POST', url: '/dashboard/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'key=dev-ops-bremen' });
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    const ticket = (await app.inject({ method: 'GET', url: `/dashboard/api/tickets/${id}`, headers: { cookie } })).json() as { jobs: { label: string; url: string }[] };
    expect(ticket.jobs.find((j) => j.label === 'timer')?.url).toBe(`/admin/queues/queue/p2.sla/timer-${id}-1`);
    const listed = await app.inject({ method: 'GET', url: '/admin/queues/api/queues?activeQueue=p2.sla&status=delayed', headers: { cookie } });
    expect(listed.statusCode, listed.body).toBe(200);
    const queues = (listed.json() as { queues: { name: string; displayName?: string }[] }).queues;
    expect(queues.map((q) => q.name)).toEqual(expect.arrayContaining(['sla', 'p1.sla', 'p2.sla', 'p1.intake', 'p2.events']));
    const job = await app.inject({ method: 'GET', url: `/admin/queues/api/queues/p2.sla/timer-${id}-1`, headers: { cookie } });
    expect(job.statusCode, job.body).toBe(200);
  });

  it('keeps a service\'s backlog in its own partition: a recurring problem from tickets of three partitions opens one item there, listed, linked and decided across partitions', async () => {
    // elfe's backlog is in partition 1 of 3 (FNV-1a of the service id, src/domain/partitions.ts).
    expect(h.runtime.layout.ofService('elfe')).toBe(1);
    const subject = 'Partitionen: Upload der Geburtsurkunde bricht mit Fehler 500 ab';
    const lands = ['SH', 'HH', 'NI', 'HB', 'NW'];
    const tickets: string[] = [];
    for (const land of lands) tickets.push(await create(land, { category: 'technical', subject }));
    expect(new Set(tickets.map(partitionOfId))).toEqual(new Set([0, 1, 2]));
    const listItems = async () => (await app.inject({ method: 'GET', url: '/v1/backlog?service=elfe&limit=50', headers: bearer('ops-bremen') })).json() as { items: { id: string; title: string; tickets: string[] }[] };
    const item = await waitFor(async () => (await listItems()).items.find((i) => i.title.includes('Geburtsurkunde bricht') && i.tickets.length === lands.length), { what: 'the recurring problem\'s item with all five tickets', timeoutMs: 20_000 });
    expect(item.id).toMatch(/^B[A-Za-z0-9]{20}-1$/);
    expect(await h.redis.exists(`${prefixes[1]}:b:${item.id}`)).toBe(1);
    expect(await h.redis.exists(`${h.prefix}:b:${item.id}`)).toBe(0);
    // The window's entries are in elfe's partition, whatever the tickets' own.
    for (const t of tickets) expect(await h.redis.exists(`${prefixes[1]}:rt:${t}`)).toBe(1);
    const linked = (await app.inject({ method: 'GET', url: `/v1/backlog/${item.id}/tickets`, headers: bearer('ops-bremen') })).json() as { items: { id: string }[] };
    expect(linked.items.map((t) => t.id).sort()).toEqual([...tickets].sort());
    // Decided: every linked ticket, in whichever partition, hears it once.
    const move = async (org: string, body: Record<string, unknown>) => {
      const res = await app.inject({ method: 'POST', url: `/v1/backlog/${item.id}/events`, headers: bearer(org), payload: body });
      expect(res.statusCode, res.body).toBe(200);
    };
    await move('ops-bremen', { type: 'PRIORITIZE', rank: 1 });
    await move('steuerungskreis', { type: 'REJECT', reason: 'Partitionstest' });
    for (const t of tickets) {
      await waitFor(async () => ((await app.inject({ method: 'GET', url: `/v1/tickets/${t}/history`, headers: bearer('ops-bremen') })).json().items as { type: string }[]).filter((e) => e.type === 'BACKLOG_DECIDED').length === 1, { what: `the decision on ${t}` });
    }
  });

  it('creates once per idempotency key: a retried create answers the same ticket from its partition', async () => {
    const body = ticketBody({ land: 'NI', service: 'elfe' });
    const a = await app.inject({ method: 'POST', url: '/v1/tickets', headers: { ...bearer('desk-NI'), 'idempotency-key': 'part-once' }, payload: body });
    const b = await app.inject({ method: 'POST', url: '/v1/tickets', headers: { ...bearer('desk-NI'), 'idempotency-key': 'part-once' }, payload: body });
    expect(a.statusCode).toBe(201);
    expect(b.json().id).toBe(a.json().id);
    expect(partitionOfId(a.json().id)).toBe(2);
  });
});
