import { describe, expect, it } from 'vitest';
import { bearer, dev, harnessPerTest, ticketBody, waitFor, type Harness } from '../helpers/harness.js';
import { relayOnce } from '../helpers/relay.js';

const open = harnessPerTest();

async function send(h: Harness, path: string, payload: unknown, status: number) {
  const res = await (await h.app()).inject({ method: 'POST', url: path, headers: bearer('desk-BY'), payload: payload as Record<string, unknown> });
  expect(res.statusCode, res.body).toBe(status);
  return res.json() as { id: string };
}

/** The event ids on the events stream, in stream order. */
const published = async (h: Harness) => ((await h.redis.xrange(h.runtime.keys.events, '-', '+')) as [string, string[]][]).map(([, f]) => f[1]);
const lastOutboxId = async (h: Harness) => {
  const info = (await h.redis.xinfo('STREAM', h.runtime.keys.outbox)) as unknown[];
  return String(info[info.indexOf('last-generated-id') + 1]);
};


/** The event ids of one ticket on the events stream, in stream order. */
const publishedOf = async (h: Harness, id: string) => (await published(h)).filter((e) => e?.startsWith(`${id}-`));

describe('a change whose only effects are stream events', () => {
  it('goes through the outbox while an earlier entry is pending (it never overtakes one), and is published by its own commit once the outbox is empty', async () => {
    // No relay yet: the creation's entry (its timer, its event) stays pending.
    const h = await open({ roles: [] });
    const { id } = await send(h, '/v1/tickets', ticketBody(), 201);
    expect(await h.redis.xlen(h.runtime.keys.outbox)).toBe(1);
    await send(h, `/v1/tickets/${id}/events`, { type: 'ACCEPT' }, 200);
    // Publish-only, but behind the creation's entry: an outbox entry of its own, nothing published yet.
    expect(await h.redis.xlen(h.runtime.keys.outbox)).toBe(2);
    expect(await published(h)).toEqual([]);

    await h.runtime.startWorkers(['relay']);
    await waitFor(async () => (await h.redis.xlen(h.runtime.keys.outbox)) === 0, { what: 'the relay to drain the outbox' });
    expect(await published(h)).toEqual([`${id}-v1`, `${id}-v2`]);

    // The outbox is empty now: the note's event is on the stream when its request is answered, without an outbox entry.
    const before = await lastOutboxId(h);
    await send(h, `/v1/tickets/${id}/events`, { type: 'NOTE', text: 'Rückruf vereinbart' }, 200);
    expect(await published(h)).toEqual([`${id}-v1`, `${id}-v2`, `${id}-v3`]);
    expect(await lastOutboxId(h)).toBe(before);
  });

  it("is published by its own commit while only entries after the ticket's own last one are pending (another ticket's), and held back while one of its own is", async () => {
    const h = await open({ roles: [] });
    const x = (await send(h, '/v1/tickets', ticketBody(), 201)).id;
    await relayOnce(h);
    expect(await published(h)).toEqual([`${x}-v1`]);
    // A newer ticket's creation is pending: the outbox is not empty, but nothing of x is in it.
    const y = (await send(h, '/v1/tickets', ticketBody(), 201)).id;
    expect(await h.redis.xlen(h.runtime.keys.outbox)).toBe(1);
    await send(h, `/v1/tickets/${x}/events`, { type: 'ACCEPT' }, 200);
    // x's ACCEPT is on the stream at once, without an outbox entry; y's creation still waits for the relay.
    expect(await published(h)).toEqual([`${x}-v1`, `${x}-v2`]);
    expect(await h.redis.xlen(h.runtime.keys.outbox)).toBe(1);
    // y's own creation is pending: its ACCEPT goes behind it through the outbox.
    await send(h, `/v1/tickets/${y}/events`, { type: 'ACCEPT' }, 200);
    expect(await h.redis.xlen(h.runtime.keys.outbox)).toBe(2);
    await relayOnce(h);
    expect(await published(h)).toEqual([`${x}-v1`, `${x}-v2`, `${y}-v1`, `${y}-v2`]);
  });

  it('is held back by an older entry of another ticket still pending (no entry at or before its own last one may be left)', async () => {
    const h = await open({ roles: [] });
    const older = (await send(h, '/v1/tickets', ticketBody(), 201)).id;
    const x = (await send(h, '/v1/tickets', ticketBody(), 201)).id;
    await send(h, `/v1/tickets/${x}/events`, { type: 'ACCEPT' }, 200);
    expect(await h.redis.xlen(h.runtime.keys.outbox)).toBe(3);
    expect(await published(h)).toEqual([]);
    await relayOnce(h);
    expect(await published(h)).toEqual([`${older}-v1`, `${x}-v1`, `${x}-v2`]);
  });

  it('asks for an empty outbox when a commit that keeps no `ob` came in between (an older Lotse in a rolling upgrade)', async () => {
    const h = await open({ roles: [] });
    const x = (await send(h, '/v1/tickets', ticketBody(), 201)).id;
    await relayOnce(h);
    const key = h.runtime.keys.ticket(x);
    const known = await h.redis.hget(key, 'ob');
    expect(known).toMatch(/^\d+-\d+\|1$/);
    // A change with an effect for the relay (a suggestion): its entry is pending. Then `ob` as an older
    // Lotse would leave it: naming the entry before, of version 1, though the ticket is at version 2 now.
    await send(h, `/v1/tickets/${x}/events`, { type: 'SUGGEST_IMPROVEMENT', title: 'Formular vereinfachen' }, 200);
    await h.redis.hset(key, 'ob', known!);
    await send(h, `/v1/tickets/${x}/events`, { type: 'NOTE', text: 'Rückruf vereinbart' }, 200);
    // Not published over the pending entry: behind it through the outbox.
    expect(await h.redis.xlen(h.runtime.keys.outbox)).toBe(2);
    expect(await published(h)).toEqual([`${x}-v1`]);
    await relayOnce(h);
    expect(await published(h)).toEqual([`${x}-v1`, `${x}-v2`, `${x}-v3`]);
  });

  it("keeps every ticket's events in version order and each exactly once, with many tickets changing while the relay runs", async () => {
    const h = await open({ roles: ['relay'] });
    const desk = dev('desk-BY');
    const { engine } = h.runtime;
    const tickets = 24;
    const notes = 6;
    const ids = await Promise.all(Array.from({ length: tickets }, async () => (await engine.createTicket(desk, ticketBody() as never)).record.id));
    // Each ticket's changes one after the other (a change waits for its answer), the tickets side by side:
    // some changes find their ticket's last entry still pending, others find it finished.
    await Promise.all(ids.map(async (id) => {
      await engine.applyEvent(desk, id, { type: 'ACCEPT' });
      for (let n = 0; n < notes; n++) await engine.applyEvent(desk, id, { type: 'NOTE', text: `Notiz ${n}` });
    }));
    await waitFor(async () => (await h.redis.xlen(h.runtime.keys.outbox)) === 0, { what: 'the relay to drain the outbox' });
    for (const id of ids) expect(await publishedOf(h, id)).toEqual(Array.from({ length: notes + 2 }, (_, i) => `${id}-v${i + 1}`));
  });
});
