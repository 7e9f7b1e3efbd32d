import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/http/app.js';
import { createHarness, type Harness } from '../helpers/harness.js';
import { expectProblem } from '../helpers/http.js';

let h: Harness;
let app: App;
const ORIGIN = 'http://localhost:80';
const form = { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN };

/** Redis names a session by the SHA-256 of its cookie. */
const sessKey = (id: string) => `${h.prefix}:sess:${createHash('sha256').update(id).digest('hex')}`;

beforeAll(async () => {
  // X-Forwarded-Proto counts only from a proxy LOTSE_TRUST_PROXY names: here the test client's own address.
  h = await createHarness({ env: { LOTSE_TRUST_PROXY: '127.0.0.1' } });
  app = await h.app();
});

afterAll(async () => {
  await h.close();
});

async function logIn(key: string, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/dashboard/login', headers: { ...form, ...headers }, payload: `key=${encodeURIComponent(key)}` });
}

/** Logs in and answers the cookie header to send and the session's CSRF token. */
async function session(key = 'dev-ops-bremen') {
  const res = await logIn(key);
  expect(res.statusCode, res.body).toBe(303);
  const id = /lotse_session=([^;]+)/.exec(String(res.headers['set-cookie']))![1]!;
  const cookie = `lotse_session=${id}`;
  const me = await app.inject({ method: 'GET', url: '/dashboard/api/session', headers: { cookie } });
  expect(me.statusCode, me.body).toBe(200);
  return { id, cookie, csrf: me.json().csrf as string, me: me.json() };
}

describe('dashboard login and session', () => {
  it('sends a visitor without a session to the login page', async () => {
    const res = await app.inject({ method: 'GET', url: '/dashboard' });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/dashboard/login');
    const login = await app.inject({ method: 'GET', url: '/dashboard/login' });
    expect(login.statusCode).toBe(200);
    expect(login.body).toContain('method="post" action="/dashboard/login"');
    expect(login.headers['content-security-policy']).toMatch(/^default-src 'self'/);
    expect(login.headers['x-frame-options']).toBe('DENY');
  });

  it('takes the key once by POST and keeps a session in Redis with an expiry; the cookie is HttpOnly and SameSite=Strict', async () => {
    const res = await logIn('dev-ops-bremen');
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/dashboard');
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).not.toMatch(/Secure/);
    expect(cookie).not.toContain('dev-ops-bremen');
    const id = /lotse_session=([^;]+)/.exec(cookie)![1]!;
    const ttl = await h.redis.ttl(sessKey(id));
    expect(ttl).toBeGreaterThan(8 * 3600 - 60);
    expect(ttl).toBeLessThanOrEqual(8 * 3600);
    expect(await h.redis.get(sessKey(id))).not.toContain('dev-ops-bremen');
    const page = await app.inject({ method: 'GET', url: '/dashboard', headers: { cookie: `lotse_session=${id}` } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toMatch(/^default-src 'self'/);
    expect(page.body).not.toMatch(/<script>|<style>|style="/);
  });

  it('sets Secure behind TLS', async () => {
    const res = await logIn('dev-ops-bremen', { 'x-forwarded-proto': 'https', origin: 'https://localhost:80' });
    expect(String(res.headers['set-cookie'])).toMatch(/Secure/);
  });

  it('refuses wrong keys, other roles and cross-site logins', async () => {
    const wrong = await logIn('dev-nobody');
    expect(wrong.headers.location).toBe('/dashboard/login?fehler=schluessel');
    expect(wrong.headers['set-cookie']).toBeUndefined();
    const desk = await logIn('dev-desk-HB');
    expect(desk.headers.location).toBe('/dashboard/login?fehler=rolle');
    expect(desk.headers['set-cookie']).toBeUndefined();
    expectProblem(await logIn('dev-ops-bremen', { origin: 'https://evil.example' }), 403);
  });

  it('the session authenticates API reads; changes need its CSRF token and our Origin', async () => {
    const s = await session();
    expect((await app.inject({ method: 'GET', url: '/v1/stats', headers: { cookie: s.cookie } })).statusCode).toBe(200);
    const url = '/v1/dead-letters/nope/replay';
    const noToken = expectProblem(await app.inject({ method: 'POST', url, headers: { cookie: s.cookie } }), 403);
    expect(noToken.reason).toBe('csrf');
    expectProblem(await app.inject({ method: 'POST', url, headers: { cookie: s.cookie, 'x-csrf-token': 'x'.repeat(43) } }), 403);
    expectProblem(await app.inject({ method: 'POST', url, headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, origin: 'https://evil.example' } }), 403);
    // With the token, the request goes through to the route: no such dead letter.
    expectProblem(await app.inject({ method: 'POST', url, headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, origin: ORIGIN } }), 404);
  });

  it('logs out only with the CSRF token; the session is gone afterwards', async () => {
    const s = await session();
    expectProblem(await app.inject({ method: 'POST', url: '/dashboard/logout', headers: { ...form, cookie: s.cookie }, payload: '_csrf=wrong' }), 403);
    const out = await app.inject({ method: 'POST', url: '/dashboard/logout', headers: { ...form, cookie: s.cookie }, payload: `_csrf=${s.csrf}` });
    expect(out.statusCode).toBe(303);
    expect(String(out.headers['set-cookie'])).toMatch(/Max-Age=0/);
    expect(await h.redis.exists(sessKey(s.id))).toBe(0);
    expectProblem(await app.inject({ method: 'GET', url: '/dashboard/api/session', headers: { cookie: s.cookie } }), 401);
  });

  it('a forged or unknown cookie is no session', async () => {
    expectProblem(await app.inject({ method: 'GET', url: '/dashboard/api/session', headers: { cookie: 'lotse_session=abc' } }), 401);
    expectProblem(await app.inject({ method: 'GET', url: '/v1/stats', headers: { cookie: `lotse_session=${'A'.repeat(43)}` } }), 401);
  });
});

