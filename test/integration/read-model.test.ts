import { describe, expect, it } from 'vitest';
import { LAND_CODES as LANDS } from '../../src/domain/ids.js';
import { PRIORITIES } from '../../src/domain/topology.js';
import type { HistoryEntry } from '../../src/domain/ticket.js';
import type { TicketListQuery as ListQuery } from '../../src/domain/ticket.js';
import { stateInfo, type TicketRecord } from '../../src/engine/ticket/index.js';
import { createStatsReader } from '../../src/dashboard/stats-reader.js';
import { createReadModel, migrateActiveCounters } from '../../src/store/read-model.js';
import { AppError } from '../../src/errors.js';
import { dev, harnessPerTest, ticketBody, waitFor, type Harness } from '../helpers/harness.js';
import { fastSlaTopology } from '../helpers/topologies.js';

const open = harnessPerTest();

/** A small deterministic generator, so a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const FILL: Record<string, Record<string, unknown>> = {
  ESCALATE: { reason: 'weiter' }, RETURN: { answer: 'Antwort' }, REJECT_HANDOFF: { reason: 'nicht zuständig' },
  RESOLVE: { resolution: 'gelöst' }, REOPEN: { reason: 'wieder da' }, ASSIGN: { assignee: 'ops-bremen', reason: 'übernehmen' },
  CHANGE_PRIORITY: { impact: 'high', urgency: 'high', reason: 'dringend' }, SUGGEST_IMPROVEMENT: { title: 'Vorschlag' }, NOTE: { text: 'Notiz' },
};

async function allTickets(h: Harness): Promise<TicketRecord[]> {
  const ids = await h.redis.zrange(`${h.prefix}:ix:all`, 0, -1);
  return Promise.all(ids.map((id) => h.runtime.engine.getTicket(dev('ops-bremen'), id)));
}

/** Every count the read model keeps, counted again from the tickets themselves. */
async function recount(h: Harness, tickets: TicketRecord[]) {
  const sets = new Map<string, number>();
  const add = (name: string) => sets.set(name, (sets.get(name) ?? 0) + 1);
  const hashes = { created: new Map<string, number>(), active: new Map<string, number>(), events: new Map<string, number>(), sla: new Map<string, number>() };
  const inc = (m: Map<string, number>, f: string) => m.set(f, (m.get(f) ?? 0) + 1);
  for (const t of tickets) {
    const info = stateInfo(t.state.value);
    const ctx = t.state.context;
    add('all');
    add(`status:${info.status}`);
    add(`land:${ctx.facts.land}`);
    add(`service:${ctx.facts.service}`);
    if (info.level !== null) {
      add('active');
      add(`level:${info.level}`);
      add(`assignee:${ctx.assignee}`);
      add(`priority:${ctx.priority}`);
      inc(hashes.active, `${ctx.facts.land}|${ctx.facts.service}|${ctx.priority}`);
    }
    const history = (await h.runtime.engine.history(dev('ops-bremen'), t.id)) as HistoryEntry[];
    let priority = '';
    for (const e of history) {
      inc(hashes.events, e.type);
      // CHANGE_PRIORITY in this test always asks for high × high: P1 on the default matrix.
      if (e.type === 'CREATED') priority = String(e.details!.priority);
      if (e.type === 'CHANGE_PRIORITY') priority = 'P1';
      if (e.type === 'CREATED') inc(hashes.created, `${new Date(e.at).getUTCFullYear()}|${ctx.facts.land}|${ctx.facts.service}|${priority}`);
      if (e.type === 'SLA_WARNING' || e.type === 'SLA_BREACHED') inc(hashes.sla, `${e.type === 'SLA_WARNING' ? 'warning' : 'breach'}|${String(e.details!.clock)}|${priority}`);
    }
  }
  return { sets, hashes };
}

