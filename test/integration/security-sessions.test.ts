import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { createPrincipalResolver, PrincipalConfigError } from '../../src/config/principals.js';
import { parseTopology } from '../../src/config/topology-file.js';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import type { App } from '../../src/http/app.js';
import { createLogger } from '../../src/logger.js';
import { createRuntime } from '../../src/runtime.js';
import { defaultTopology, harnessPerTest, redisUrl, type Harness } from '../helpers/harness.js';
import { expectProblem } from '../helpers/http.js';

/*
 * Issue 18, sessions: a cookie is not a Redis key name; a session ends with
 * the key that opened it (also after a restart with other keys); it has an
 * absolute lifetime; an operator can end an organisation's sessions; wrong
 * keys are throttled and logged without the key; short `env:` keys stop the start.
 */

const ORIGIN = 'http://localhost:80';
const form = { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN };
const harness = harnessPerTest();

const OPERATOR_KEY = 'operator-key-0123456789abcdef-0123456789';
const ROTATED_KEY = 'operator-key-rotated-9876543210-fedcba98';
const withOperatorKey = parseTopology({ ...DEFAULT_TOPOLOGY, principals: [{ key: 'env:LOTSE_TEST_OPERATOR_KEY', orgId: 'ops-bremen', role: 'operator' }] }, 'security');

function logIn(app: App, key: string, extra: { remoteAddress?: string } = {}) {
  return app.inject({ method: 'POST', url: '/dashboard/login', headers: form, payload: `key=${encodeURIComponent(key)}`, ...extra });
}

async function session(app: App, key: string) {
  const res = await logIn(app, key);
  expect(res.statusCode, res.body).toBe(303);
  expect(res.headers.location).toBe('/dashboard');
  const id = /lotse_session=([^;]+)/.exec(String(res.headers['set-cookie']))![1]!;
  const cookie = `lotse_session=${id}`;
  const me = await app.inject({ method: 'GET', url: '/dashboard/api/session', headers: { cookie } });
  expect(me.statusCode, me.body).toBe(200);
  return { id, cookie, csrf: me.json().csrf as string };
}

const me = (app: App, cookie: string) => app.inject({ method: 'GET', url: '/dashboard/api/session', headers: { cookie } });

async function sessionKeys(h: Harness): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await h.redis.scan(cursor, 'MATCH', `${h.prefix}:sess*`, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

/** A second process on the same prefix and Redis, started with other keys (a restart after a key change). */
async function restartedWith(h: Harness, opts: { topology: typeof defaultTopology; env: Record<string, string> }) {
  const config = loadConfig({ LOTSE_PREFIX: h.prefix, LOG_LEVEL: 'silent', LOTSE_MAX_EVENT_LOOP_DELAY_MS: '0' });
  const runtime = await createRuntime({ config, redisUrl: redisUrl(), topology: opts.topology, logger: createLogger('silent'), env: opts.env });
  const app = await runtime.buildApp();
  return {
    app,
    async close() {
      await app.close();
      await runtime.close();
    },
  };
}

describe('sessions are stored under a hash of the cookie', () => {
  it('a SCAN of Redis yields no working cookie', async () => {
    const h = await harness();
    const app = await h.app();
    const s = await session(app, 'dev-ops-bremen');
    const keys = await sessionKeys(h);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key).not.toContain(s.id);
    expect(keys).toContain(`${h.prefix}:sess:${createHash('sha256').update(s.id).digest('hex')}`);
    for (const key of keys) {
      const name = key.slice(key.lastIndexOf(':') + 1);
      expectProblem(await me(app, `lotse_session=${name}`), 401);
    }
    expect((await me(app, s.cookie)).statusCode).toBe(200);
  });
});