describe('/admin/queues', () => {
  it('refuses without a session', async () => {
    const page = await app.inject({ method: 'GET', url: '/admin/queues' });
    expect(page.statusCode).toBe(303);
    expect(page.headers.location).toBe('/dashboard/login');
    expectProblem(await app.inject({ method: 'GET', url: '/admin/queues/api/queues' }), 401);
    expectProblem(await app.inject({ method: 'PUT', url: '/admin/queues/api/queues/intake/pause' }), 401);
  });

  it('opens for an operator, with our CSP and no font from elsewhere', async () => {
    const s = await session();
    const page = await app.inject({ method: 'GET', url: '/admin/queues', headers: { cookie: s.cookie } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toMatch(/^default-src 'self'/);
    expect(page.body).toContain('static/js/main');
    expect(page.body).not.toMatch(/https?:\/\//);
    expect(page.body).not.toMatch(/<style>|style="/);
    const queues = await app.inject({ method: 'GET', url: '/admin/queues/api/queues', headers: { cookie: s.cookie } });
    expect(queues.statusCode).toBe(200);
    const names = (queues.json() as { queues: { name: string }[] }).queues.map((q) => q.name);
    expect(names).toEqual(expect.arrayContaining(['intake', 'events', 'sla', 'backlog', 'webhook', 'handoff-dataport', 'handoff-it-BY']));
    // A change from another site is refused even with the cookie.
    expectProblem(await app.inject({ method: 'PUT', url: '/admin/queues/api/queues/intake/pause', headers: { cookie: s.cookie, origin: 'https://evil.example' } }), 403);
  });

  it('gives the steering committee no bull-board: its pages lead back to /dashboard, its calls are refused', async () => {
    const s = await session('dev-steuerungskreis');
    expect(s.me.readOnly).toBe(true);
    for (const url of ['/admin/queues/queue/intake', '/admin/queues', '/admin/queues-ro', '/admin/queues-ro/queue/intake']) {
      const page = await app.inject({ method: 'GET', url, headers: { cookie: s.cookie } });
      expect(page.statusCode, url).toBe(303);
      expect(page.headers.location, url).toBe('/dashboard');
    }
    expectProblem(await app.inject({ method: 'GET', url: '/admin/queues/api/queues', headers: { cookie: s.cookie } }), 403);
    expectProblem(await app.inject({ method: 'PUT', url: '/admin/queues/api/queues/intake/pause', headers: { cookie: s.cookie, origin: ORIGIN } }), 403);
    const pause = await app.inject({ method: 'PUT', url: '/admin/queues-ro/api/queues/intake/pause', headers: { cookie: s.cookie, origin: ORIGIN } });
    expect(pause.statusCode).toBeGreaterThanOrEqual(400);
  });
});
