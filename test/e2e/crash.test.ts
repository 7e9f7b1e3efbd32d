import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dropPrefix, newPrefix, redisUrl, ticketBody, waitFor } from '../helpers/harness.js';
import { spawnLotse, type LotseProcess } from '../helpers/process.js';

let redis: Redis;
let prefix: string;
const running: LotseProcess[] = [];

beforeEach(() => {
  redis = new Redis(redisUrl());
  prefix = newPrefix('crash');
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.kill()));
  await dropPrefix(redis, prefix);
  redis.disconnect();
});

function start(env: Record<string, string> = {}): LotseProcess {
  const p = spawnLotse(['start'], { REDIS_URL: redisUrl(), LOTSE_PREFIX: prefix, LOTSE_RELAY_CLAIM_IDLE_MS: '300', ...env });
  running.push(p);
  return p;
}

async function post(url: string, body: unknown): Promise<Response> {
  return fetch(`${url}/v1/tickets`, {
    method: 'POST',
    headers: { authorization: 'Bearer dev-desk-HB', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** The CloudEvents on the public stream for one ticket version. */
async function published(id: string): Promise<number> {
  const entries = await redis.xrange(`${prefix}:events`, '-', '+');
  return entries.filter(([, fields]) => fields[1] === id).length;
}

async function timerJobs(ticketId: string): Promise<string[]> {
  const delayed = await redis.zrange(`${prefix}:sla:delayed`, 0, -1);
  return delayed.filter((id) => id.startsWith(`timer-${ticketId}-`));
}

describe('a process killed between commit and effect', () => {
  it('runs the effect once after a restart when it died right after the commit', async () => {
    const first = start({ LOTSE_FAILPOINT: 'engine-after-commit' });
    const url = await first.url();
    const body = ticketBody({ land: 'HB', externalRef: 'HB-crash-1' });
    // The process kills itself after committing, before it answers.
    await expect(post(url, body)).rejects.toThrow();
    expect((await first.exited).signal).toBe('SIGKILL');

    const [ticketId] = await redis.zrange(`${prefix}:ix:all`, 0, -1);
    expect(ticketId).toBeDefined();
    expect(await redis.hget(`${prefix}:t:${ticketId}`, 'v')).toBe('1');
    expect(await redis.xlen(`${prefix}:outbox`)).toBe(1);
    expect(await published(`${ticketId}-v1`)).toBe(0);

    const second = start();
    await second.url();
    await waitFor(async () => (await redis.xlen(`${prefix}:outbox`)) === 0, { what: 'the outbox to drain' });
    expect(await published(`${ticketId}-v1`)).toBe(1);
    expect(await timerJobs(ticketId!)).toEqual([`timer-${ticketId}-1`]);

    // The desk retries the request it never got an answer to: the same ticket comes back.
    const retry = await post(await second.url(), body);
    expect(retry.status).toBe(200);
    expect(((await retry.json()) as { id: string }).id).toBe(ticketId);
    expect(await redis.zcard(`${prefix}:ix:all`)).toBe(1);
    expect(await published(`${ticketId}-v1`)).toBe(1);
  });

  it('runs each effect once when the relay died after running them but before finishing', async () => {
    const first = start({ LOTSE_FAILPOINT: 'relay-before-finish' });
    const url = await first.url();
    const res = await post(url, ticketBody({ land: 'HB', externalRef: 'HB-crash-2' }));
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    expect((await first.exited).signal).toBe('SIGKILL');
    // The timer was armed, the stream event not yet published, the entry still pending.
    expect(await timerJobs(id)).toEqual([`timer-${id}-1`]);
    expect(await published(`${id}-v1`)).toBe(0);
    expect(await redis.xlen(`${prefix}:outbox`)).toBe(1);

    const second = start();
    await second.url();
    await waitFor(async () => (await redis.xlen(`${prefix}:outbox`)) === 0, { what: 'the pending entry to be claimed and finished' });
    expect(await published(`${id}-v1`)).toBe(1);
    expect(await timerJobs(id)).toEqual([`timer-${id}-1`]);
    expect(await redis.xpending(`${prefix}:outbox`, 'relay')).toEqual([0, null, null, null]);
    const stop = await second.stop();
    expect(stop.code).toBe(0);
  });
});
