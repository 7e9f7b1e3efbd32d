import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { externalRefIndex } from '../../src/engine/ticket/index.js';
import { createLogger } from '../../src/logger.js';
import { createRuntime } from '../../src/runtime.js';
import { backfillRefIndex, REF_INDEX_VERSION } from '../../src/store/read-model.js';
import { defaultTopology, dev, harnessPerTest, redisUrl, ticketBody, type Harness } from '../helpers/harness.js';

const open = harnessPerTest();

/** Every `ix:ref:<digest>` set of the prefix, with its members and scores. */
async function refSets(h: Harness): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  let cursor = '0';
  do {
    const [next, found] = await h.redis.scan(cursor, 'MATCH', `${h.prefix}:ix:ref:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of found) out[key] = await h.redis.zrange(key, 0, -1, 'WITHSCORES');
  } while (cursor !== '0');
  return out;
}

/** The layout of a Lotse from before the index by desk reference: no `ix:ref` sets, no upgrade step recorded. */
async function oldLayout(h: Harness, sets: Record<string, string[]>) {
  if (Object.keys(sets).length > 0) await h.redis.del(...Object.keys(sets));
  await h.redis.hdel(h.runtime.keys.upgrade, 'ix:ref');
}

const refKey = (h: Harness) => (ref: string) => h.runtime.keys.index(externalRefIndex(ref));

describe('upgrade step: the index by desk reference for tickets written before it', () => {
  it('indexes every ticket as its creation would have, once, the same again when repeated or run by several processes', async () => {
    const h = await open({});
    const engine = h.runtime.engine;
    const created: { id: string; desk: string; ref: string }[] = [];
    for (let i = 0; i < 12; i++) {
      const land = ['HB', 'BY', 'NW'][i % 3]!;
      const body = ticketBody({ land });
      const { record } = await engine.createTicket(dev(`desk-${land}`), body);
      created.push({ id: record.id, desk: `desk-${land}`, ref: String(body.externalRef) });
    }
    // One reference used by two desks (each its own idempotency scope): one set, two members.
    const shared = ticketBody({ land: 'BY', externalRef: created[0]!.ref });
    created.push({ id: (await engine.createTicket(dev('desk-BY'), shared)).record.id, desk: 'desk-BY', ref: created[0]!.ref });
    await engine.applyEvent(dev('desk-BY'), created[1]!.id, { type: 'ACCEPT', note: 'angenommen' });

    const asCommitted = await refSets(h);
    expect(Object.keys(asCommitted)).toHaveLength(12);
    expect(Object.values(asCommitted).flat().filter((_, i) => i % 2 === 0)).toHaveLength(13);
    // A ticket gone (purged) after the older Lotse wrote it: nothing of it comes back.
    const gone = await engine.createTicket(dev('desk-HB'), ticketBody({ land: 'HB' }));
    await h.redis.del(h.runtime.keys.ticket(gone.record.id), h.runtime.keys.history(gone.record.id));
    const find = async (c: { desk: string; ref: string }) =>
      (await engine.listTickets(dev(c.desk), { externalRef: c.ref, limit: 50 })).items.map((t) => t.id).sort();

    await oldLayout(h, await refSets(h));
    for (const c of created) expect(await find(c)).toEqual([]);

    expect(await backfillRefIndex(h.redis, h.runtime.keys, refKey(h))).toBe(13);
    expect(await refSets(h)).toEqual(asCommitted);
    expect(await h.redis.hget(h.runtime.keys.upgrade, 'ix:ref')).toBe(String(REF_INDEX_VERSION));
    for (const c of created) {
      const expected = created.filter((o) => o.ref === c.ref && (o.desk === c.desk || o.id === c.id)).map((o) => o.id);
      const found = await find(c);
      expect(found).toEqual(expect.arrayContaining(expected));
      expect(new Set(found).size).toBe(found.length);
    }
    const operatorHits = await engine.listTickets(dev('ops-bremen'), { externalRef: created[0]!.ref, limit: 50 });
    expect(operatorHits.items.map((t) => t.id).sort()).toEqual([created[0]!.id, created[12]!.id].sort());

    // Done: a second start reads the mark and does nothing.
    expect(await backfillRefIndex(h.redis, h.runtime.keys, refKey(h))).toBeNull();
    // Run again without the mark (a run cut short before it): nothing added, the same sets.
    await h.redis.hdel(h.runtime.keys.upgrade, 'ix:ref');
    expect(await backfillRefIndex(h.redis, h.runtime.keys, refKey(h))).toBe(0);
    expect(await refSets(h)).toEqual(asCommitted);

    // Several processes starting at once: each member added once between them, the same sets.
    await oldLayout(h, asCommitted);
    const runs = await Promise.all([1, 2, 3].map(() => backfillRefIndex(h.redis, h.runtime.keys, refKey(h))));
    expect(runs.reduce((a, b) => (a ?? 0) + (b ?? 0), 0)).toBe(13);
    expect(await refSets(h)).toEqual(asCommitted);
  });

  it('is taken by a starting process, which then finds the older tickets through GET /v1/tickets?externalRef=', async () => {
    const h = await open({});
    const body = ticketBody({ land: 'HB' });
    const { record } = await h.runtime.engine.createTicket(dev('desk-HB'), body);
    const asCommitted = await refSets(h);
    await oldLayout(h, asCommitted);

    const second = await createRuntime({ config: loadConfig({ LOTSE_PREFIX: h.prefix, LOG_LEVEL: 'silent', LOTSE_MAX_EVENT_LOOP_DELAY_MS: '0' }), redisUrl: redisUrl(), topology: defaultTopology, logger: createLogger('silent'), env: {} });
    try {
      expect(await refSets(h)).toEqual(asCommitted);
      const app = await second.buildApp();
      try {
        const res = await app.inject({ method: 'GET', url: `/v1/tickets?externalRef=${encodeURIComponent(String(body.externalRef))}`, headers: { authorization: 'Bearer dev-desk-HB' } });
        expect(res.statusCode, res.body).toBe(200);
        expect((res.json() as { items: { id: string }[] }).items.map((t) => t.id)).toEqual([record.id]);
      } finally {
        await app.close();
      }
    } finally {
      await second.close();
    }
  });
});