describe('a session is bound to the key that opened it', () => {
  it('a session opened with a development key ends when a restart turns the development keys off', async () => {
    const h = await harness();
    const operator = await session(await h.app(), 'dev-ops-bremen');
    const steering = await session(await h.app(), 'dev-steuerungskreis');
    const later = await restartedWith(h, { topology: withOperatorKey, env: { LOTSE_TEST_OPERATOR_KEY: OPERATOR_KEY } });
    try {
      expectProblem(await me(later.app, operator.cookie), 401);
      expectProblem(await me(later.app, steering.cookie), 401);
      expectProblem(await later.app.inject({ method: 'GET', url: '/v1/stats', headers: { cookie: operator.cookie } }), 401);
    } finally {
      await later.close();
    }
  });

  it('rotating a configured key ends its sessions at once; the new key opens new ones', async () => {
    const h = await harness({ topology: withOperatorKey, principalEnv: { LOTSE_TEST_OPERATOR_KEY: OPERATOR_KEY } });
    const s = await session(await h.app(), OPERATOR_KEY);
    const later = await restartedWith(h, { topology: withOperatorKey, env: { LOTSE_TEST_OPERATOR_KEY: ROTATED_KEY } });
    try {
      expectProblem(await me(later.app, s.cookie), 401);
      const fresh = await session(later.app, ROTATED_KEY);
      expect((await me(later.app, fresh.cookie)).json()).toMatchObject({ orgId: 'ops-bremen', role: 'operator' });
    } finally {
      await later.close();
    }
  });

  it('a key moved to another role does not keep its sessions', async () => {
    const h = await harness({ topology: withOperatorKey, principalEnv: { LOTSE_TEST_OPERATOR_KEY: OPERATOR_KEY } });
    const s = await session(await h.app(), OPERATOR_KEY);
    const moved = parseTopology({ ...DEFAULT_TOPOLOGY, principals: [{ key: 'env:LOTSE_TEST_OPERATOR_KEY', orgId: 'steuerungskreis', role: 'steering' }] }, 'moved');
    const later = await restartedWith(h, { topology: moved, env: { LOTSE_TEST_OPERATOR_KEY: OPERATOR_KEY } });
    try {
      expectProblem(await me(later.app, s.cookie), 401);
    } finally {
      await later.close();
    }
  });
});

describe('a session has an absolute lifetime beside the idle one', () => {
  it('ends 12 hours after the login however busy it was; the idle expiry slides up to 8 hours', async () => {
    let offset = 0;
    const h = await harness({ now: () => Date.now() + offset });
    const app = await h.app();
    const s = await session(app, 'dev-ops-bremen');
    const key = `${h.prefix}:sess:${createHash('sha256').update(s.id).digest('hex')}`;
    const ttl = await h.redis.ttl(key);
    expect(ttl).toBeGreaterThan(8 * 3600 - 60);
    expect(ttl).toBeLessThanOrEqual(8 * 3600);
    offset = 11 * 3600 * 1000;
    expect((await me(app, s.cookie)).statusCode).toBe(200);
    offset = 12 * 3600 * 1000 + 1000;
    expectProblem(await me(app, s.cookie), 401);
    expect(await h.redis.exists(key)).toBe(0);
  });

  it('the lifetimes are configurable', async () => {
    let offset = 0;
    const h = await harness({ now: () => Date.now() + offset, env: { LOTSE_SESSION_IDLE_SECONDS: '600', LOTSE_SESSION_MAX_SECONDS: '3600' } });
    const app = await h.app();
    const s = await session(app, 'dev-ops-bremen');
    expect(await h.redis.ttl(`${h.prefix}:sess:${createHash('sha256').update(s.id).digest('hex')}`)).toBeLessThanOrEqual(600);
    offset = 3601 * 1000;
    expectProblem(await me(app, s.cookie), 401);
  });
});