describe('read model kept by the commit', () => {
  it('never drifts from a full count over the tickets, through concurrent events, retries and timers', async () => {
    const topology = fastSlaTopology({ firstResponse: 3, resolution: 6, receipt: 3 });
    const h = await open({ topology, roles: ['sla', 'relay'] });
    const engine = h.runtime.engine;
    const random = rng(7);
    const pick = <T,>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const services = ['elfe', 'uvo', 'vms', 'ehe'];
    const grades = ['low', 'medium', 'high'] as const;
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const land = pick(LANDS);
      const body = ticketBody({ land, service: pick(services), impact: pick(grades), urgency: pick(grades), category: pick(['technical', 'question', 'subject-matter']) });
      const created = await engine.createTicket(dev(`desk-${land}`), body);
      ids.push(created.record.id);
      // A retried creation (same key, same body) must count once.
      if (i % 5 === 0) await engine.createTicket(dev(`desk-${land}`), body);
    }

    let applied = 0;
    for (let round = 0; round < 40; round++) {
      // Eight events at once, some on the same ticket, some sent twice under one idempotency key.
      await Promise.all(Array.from({ length: 8 }, async (_, k) => {
        const id = pick(ids);
        const record = await engine.getTicket(dev('ops-bremen'), id);
        const holder = dev(record.state.context.assignee);
        const sender = random() < 0.7 ? holder : dev('ops-bremen');
        const allowed = engine.allowedEvents(sender, record);
        if (allowed.length === 0) return;
        const type = pick(allowed);
        const event = { type, ...FILL[type] };
        const key = `r${round}-${k}`;
        for (let attempt = 0; attempt < (k % 3 === 0 ? 2 : 1); attempt++) {
          try {
            await engine.applyEventOnce(sender, id, event, { idempotencyKey: key });
            applied++;
          } catch (err) {
            if (!(err instanceof AppError) || !['INVALID_TRANSITION', 'FORBIDDEN', 'VERSION_CONFLICT', 'LIMIT_REACHED'].includes(err.code)) throw err;
          }
        }
      }));
    }
    expect(applied).toBeGreaterThan(150);
    // Timers fire meanwhile; wait until some warnings and breaches were recorded, then until the relay is idle.
    await waitFor(async () => Number(await h.redis.hlen(`${h.prefix}:stats:sla`)) > 0, { timeoutMs: 20_000, what: 'an SLA warning' });

    const tickets = await allTickets(h);
    expect(tickets).toHaveLength(40);
    const expected = await recount(h, tickets);
    const names = [
      'all', 'active', ...['new', 'open', 'waiting', 'handoff-pending', 'resolved', 'closed'].map((s) => `status:${s}`),
      ...[1, 2, 3].map((l) => `level:${l}`), ...LANDS.map((l) => `land:${l}`),
      ...services.map((s) => `service:${s}`), ...PRIORITIES.map((p) => `priority:${p}`),
      ...[...topology.orgs.keys()].map((o) => `assignee:${o}`),
    ];
    // The two reads race the sla worker: read the model and recount until both agree on a quiet moment.
    const actual = async () => {
      const cards = await Promise.all(names.map((n) => h.redis.zcard(`${h.prefix}:ix:${n}`)));
      return new Map(names.map((n, i) => [n, cards[i]!] as const).filter(([, c]) => c > 0));
    };
    const hashesNow = async () => ({
      created: new Map(Object.entries(await h.redis.hgetall(`${h.prefix}:stats:created`)).map(([k, v]) => [k, Number(v)])),
      // A field that went back to 0 counts nothing: HINCRBY keeps it, the recount has none.
      active: new Map(Object.entries(await h.redis.hgetall(`${h.prefix}:stats:active`)).map(([k, v]) => [k, Number(v)] as const).filter(([, n]) => n !== 0)),
      events: new Map(Object.entries(await h.redis.hgetall(`${h.prefix}:stats:events`)).map(([k, v]) => [k, Number(v)])),
      sla: new Map(Object.entries(await h.redis.hgetall(`${h.prefix}:stats:sla`)).map(([k, v]) => [k, Number(v)])),
    });
    // /v1/stats's counts, each with the tickets its list query lists (read at the same quiet moment).
    const reader = createStatsReader({ readModel: createReadModel(h.redis, h.runtime.keys), topology, queues: h.runtime.queues });
    const statsNow = async () => {
      const out: { what: string; count: number; listed: string[] }[] = [];
      for (const [group, counts] of Object.entries((await reader.read()).tickets)) {
        for (const [key, c] of Object.entries(counts)) out.push({ what: `${group}/${key} ${c.list}`, count: c.count, listed: (await listAllOf(c.list)).sort() });
      }
      return out;
    };
    const listAllOf = async (url: string) => {
      const query: ListQuery = { limit: 200 };
      for (const [k, v] of new URLSearchParams(url.split('?')[1] ?? '')) Object.assign(query, { [k]: k === 'active' ? v === 'true' : k === 'level' ? Number(v) : v });
      const ids: string[] = [];
      for (let cursor: string | null = ''; cursor !== null;) {
        const page = await engine.listTickets({ orgId: 'ops-bremen', role: 'operator' }, { ...query, cursor });
        ids.push(...page.items.map((t) => t.id));
        cursor = page.next;
      }
      return ids;
    };
    const settled = await waitFor(async () => {
      const before = await recount(h, await allTickets(h));
      const [sets, hashes, stats] = [await actual(), await hashesNow(), await statsNow()];
      const afterTickets = await allTickets(h);
      const after = await recount(h, afterTickets);
      const same = (a: Map<string, number>, b: Map<string, number>) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
      return same(before.sets, after.sets) && same(before.hashes.events, after.hashes.events) ? { expected: after, sets, hashes, stats, tickets: afterTickets } : false;
    }, { timeoutMs: 20_000, what: 'a quiet moment' });
    expect(expected.sets.size).toBeGreaterThan(10);
    expect(Object.fromEntries(settled.sets)).toEqual(Object.fromEntries(settled.expected.sets));
    expect(Object.fromEntries(settled.hashes.created)).toEqual(Object.fromEntries(settled.expected.hashes.created));
    expect(Object.fromEntries(settled.hashes.active)).toEqual(Object.fromEntries(settled.expected.hashes.active));
    expect([...settled.hashes.active.values()].every((n) => n > 0)).toBe(true);
    // Every count of /v1/stats is the length of its list, and the active ones are what the recount finds.
    for (const c of settled.stats) expect(c.listed.length, c.what).toBe(c.count);
    const activeNow = (match: (t: TicketRecord) => boolean) => settled.tickets.filter((t) => stateInfo(t.state.value).active && match(t)).length;
    const count = (what: string) => settled.stats.find((c) => c.what.startsWith(`${what} `))!.count;
    expect(count('total/active')).toBe(activeNow(() => true));
    expect(count('total/active')).toBeGreaterThan(0);
    for (const land of LANDS) expect(count(`land/${land}`), land).toBe(activeNow((t) => t.state.context.facts.land === land));
    for (const service of services) expect(count(`service/${service}`), service).toBe(activeNow((t) => t.state.context.facts.service === service));
    for (const p of PRIORITIES) expect(count(`priority/${p}`), p).toBe(activeNow((t) => t.state.context.priority === p));
    expect(Object.fromEntries(settled.hashes.events)).toEqual(Object.fromEntries(settled.expected.hashes.events));
    expect(Object.fromEntries(settled.hashes.sla)).toEqual(Object.fromEntries(settled.expected.hashes.sla));
    expect([...settled.hashes.created.values()].reduce((a, b) => a + b, 0)).toBe(40);
  }, 90_000);

  it('builds the active counters from the sets an older Lotse kept, once, and drops those sets', async () => {
    const h = await open({});
    const engine = h.runtime.engine;
    const ids: string[] = [];
    for (const [land, service, impact] of [['HB', 'elfe', 'high'], ['HB', 'elfe', 'high'], ['BY', 'uvo', 'low'], ['NW', 'ehe', 'medium']] as const) {
      ids.push((await engine.createTicket(dev(`desk-${land}`), ticketBody({ land, service, impact }))).record.id);
    }
    await engine.applyEvent(dev('desk-NW'), ids[3]!, { type: 'RESOLVE', resolution: 'erledigt' });
    const expected = (await recount(h, await allTickets(h))).hashes.active;
    expect(expected.size).toBe(2);
    // What the older Lotse had: the sets by Land and service of the active tickets, no active counters.
    const keys = h.runtime.keys;
    await h.redis.del(keys.stats('active'));
    for (const t of await allTickets(h)) {
      if (!stateInfo(t.state.value).active) continue;
      await h.redis.zadd(`${h.prefix}:ix:active:land:${t.state.context.facts.land}`, 0, t.id);
      await h.redis.zadd(`${h.prefix}:ix:active:service:${t.state.context.facts.service}`, 0, t.id);
    }
    const topology = { lands: [...LANDS], services: ['elfe', 'uvo', 'vms', 'ehe'], priorities: PRIORITIES };
    expect(await migrateActiveCounters(h.redis, keys, topology)).toBe(3);
    const counters = Object.fromEntries(Object.entries(await h.redis.hgetall(keys.stats('active'))).map(([k, v]) => [k, Number(v)]));
    expect(counters).toEqual(Object.fromEntries(expected));
    expect(await h.redis.exists(`${h.prefix}:ix:active:land:HB`, `${h.prefix}:ix:active:service:elfe`, `${h.prefix}:ix:active:land:BY`)).toBe(0);
    // A second start finds nothing to move and leaves the counters as they are.
    expect(await migrateActiveCounters(h.redis, keys, topology)).toBeNull();
    expect(Object.keys(await h.redis.hgetall(keys.stats('active')))).toHaveLength(2);

    // An older process that still ran wrote its sets again (and moved no counter): the next start
    // rebuilds the counters from the sets both versions keep, it does not add to them.
    await h.redis.hincrby(keys.stats('active'), 'HB|elfe|P2', 5);
    await h.redis.zadd(`${h.prefix}:ix:active:land:HB`, 0, ids[0]!);
    expect(await migrateActiveCounters(h.redis, keys, topology)).toBe(3);
    const again = Object.fromEntries(Object.entries(await h.redis.hgetall(keys.stats('active'))).map(([k, v]) => [k, Number(v)]));
    expect(again).toEqual(Object.fromEntries(expected));
    expect(await h.redis.exists(`${h.prefix}:ix:active:land:HB`, `${keys.stats('active')}:rebuild`)).toBe(0);
  });
});
