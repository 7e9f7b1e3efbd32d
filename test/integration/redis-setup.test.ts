import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { NoRedisError, resolveRedis } from '../../src/embedded-redis.js';
import { checkRedis } from '../../src/redis-check.js';
import { freePort, startRedisServer } from '../helpers/find-redis.js';
import { redisUrl } from '../helpers/harness.js';
import { spawnLotse } from '../helpers/process.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('the embedded default (npm start without REDIS_URL)', () => {
  it('uses REDIS_URL when it is set', async () => {
    expect(await resolveRedis('redis://elsewhere:6380', '.lotse', () => undefined)).toEqual({ url: 'redis://elsewhere:6380' });
  });

  it('starts its own redis-server with an append-only file under the data directory when nothing answers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lotse-embedded-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const lines: string[] = [];
    const resolved = await resolveRedis(undefined, dir, (l) => lines.push(l), { port, binary: 'redis-server' });
    cleanup.push(() => resolved.stop?.());
    expect(resolved.url).toBe(`redis://127.0.0.1:${port}`);
    const client = new Redis(resolved.url);
    cleanup.push(() => client.disconnect());
    await client.set('k', 'v');
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expect(await checkRedis(client)).toBeNull();
    expect(existsSync(join(dir, 'redis'))).toBe(true);
    expect(readdirSync(join(dir, 'redis')).some((f) => f.startsWith('appendonly'))).toBe(true);
    expect(lines).toEqual([expect.stringContaining(`started redis-server on 127.0.0.1:${port}`)]);
  });

  it('uses a Redis that already answers instead of starting one', async () => {
    const server = await startRedisServer();
    cleanup.push(() => server.stop());
    const resolved = await resolveRedis(undefined, '.lotse', () => undefined, { port: server.port, binary: 'no-such-binary' });
    expect(resolved).toEqual({ url: server.url });
  });

  it('says in one line what to do when there is no Redis and no redis-server', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lotse-embedded-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const err = await resolveRedis(undefined, dir, () => undefined, { port: await freePort(), binary: 'no-such-redis-server' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoRedisError);
    expect((err as Error).message).toMatch(/^No Redis: install redis-server .*docker run -d .*redis:7-alpine --maxmemory-policy noeviction.*, or set REDIS_URL/);
    expect((err as Error).message).not.toContain('\n');
  });
});

describe('the Redis check at start', () => {
  it('refuses a Redis that evicts keys, in one line, with exit code 1', async () => {
    const server = await startRedisServer();
    cleanup.push(() => server.stop());
    const admin = new Redis(server.url);
    cleanup.push(() => admin.disconnect());
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    expect(await checkRedis(admin)).toMatch(/maxmemory-policy allkeys-lru/);

    const lotse = spawnLotse(['start'], { REDIS_URL: server.url });
    const { code } = await lotse.exited;
    expect(code).toBe(1);
    const said = lotse.logs.filter((l) => 'stderr' in l).map((l) => String(l.stderr));
    expect(said).toEqual([expect.stringMatching(/^Redis evicts keys \(maxmemory-policy allkeys-lru\): set maxmemory-policy noeviction/)]);
  });

  it('accepts the shared test Redis', async () => {
    const client = new Redis(redisUrl());
    cleanup.push(() => client.disconnect());
    expect(await checkRedis(client)).toBeNull();
  });

  it('stops `lotse start` with exit code 2 and every wrong path for a bad topology file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lotse-bad-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'extends: builtin\nprincipals:\n  - { key: "nope", orgId: desk-XX, role: boss }\n');
    const lotse = spawnLotse(['start'], { REDIS_URL: redisUrl(), LOTSE_CONFIG: file });
    expect((await lotse.exited).code).toBe(2);
    const said = lotse.logs.map((l) => String(l.stderr ?? '')).join('\n');
    for (const path of ['principals.0.key', 'principals.0.role']) expect(said).toContain(path);
  });
});