describe('an operator logs out every session of an organisation', () => {
  it('with the CSRF token, all of that organisation\'s sessions end; others stay', async () => {
    const h = await harness();
    const app = await h.app();
    const a = await session(app, 'dev-ops-bremen');
    const b = await session(app, 'dev-ops-bremen');
    const steering = await session(app, 'dev-steuerungskreis');
    const url = '/dashboard/api/sessions/end';
    const payload = { orgId: 'ops-bremen' };
    expect(expectProblem(await app.inject({ method: 'POST', url, headers: { cookie: a.cookie, origin: ORIGIN }, payload }), 403).reason).toBe('csrf');
    expectProblem(await app.inject({ method: 'POST', url, headers: { cookie: a.cookie, 'x-csrf-token': a.csrf, origin: 'https://evil.example' }, payload }), 403);
    // The steering committee may not end anyone's sessions.
    expectProblem(await app.inject({ method: 'POST', url, headers: { cookie: steering.cookie, 'x-csrf-token': steering.csrf, origin: ORIGIN }, payload }), 403);
    const index = `${h.prefix}:sess-org:ops-bremen`;
    expect(await h.redis.zcard(index)).toBe(2);
    expect(await h.redis.ttl(index)).toBeGreaterThan(0);
    const res = await app.inject({ method: 'POST', url, headers: { cookie: a.cookie, 'x-csrf-token': a.csrf, origin: ORIGIN }, payload });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ orgId: 'ops-bremen', ended: 2 });
    expectProblem(await me(app, a.cookie), 401);
    expectProblem(await me(app, b.cookie), 401);
    expect((await me(app, steering.cookie)).statusCode).toBe(200);
    expect(await h.redis.exists(index)).toBe(0);
  });
});

