import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/http/app.js';
import { createLogger } from '../../src/logger.js';
import { createEventHub } from '../../src/store/event-hub.js';
import { bearer, createHarness, waitFor, type Harness } from '../helpers/harness.js';
import { openStream } from '../helpers/sse.js';

/*
 * Issue 18: one key cannot take the live feed. Each key holds a bounded
 * number of streams (429 with Retry-After beyond it), and a resume replays
 * at most a bounded window, read once for all clients resuming from the same point.
 */

let h: Harness;
let app: App;
let base: string;
const streams: { close(): Promise<void> }[] = [];
const MAX_PER_KEY = 2;
const REPLAY_MAX = 3;
let entryIds: string[] = [];

beforeAll(async () => {
  h = await createHarness({ env: { LOTSE_STREAM_MAX_PER_KEY: String(MAX_PER_KEY), LOTSE_STREAM_REPLAY_MAX: String(REPLAY_MAX), LOTSE_STREAM_HEARTBEAT_MS: '100' } });
  app = await h.app();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  // Ten entries on the stream, as the relay writes them (the operator's stream reads them without ticket facts).
  entryIds = [];
  for (let i = 0; i < 10; i++) {
    const event = JSON.stringify({ specversion: '1.0', id: `e${i}`, source: 'urn:test', type: 'lotse.ticket.created', subject: `T-${i}`, time: new Date().toISOString(), datacontenttype: 'application/json', data: {} });
    entryIds.push((await h.redis.xadd(`${h.prefix}:events`, '*', 'subject', `T-${i}`, 'event', event))!);
  }
});

afterAll(async () => {
  await Promise.all(streams.map((s) => s.close()));
  await h.close();
});

async function open(headers: Record<string, string>) {
  const s = await openStream(`${base}/v1/stream`, headers);
  streams.push(s);
  return s;
}

describe('streams per key', () => {
  it('a key holds at most the configured number of streams: 429 with Retry-After beyond, other keys unaffected', async () => {
    const first = await open(bearer('desk-HB'));
    const second = await open(bearer('desk-HB'));
    expect([first.status, second.status]).toEqual([200, 200]);
    const third = await fetch(`${base}/v1/stream`, { headers: bearer('desk-HB') });
    expect(third.status).toBe(429);
    expect(third.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    const other = await open(bearer('desk-BY'));
    expect(other.status).toBe(200);
    // Closing one frees its place.
    await first.close();
    const again = await waitFor(async () => {
      const res = await openStream(`${base}/v1/stream`, bearer('desk-HB'));
      streams.push(res);
      return res.status === 200 ? res : (await res.close(), false);
    }, { what: 'a place for desk-HB once one stream closed' });
    expect(again.status).toBe(200);
  });
});

describe('resume', () => {
  it('replays at most the configured window: the newest entries after Last-Event-ID', async () => {
    const s = await open({ ...bearer('ops-bremen'), 'last-event-id': '0-0' });
    expect(s.status).toBe(200);
    const got: string[] = [];
    for (let i = 0; i < REPLAY_MAX; i++) got.push((await s.next((f) => f.data !== undefined)).id!);
    expect(got).toEqual(entryIds.slice(-REPLAY_MAX));
    // Nothing older follows: the catch-up is over once the stream says it is connected.
    await s.next((f) => f.comment === 'connected');
    await s.close();
  });

  it('concurrent resumes from the same point read the stream once', async () => {
    const hub = createEventHub({ redis: h.redis, key: `${h.prefix}:events`, logger: createLogger('silent'), connect: () => h.redis.duplicate() });
    try {
      const replays = await Promise.all(Array.from({ length: 20 }, () => hub.replay('0-0', REPLAY_MAX)));
      expect(hub.replayReads).toBe(1);
      for (const r of replays) expect(r.entries.map((e) => e.id)).toEqual(entryIds.slice(-REPLAY_MAX));
      expect(replays[0]!.truncated).toBe(true);
      // Another point is another read.
      await hub.replay(entryIds[8]!, REPLAY_MAX);
      expect(hub.replayReads).toBe(2);
    } finally {
      await hub.close();
    }
  });
});
