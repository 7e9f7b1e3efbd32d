import { describe, expect, it } from 'vitest';
import { bearer, harnessPerTest, ticketBody, waitFor, type Harness } from '../helpers/harness.js';

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
});
