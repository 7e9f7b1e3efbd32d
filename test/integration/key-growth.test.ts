import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { parseTopology } from '../../src/config/topology-file.js';
import type { TopologyInput } from '../../src/domain/topology.js';
import { makeKeys } from '../../src/store/keys.js';
import { createRelayOutbox } from '../../src/store/outbox.js';
import { createOutboxRelay } from '../../workers/relay.worker.js';
import { WORKER_ROLES } from '../../src/runtime.js';
import { bearer, createHarness, dev, dropPrefix, newPrefix, redisUrl, ticketBody, waitFor, type Harness } from '../helpers/harness.js';
import { keysUnder } from '../helpers/key-scan.js';

/**
 * Every key pattern Lotse writes, and why it cannot only grow. `expires`:
 * every key of it has a TTL (checked); `capped`: trimmed to a bound;
 * `retention`: what of it is personal goes with the ticket's erasure;
 * `topology`: its names or fields come from the topology's fixed sets;
 * `per ticket`: one member or key per ticket Lotse keeps (the record itself,
 * bounded in size, its personal data erased by retention).
 */
const ALLOWED: Record<string, { why: 'expires' | 'capped' | 'retention' | 'topology' | 'per ticket' | 'bullmq'; note: string }> = {
  't:<ticket>': { why: 'per ticket', note: 'the ticket: size bounded by the limits; reporter, description, attachments erased by retention' },
  't:<ticket>:h': { why: 'per ticket', note: 'at most tickets.maxEvents entries; free texts erased by retention' },
  'ix:all': { why: 'per ticket', note: 'one member per ticket' },
  'ix:<index>:<value>': { why: 'topology', note: 'index names from the topology (Länder, services, organisations, statuses, levels, priorities); members per ticket' },
  'ix:active': { why: 'per ticket', note: 'tickets at a level only' },
  'ix:ref:<digest>': { why: 'per ticket', note: "one key per desk reference (externalRef, digested), a member per ticket that carries it: GET /v1/tickets?externalRef=" },
  'ix:sla:at-risk': { why: 'per ticket', note: 'open tickets only' },
  'ix:sla:breached': { why: 'per ticket', note: 'one member per breached ticket' },
  'ix:closed': { why: 'retention', note: 'closed tickets within their retention window: the sweep removes them' },
  'ix:erasing': { why: 'retention', note: 'erased tickets until their purge (seconds)' },
  outbox: { why: 'capped', note: 'entries are deleted once relayed' },
  'outbox:dead': { why: 'capped', note: 'MAXLEN ~10,000' },
  events: { why: 'capped', note: 'MAXLEN ~LOTSE_EVENTS_MAXLEN' },
  'idem:<org>:<key>': { why: 'retention', note: 'pending: 30 s; events: 7 days; a creation: until the erasure, then 7 days' },
  hb: { why: 'capped', note: 'one member per live process; beats of gone ones are removed' },
  'stats:created': { why: 'topology', note: 'fields year|Land|service|priority: one more set of fields a year' },
  'stats:active': { why: 'topology', note: 'fields Land|service|priority' },
  'stats:events': { why: 'topology', note: 'fields: event types' },
  'stats:sla': { why: 'topology', note: 'fields warning|breach × clock × priority' },
  'stats:created-year': { why: 'topology', note: 'written before 2026-12 only (read by the cost report): fields year|service|Land' },
  'b:<item>': { why: 'per ticket', note: 'a backlog item: at most backlog.maxSuggestionsPerTicket per ticket, each with at most maxLinksPerItem links' },
  'b:<item>:h': { why: 'per ticket', note: "an item's history: bounded like its links and callers' events" },
  'bix:<listing>': { why: 'per ticket', note: 'backlog listings: scopes from the topology, one member per item' },
  'bx:<service>:<term>': { why: 'capped', note: 'the text index: each posting capped at 200 items' },
  'blk:<service>': { why: 'expires', note: "the backlog feed's lock of a service (15 s)" },
  'wh:dead': { why: 'retention', note: 'dead letters: erased with their ticket' },
  'wh:dead:all': { why: 'retention', note: 'as wh:dead' },
  'wh:dead:org:<org>': { why: 'retention', note: 'as wh:dead; one per organisation of the topology' },
  'wh:replays': { why: 'retention', note: 'replay counts: erased with their ticket' },
  'wh:replayed': { why: 'capped', note: 'the newest 50 replays with their time (KEEP_REPLAYED); erased with their ticket' },
  'wh:replayed:at': { why: 'capped', note: 'as wh:replayed' },
  'wh:off:<org>': { why: 'topology', note: 'one per organisation' },
  'rt:<ticket>': { why: 'expires', note: 'the recurring-problem window; deleted by the purge' },
  'rx:<service>:<term>': { why: 'expires', note: 'the recurring-problem window' },
  rfeed: { why: 'capped', note: "the recurring-problem window's feed: ticket ids, deleted once observed; MAXLEN ~100,000 unread" },
  'ratelimit:<key>': { why: 'expires', note: 'one window' },
  'sess:<session>': { why: 'expires', note: 'dashboard sessions' },
  'dash:series': { why: 'capped', note: '60 samples' },
  'dash:series:m:<minute>': { why: 'expires', note: 'the claim of one minute\'s sample (2 minutes)' },
  upgrade: { why: 'capped', note: 'one field per one-time upgrade step Lotse knows (ix:ref): its version, written once' },
  '<queue>:<bullmq>': { why: 'bullmq', note: "BullMQ's own keys: one set per queue of the topology" },
  '<queue>:<job>': { why: 'bullmq', note: 'jobs kept by age and count (JOB_RETENTION); personal ones erased by retention' },
  '<queue>:repeat:<scheduler>': { why: 'bullmq', note: 'the retention sweep scheduler: one' },
};

