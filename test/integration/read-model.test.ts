import { describe, expect, it } from 'vitest';
import { LAND_CODES as LANDS } from '../../src/domain/ids.js';
import { PRIORITIES } from '../../src/domain/topology.js';
import type { HistoryEntry } from '../../src/engine/effects.js';
import { stateInfo, type TicketRecord } from '../../src/engine/ticket-record.js';
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
  CHANGE_PRIORITY: { impact: 'high', urgency: 'high', reason: 'dringend' }, SUGGEST_IMPROVEMENT: { title: 'Vorschlag' },
};

async function allTickets(h: Harness): Promise<TicketRecord[]> {
  const ids = await h.redis.zrange(`${h.prefix}:ix:all`, 0, -1);
  return Promise.all(ids.map((id) => h.runtime.engine.getTicket(dev('ops-bremen'), id)));
}

/** Every count the read model keeps, counted again from the tickets themselves. */
async function recount(h: Harness, tickets: TicketRecord[]) {
  const sets = new Map<string, number>();
  const add = (name: string) => sets.set(name, (sets.get(name) ?? 0) + 1);
  const hashes = { created: new Map<string, number>(), events: new Map<string, number>(), sla: new Map<string, number>() };
  const inc = (m: Map<string, number>, f: string) => m.set(f, (m.get(f) ?? 0) + 1);
  for (const t of tickets) {
    const info = stateInfo(t.state.value);
    const ctx = t.state.context;
    add('all');
    add(`status:${info.status}`);
    add(`land:${t.data.land}`);
    add(`service:${t.data.service}`);
    if (info.level !== null) {
      add('active');
      add(`level:${info.level}`);
      add(`assignee:${ctx.assignee}`);
      add(`active:land:${t.data.land}`);
      add(`active:service:${t.data.service}`);
      add(`priority:${ctx.priority}`);
    }
    const history = (await h.runtime.engine.history(dev('ops-bremen'), t.id)) as HistoryEntry[];
    let priority = '';
    for (const e of history) {
      inc(hashes.events, e.type);
      // CHANGE_PRIORITY in this test always asks for high × high: P1 on the default matrix.
      if (e.type === 'CREATED') priority = String(e.details!.priority);
      if (e.type === 'CHANGE_PRIORITY') priority = 'P1';
      if (e.type === 'CREATED') inc(hashes.created, `${t.data.land}|${t.data.service}|${priority}`);
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
      ...[1, 2, 3].map((l) => `level:${l}`), ...LANDS.flatMap((l) => [`land:${l}`, `active:land:${l}`]),
      ...services.flatMap((s) => [`service:${s}`, `active:service:${s}`]), ...PRIORITIES.map((p) => `priority:${p}`),
      ...[...topology.orgs.keys()].map((o) => `assignee:${o}`),
    ];
    // The two reads race the sla worker: read the model and recount until both agree on a quiet moment.
    const actual = async () => {
      const cards = await Promise.all(names.map((n) => h.redis.zcard(`${h.prefix}:ix:${n}`)));
      return new Map(names.map((n, i) => [n, cards[i]!] as const).filter(([, c]) => c > 0));
    };
    const hashesNow = async () => ({
      created: new Map(Object.entries(await h.redis.hgetall(`${h.prefix}:stats:created`)).map(([k, v]) => [k, Number(v)])),
      events: new Map(Object.entries(await h.redis.hgetall(`${h.prefix}:stats:events`)).map(([k, v]) => [k, Number(v)])),
      sla: new Map(Object.entries(await h.redis.hgetall(`${h.prefix}:stats:sla`)).map(([k, v]) => [k, Number(v)])),
    });
    const settled = await waitFor(async () => {
      const before = await recount(h, await allTickets(h));
      const [sets, hashes] = [await actual(), await hashesNow()];
      const after = await recount(h, await allTickets(h));
      const same = (a: Map<string, number>, b: Map<string, number>) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
      return same(before.sets, after.sets) && same(before.hashes.events, after.hashes.events) ? { expected: after, sets, hashes } : false;
    }, { timeoutMs: 20_000, what: 'a quiet moment' });
    expect(expected.sets.size).toBeGreaterThan(10);
    expect(Object.fromEntries(settled.sets)).toEqual(Object.fromEntries(settled.expected.sets));
    expect(Object.fromEntries(settled.hashes.created)).toEqual(Object.fromEntries(settled.expected.hashes.created));
    expect(Object.fromEntries(settled.hashes.events)).toEqual(Object.fromEntries(settled.expected.hashes.events));
    expect(Object.fromEntries(settled.hashes.sla)).toEqual(Object.fromEntries(settled.expected.hashes.sla));
    expect([...settled.hashes.created.values()].reduce((a, b) => a + b, 0)).toBe(40);
  }, 90_000);
});
