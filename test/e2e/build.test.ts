import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dropPrefix, newPrefix, redisUrl, ticketBody, waitFor } from '../helpers/harness.js';
import { spawnLotse, type LotseProcess } from '../helpers/process.js';

/**
 * The compiled Lotse, as the Docker image and a published package run it:
 * `npm run build` (scripts/build.js), then `src/cli.js` of the build with
 * NODE_ENV=production. (The devDependencies are still installed here, which
 * the image prunes.) Built into a folder of this test's own, so dist/ stays
 * the developer's.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUILD = join(ROOT, `.build/e2e-${process.pid}`);
const prefix = newPrefix('build');
let lotse: LotseProcess;
let url: string;

beforeAll(async () => {
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.js'), BUILD], { cwd: ROOT, stdio: 'pipe' });
  lotse = spawnLotse(['start'], { REDIS_URL: redisUrl(), LOTSE_PREFIX: prefix, NODE_ENV: 'production' }, BUILD);
  url = await lotse.url();
}, 180_000);

afterAll(async () => {
  await lotse?.kill();
  const redis = new Redis(redisUrl());
  await dropPrefix(redis, prefix);
  redis.disconnect();
  rmSync(BUILD, { recursive: true, force: true });
});

it('runs from the build: ready with every worker, and a ticket goes in', async () => {
  await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, { timeoutMs: 60_000, what: 'readiness' });
  const res = await fetch(`${url}/v1/tickets`, {
    method: 'POST',
    headers: { authorization: 'Bearer dev-desk-HB', 'content-type': 'application/json' },
    body: JSON.stringify(ticketBody({ land: 'HB' })),
  });
  expect(res.status).toBe(201);
  expect(((await res.json()) as { status: string }).status).toBe('new');
});

it('serves the dashboard and its assets from the build (tsc emits no HTML, CSS or SVG: the build copies them)', async () => {
  const login = await fetch(`${url}/dashboard/login`);
  expect(login.status).toBe(200);
  expect(await login.text()).toContain('<title>Lotse · Anmeldung');
  for (const [asset, type] of [['app.js', 'javascript'], ['style.css', 'text/css'], ['favicon.svg', 'image/svg+xml']] as const) {
    const res = await fetch(`${url}/dashboard/assets/${asset}`);
    expect(res.status, asset).toBe(200);
    expect(res.headers.get('content-type'), asset).toContain(type);
  }
  const docs = await fetch(`${url}/docs`, { headers: { accept: 'application/json' } });
  expect(docs.status).toBe(200);
  expect(((await docs.json()) as { openapi: string }).openapi).toMatch(/^3\.1/);
});