const BULLMQ_KEYS = new Set(['id', 'meta', 'events', 'wait', 'paused', 'active', 'delayed', 'prioritized', 'completed', 'failed', 'stalled', 'stalled-check',
  'marker', 'pc', 'limiter', 'repeat', 'metrics:completed', 'metrics:failed', 'metrics:completed:data', 'metrics:failed:data', 'waiting-children']);
const QUEUE_KEY = /^(intake|events|sla|backlog|webhook|retention|mail|connector|handoff-[A-Za-z0-9-]+):(.+)$/;

/** A key with its ids, organisations and values replaced by what they stand for. */
export function patternOf(prefix: string, key: string): string {
  const rest = key.slice(prefix.length + 1).replace(/T[0-9A-HJKMNP-TV-Z]{20}/g, '<ticket>');
  const q = QUEUE_KEY.exec(rest);
  if (q) {
    const tail = q[2]!;
    if (BULLMQ_KEYS.has(tail)) return '<queue>:<bullmq>';
    if (tail.startsWith('repeat:')) return '<queue>:repeat:<scheduler>';
    return '<queue>:<job>';
  }
  return rest
    .replace(/^idem:[^:]+:.+$/, 'idem:<org>:<key>')
    .replace(/^ix:(reach|status|level|assignee|land|service|priority):.+$/, 'ix:<index>:<value>')
    .replace(/^ix:ref:.+$/, 'ix:ref:<digest>')
    .replace(/^wh:(dead:org|off):.+$/, 'wh:$1:<org>')
    .replace(/^rx:.+$/, 'rx:<service>:<term>')
    .replace(/^b:B[A-Za-z0-9]{20}(:h)?$/, (_m, h: string | undefined) => `b:<item>${h ?? ''}`)
    .replace(/^bix:.+$/, 'bix:<listing>')
    .replace(/^bx:.+$/, 'bx:<service>:<term>')
    .replace(/^blk:.+$/, 'blk:<service>')
    .replace(/^ratelimit:.+$/, 'ratelimit:<key>')
    .replace(/^sess:.+$/, 'sess:<session>')
    .replace(/^dash:series:m:\d+$/, 'dash:series:m:<minute>');
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('key growth', () => {
  it('after a long mixed run every key pattern is one the allow-list says is bounded', async () => {
    const base = structuredClone(DEFAULT_TOPOLOGY) as TopologyInput;
    base.retention = { closedTicketDays: 1 };
    let offset = 0;
    h = await createHarness({ topology: parseTopology(base, 'key growth'), roles: [...WORKER_ROLES], env: { LOTSE_RETENTION_SWEEP_MS: '1000' }, now: () => Date.now() + offset });
    const engine = h.runtime.engine;
    const app = await h.app();
    const desk = dev('desk-BY');
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const reporter = { name: `Person ${i}`, email: `p${i}@example.org` };
      if (i % 4 === 0) {
        const jobId = `in-${randomBytes(4).toString('hex')}`;
        await h.runtime.queues.queue('intake').add('create', { ...ticketBody({ reporter }), orgId: 'desk-BY' }, { jobId });
        ids.push(await waitFor(async () => ((await h!.runtime.queues.queue('intake').getJob(jobId))?.returnvalue as { ticketId: string } | undefined)?.ticketId));
      } else {
        const res = await app.inject({ method: 'POST', url: '/v1/tickets', headers: { ...bearer('desk-BY'), 'idempotency-key': `k-${i}-${randomBytes(3).toString('hex')}` }, payload: ticketBody({ reporter, service: i % 3 === 0 ? 'elfe' : 'uvo', category: i % 5 === 0 ? 'question' : 'technical' }) });
        expect(res.statusCode, res.body).toBe(201);
        ids.push(res.json().id);
      }
    }
    for (const [i, id] of ids.entries()) {
      await app.inject({ method: 'POST', url: `/v1/tickets/${id}/events`, headers: { ...bearer('desk-BY'), 'idempotency-key': `acc-${id}` }, payload: { type: 'ACCEPT', note: 'angenommen' } });
      if (i % 8 === 1) await engine.applyEvent(desk, id, { type: 'SUGGEST_IMPROVEMENT', title: `Nachweise online hochladen ${i % 16 === 1 ? 'können' : 'erlauben'}`, description: 'Upload im Antrag' });
      if (i % 2 === 0) {
        await engine.applyEvent(desk, id, { type: 'ESCALATE', reason: 'technisch' });
        await h.runtime.queues.queue('events').add('accept', { ticketId: id, orgId: 'dataport', event: { type: 'ACCEPT' } }, { jobId: `acc-${id}` });
        await waitFor(async () => (await h!.runtime.queues.queue('events').getJob(`acc-${id}`))?.finishedOn, { what: 'the receipt' });
        await h.runtime.queues.queue('events').add('return', { ticketId: id, orgId: 'dataport', event: { type: 'RETURN', answer: 'behoben' } }, { jobId: `ret-${id}` });
        await waitFor(async () => (await h!.runtime.queues.queue('events').getJob(`ret-${id}`))?.finishedOn, { what: 'the answer' });
      }
      if (i % 3 !== 2) {
        await engine.applyEvent(desk, id, { type: 'RESOLVE', resolution: 'erledigt' });
        if (i % 3 === 0) await engine.applyEvent(desk, id, { type: 'CLOSE' });
      }
    }
    await waitFor(async () => (await h!.redis.xlen(`${h!.prefix}:outbox`)) === 0, { what: 'the relay' });
    await waitFor(async () => (await h!.redis.zcard(`${h!.prefix}:bix:score:all`)) > 0, { what: 'a backlog item' });
    const closed = await h.redis.zrange(`${h.prefix}:ix:closed`, 0, -1);
    expect(closed.length).toBeGreaterThan(5);

    // Past the retention window: the sweep erases every closed ticket, the purge follows.
    offset = 2 * 86_400_000;
    await waitFor(async () => (await h!.redis.zcard(`${h!.prefix}:ix:closed`)) === 0 && (await h!.redis.zcard(`${h!.prefix}:ix:erasing`)) === 0 && (await h!.redis.xlen(`${h!.prefix}:outbox`)) === 0, { what: 'retention', timeoutMs: 20_000 });

    const byPattern = new Map<string, string[]>();
    for (const key of await keysUnder(h.redis, h.prefix)) {
      const p = patternOf(h.prefix, key);
      byPattern.set(p, [...(byPattern.get(p) ?? []), key]);
    }
    const unknown = [...byPattern.keys()].filter((p) => !ALLOWED[p]);
    expect(unknown, `key patterns nobody said are bounded: ${unknown.map((p) => byPattern.get(p)![0]).join(', ')}`).toEqual([]);
    for (const [p, keys] of byPattern) {
      if (ALLOWED[p]!.why !== 'expires') continue;
      for (const key of keys) expect(await h.redis.ttl(key), key).toBeGreaterThan(0);
    }
    // The creations' idempotency records of erased tickets now expire.
    for (const id of closed) {
      const origin = JSON.parse((await h.redis.hget(`${h.prefix}:t:${id}`, 'o'))!) as { k: string };
      expect(await h.redis.ttl(origin.k), id).toBeGreaterThan(0);
      expect(await h.redis.hexists(`${h.prefix}:t:${id}`, 'r')).toBe(0);
    }
    // What the run wrote: the patterns it was about are there.
    for (const p of ['t:<ticket>', 't:<ticket>:h', 'idem:<org>:<key>', 'events', 'hb', '<queue>:<job>', 'stats:events', 'b:<item>', 'bx:<service>:<term>']) expect(byPattern.has(p), p).toBe(true);
  }, 90_000);

  it('heartbeats and relay consumers of processes that are gone are removed; a consumer holding entries is kept', async () => {
    h = await createHarness({ roles: ['sla'] });
    const hb = `${h.prefix}:hb`;
    await h.redis.zadd(hb, Date.now() - 3_600_000, 'sla@gone-host:1');
    await waitFor(async () => (await h!.redis.zscore(hb, 'sla@gone-host:1')) === null, { what: 'the stale heartbeat to go', timeoutMs: 12_000 });
    expect((await h.redis.zrange(hb, 0, -1)).some((m) => m.startsWith('sla@'))).toBe(true);

    const prefix = newPrefix();
    const keys = makeKeys(prefix);
    const redis = new Redis(redisUrl());
    try {
      await redis.xgroup('CREATE', keys.outbox, 'relay', '0', 'MKSTREAM');
      await redis.xgroup('CREATECONSUMER', keys.outbox, 'relay', 'gone@host:1');
      // A silent consumer that still holds an entry: its entry must be claimed, never dropped with it.
      await redis.xadd(keys.outbox, '*', 't', 'T0000000000000000000', 'v', '1', 'fx', '[]');
      await redis.xreadgroup('GROUP', 'relay', 'busy@host:2', 'COUNT', 1, 'STREAMS', keys.outbox, '>');
      const relayRedis = new Redis(redisUrl());
      const relay = createOutboxRelay({
        outbox: createRelayOutbox(relayRedis, keys, { consumer: 'live@host:3' }), logger: pino({ level: 'silent' }), claimIdleMs: 3_600_000, goneIdleMs: 50,
        executors: { 'timer.arm': async () => {}, 'timer.move': async () => {}, 'timer.cancel': async () => {}, handoff: async () => {}, backlog: async () => {}, erase: async () => {} },
      });
      const names = async () => ((await redis.xinfo('CONSUMERS', keys.outbox, 'relay')) as unknown[][]).map((c) => String(c[1]));
      await waitFor(async () => {
        await relay.drain();
        return !(await names()).includes('gone@host:1');
      }, { what: 'the gone consumer to be removed' });
      expect(await names()).toContain('busy@host:2');
      await relay.stop();
      relayRedis.disconnect();
    } finally {
      await dropPrefix(redis, prefix);
      redis.disconnect();
    }
  }, 30_000);
});
