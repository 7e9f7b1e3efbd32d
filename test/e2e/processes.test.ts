import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { freePort } from '../../src/embedded-redis.js';
import { dropPrefix, newPrefix, redisUrl, ticketBody, waitFor } from '../helpers/harness.js';
import { spawnInRepo, spawnLotse, type LotseProcess } from '../helpers/process.js';

const prefix = newPrefix('proc');
const running: LotseProcess[] = [];
afterAll(async () => {
  await Promise.all(running.map((p) => p.kill()));
  const redis = new Redis(redisUrl());
  await dropPrefix(redis, prefix);
  await dropPrefix(redis, `${prefix}x`);
  redis.disconnect();
});

function spawn(args: string[]) {
  const p = spawnLotse(args, { REDIS_URL: redisUrl(), LOTSE_PREFIX: prefix });
  running.push(p);
  return p;
}

it('runs the API and the workers as separate processes, ready only once workers are up, each closing on SIGTERM', async () => {
  const api = spawn(['api']);
  const url = await api.url();
  const ready = async () => (await fetch(`${url}/readyz`)).status;
  expect(await ready()).toBe(503);

  const workers = [spawn(['worker', '--roles', 'intake,events,relay']), spawn(['worker', '--roles', 'sla,backlog,retention'])];
  await waitFor(async () => (await ready()) === 200, { timeoutMs: 60_000, what: 'readiness once every role runs' });

  // A ticket created through the API process is committed there and its effects run in a worker process.
  const res = await fetch(`${url}/v1/tickets`, {
    method: 'POST',
    headers: { authorization: 'Bearer dev-desk-SN', 'content-type': 'application/json' },
    body: JSON.stringify(ticketBody({ land: 'SN' })),
  });
  expect(res.status).toBe(201);
  const redis = new Redis(redisUrl());
  try {
    await waitFor(async () => (await redis.xlen(`${prefix}:events`)) === 1, { what: 'the relay in the worker process' });
  } finally {
    redis.disconnect();
  }

  for (const p of [...workers, api]) expect((await p.stop()).code).toBe(0);
  expect(workers.every((w) => w.logs.some((l) => l.msg === 'shutting down'))).toBe(true);
}, 120_000);

it('refuses unknown worker roles with exit code 2', async () => {
  const p = spawn(['worker', '--roles', 'intake,teleport']);
  expect((await p.exited).code).toBe(2);
  expect(p.logs.map((l) => String(l.stderr ?? '')).join('\n')).toMatch(/unknown worker role teleport/);
});

it('refuses --partitions that are not partition numbers, or not this deployment\'s, with exit code 2', async () => {
  const words = spawn(['worker', '--partitions', '0,two']);
  expect((await words.exited).code).toBe(2);
  expect(words.logs.map((l) => String(l.stderr ?? '')).join('\n')).toMatch(/--partitions: partition numbers separated by commas, such as 0,2 \(not two\)/);
  const beyond = spawnLotse(['worker', '--partitions', '0,3'], { REDIS_URL: redisUrl(), LOTSE_PREFIX: `${prefix}x`, LOTSE_PARTITIONS: '3' });
  running.push(beyond);
  expect((await beyond.exited).code).toBe(2);
  expect(beyond.logs.map((l) => String(l.stderr ?? '')).join('\n')).toMatch(/partitions: 3 not among this deployment's 3 \(0 to 2\)/);
});

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Whether nothing listens on the port: binding it succeeds. */
const portIsFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

it('npm start stops Lotse when npm gets SIGTERM: no Lotse process is left and the port is free', async () => {
  const port = await freePort();
  const npm = spawnInRepo('npm', ['start'], { REDIS_URL: redisUrl(), LOTSE_PREFIX: prefix, PORT: String(port), npm_config_update_notifier: 'false' });
  running.push(npm);
  const line = await npm.waitForLog((l) => l.msg === 'lotse running', 30_000);
  const lotsePid = Number(line.pid);
  expect(lotsePid).toBeGreaterThan(0);
  expect(lotsePid).not.toBe(npm.child.pid);
  try {
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    npm.child.kill('SIGTERM');
    await npm.exited;
    // Lotse must have had its SIGTERM too: it closes and exits (within its shutdown deadline).
    await waitFor(() => !isAlive(lotsePid), { timeoutMs: 15_000, what: `Lotse (pid ${lotsePid}) to exit after npm got SIGTERM` });
    expect(npm.logs.some((l) => l.msg === 'shutting down' && l.signal === 'SIGTERM')).toBe(true);
    expect(await portIsFree(port)).toBe(true);
  } finally {
    // Only the process this test started, by its pid: a left-over Lotse must not outlive the test.
    if (isAlive(lotsePid)) process.kill(lotsePid, 'SIGKILL');
  }
}, 60_000);

it('a worker process with LOTSE_METRICS_PORT serves its own metrics there, and frees the port on SIGTERM', async () => {
  const port = await freePort();
  const worker = spawnLotse(['worker', '--roles', 'events'], { REDIS_URL: redisUrl(), LOTSE_PREFIX: prefix, LOTSE_METRICS_PORT: String(port) });
  running.push(worker);
  const line = await worker.waitForLog((l) => l.msg === 'metrics listening');
  expect(line.url).toBe(`http://127.0.0.1:${port}/metrics`);
  const res = await fetch(String(line.url));
  expect(res.status).toBe(200);
  const text = await res.text();
  expect(text).toMatch(/^# TYPE lotse_handoff_receipt_seconds histogram$/m);
  expect(text).toMatch(/^process_cpu_user_seconds_total /m);
  expect((await worker.stop()).code).toBe(0);
  expect(await portIsFree(port)).toBe(true);
});