describe('failed logins are throttled and logged without the key', () => {
  function collectingLog() {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    return { lines, stream };
  }

  async function appWithLog(env: Record<string, string>) {
    const log = collectingLog();
    const config = loadConfig({ LOTSE_PREFIX: `tlog${Date.now().toString(36)}`, LOTSE_MAX_EVENT_LOOP_DELAY_MS: '0', ...env });
    const runtime = await createRuntime({ config, redisUrl: redisUrl(), topology: defaultTopology, logger: createLogger('info', log.stream), env: {} });
    const app = await runtime.buildApp();
    /** Closes the app and its runtime and removes the keys of its prefix from the shared Redis. */
    async function close() {
      const admin = new (await import('ioredis')).Redis(redisUrl());
      try {
        await app.close();
        await runtime.close();
        const keys = await admin.keys(`${config.prefix}:*`);
        if (keys.length) await admin.del(...keys);
      } finally {
        admin.disconnect();
      }
    }
    return { app, log, close };
  }

  it('per client address: 429 with Retry-After after the allowed failures, even for the right key', async () => {
    const h = await harness({ env: { LOTSE_LOGIN_MAX_FAILURES: '3', LOTSE_LOGIN_WINDOW_SECONDS: '600' } });
    const app = await h.app();
    for (let i = 0; i < 3; i++) expect((await logIn(app, `wrong-${i}-key-guess`, { remoteAddress: '10.1.1.1' })).headers.location).toBe('/dashboard/login?fehler=schluessel');
    const refused = await logIn(app, 'dev-ops-bremen', { remoteAddress: '10.1.1.1' });
    expectProblem(refused, 429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(600);
    // Another client is not held up by this one.
    expect((await logIn(app, 'dev-ops-bremen', { remoteAddress: '10.1.1.2' })).statusCode).toBe(303);
  });

  it('per key prefix: guesses at one prefix from many addresses are throttled too', async () => {
    const h = await harness({ env: { LOTSE_LOGIN_MAX_FAILURES: '3' } });
    const app = await h.app();
    for (let i = 0; i < 3; i++) await logIn(app, `abcdefgh-guess-${i}`, { remoteAddress: `10.2.0.${i + 1}` });
    const refused = await logIn(app, 'abcdefgh-guess-9', { remoteAddress: '10.2.0.99' });
    expectProblem(refused, 429);
    expect(refused.headers['retry-after']).toBeDefined();
  });

  it('wrong API keys: after the allowed failures from one address, 429 with Retry-After before the key is checked; logged without the key', async () => {
    const { app, log, close } = await appWithLog({ LOTSE_LOGIN_MAX_FAILURES: '4', LOTSE_LOGIN_WINDOW_SECONDS: '600' });
    const get = (key: string, remoteAddress: string) => app.inject({ method: 'GET', url: '/v1/tickets', headers: { authorization: `Bearer ${key}` }, remoteAddress });
    try {
      // Four guesses, each with a prefix of its own: only the address's count reaches the limit.
      const guesses = [0, 1, 2, 3, 4].map((i) => `${i}xGuessedApiKey-0123456789abcdef`);
      for (const g of guesses.slice(0, 4)) expectProblem(await get(g, '10.4.4.4'), 401);
      const refused = await get(guesses[4]!, '10.4.4.4');
      expectProblem(refused, 429);
      expect(refused.json().type).toBe('/problems/rate-limited');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(600);
      // The right key from that address waits too; from another address it works.
      expectProblem(await get('dev-ops-bremen', '10.4.4.4'), 429);
      expect((await get('dev-ops-bremen', '10.4.4.5')).statusCode).toBe(200);
      // The board login shares the count: the same address is throttled there as well.
      expectProblem(await logIn(app, 'dev-ops-bremen', { remoteAddress: '10.4.4.4' }), 429);
      expect(log.lines.filter((l) => l.includes('unknown API key'))).toHaveLength(4);
      const throttled = log.lines.find((l) => l.includes('API key throttled'));
      expect(throttled, log.lines.join('\n')).toBeDefined();
      expect(JSON.parse(throttled!)).toMatchObject({ client: '10.4.4.4', keyLength: guesses[4]!.length });
      for (const l of log.lines) for (const g of guesses) {
        expect(l).not.toContain(g);
        expect(l).not.toContain(g.slice(0, 8));
      }
    } finally {
      await close();
    }
  });

  it('wrong API keys at one key prefix from many addresses are throttled too', async () => {
    const h = await harness({ env: { LOTSE_LOGIN_MAX_FAILURES: '3' } });
    const app = await h.app();
    const get = (key: string, remoteAddress: string) => app.inject({ method: 'GET', url: '/v1/tickets', headers: { authorization: `Bearer ${key}` }, remoteAddress });
    for (let i = 0; i < 3; i++) expectProblem(await get(`zyxwvuts-guess-${i}`, `10.5.0.${i + 1}`), 401);
    const refused = await get('zyxwvuts-guess-9', '10.5.0.99');
    expectProblem(refused, 429);
    expect(refused.headers['retry-after']).toBeDefined();
  });

  it('each failure (board login or API key) is logged with the client and no part of the key', async () => {
    const { app, log, close } = await appWithLog({});
    try {
      const key = 'Sup3rSecretGuessValue-0123456789';
      await logIn(app, key, { remoteAddress: '10.3.3.3' });
      const line = log.lines.find((l) => l.includes('dashboard login failed'));
      expect(line, log.lines.join('\n')).toBeDefined();
      expect(JSON.parse(line!)).toMatchObject({ client: '10.3.3.3', keyLength: key.length });
      // A wrong API key leaves the same trace.
      await app.inject({ method: 'GET', url: '/v1/tickets', headers: { authorization: `Bearer ${key}` }, remoteAddress: '10.3.3.4' });
      const api = log.lines.find((l) => l.includes('unknown API key'));
      expect(api, log.lines.join('\n')).toBeDefined();
      expect(JSON.parse(api!)).toMatchObject({ client: '10.3.3.4', keyLength: key.length });
      for (const l of log.lines) {
        expect(l).not.toContain(key);
        expect(l).not.toContain(key.slice(0, 8));
      }
    } finally {
      await close();
    }
  });
});

describe('env: keys shorter than 32 characters stop the start', () => {
  it('names the principal entry and the variable, never the value', () => {
    const short = 'short-key-only-20chr';
    let error: unknown;
    try {
      createPrincipalResolver(withOperatorKey, { LOTSE_TEST_OPERATOR_KEY: short }, { loopback: true });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PrincipalConfigError);
    expect(String((error as Error).message)).toMatch(/principals\.0\.key.*LOTSE_TEST_OPERATOR_KEY.*32/);
    expect(String((error as Error).message)).not.toContain(short);
    expect(() => createPrincipalResolver(withOperatorKey, { LOTSE_TEST_OPERATOR_KEY: OPERATOR_KEY }, { loopback: true })).not.toThrow();
  });
});
