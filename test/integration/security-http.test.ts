import { describe, expect, it } from 'vitest';
import { isLoopbackHost } from '../../src/config/principals.js';
import { bearer, harnessPerTest, ticketBody } from '../helpers/harness.js';
import { expectProblem } from '../helpers/http.js';

/*
 * Issue 18: development keys answer only a loopback Host; X-Forwarded-* is
 * believed only from a configured proxy; /docs has the board's security
 * headers; bidirectional override characters in subjects are refused.
 */

const harness = harnessPerTest();
const ORIGIN = 'http://localhost:80';

describe('development keys and the Host header', () => {
  it('with development keys on, a request naming another host is refused (DNS rebinding)', async () => {
    const app = await (await harness()).app();
    for (const host of ['evil.example', 'evil.example:3000', 'localhost.evil.example', '127.0.0.1.nip.io', '10.0.0.5:3000', '[::2]:3000']) {
      const res = await app.inject({ method: 'GET', url: '/v1/tickets', headers: { ...bearer('ops-bremen'), host } });
      expect(expectProblem(res, 403).reason, host).toBe('host');
      expectProblem(await app.inject({ method: 'POST', url: '/dashboard/login', headers: { host, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'key=dev-ops-bremen' }), 403);
    }
    for (const host of ['localhost', 'localhost:3000', '127.0.0.1:3000', '127.1.2.3', '[::1]:3000', '[::1]']) {
      const res = await app.inject({ method: 'GET', url: '/v1/tickets', headers: { ...bearer('ops-bremen'), host } });
      expect(res.statusCode, `${host}: ${res.body}`).toBe(200);
    }
  });

  it('names loopback hosts and nothing else', () => {
    expect(['localhost', 'LOCALHOST:1', '127.0.0.1', '127.255.0.9:80', '[::1]:8080', '[0:0:0:0:0:0:0:1]'].every(isLoopbackHost)).toBe(true);
    expect([undefined, '', 'evil', '128.0.0.1', '[::2]', 'localhost.evil', '127.0.0.1.evil', 'a@localhost'].some(isLoopbackHost)).toBe(false);
  });
});

describe('X-Forwarded-* only from a configured proxy', () => {
  const login = (app: Awaited<ReturnType<Awaited<ReturnType<typeof harness>>['app']>>, headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: '/dashboard/login', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: 'key=dev-ops-bremen' });

  it('without LOTSE_TRUST_PROXY a client cannot claim TLS: no Secure cookie, no HSTS, and its claimed origin is not ours', async () => {
    const app = await (await harness()).app();
    const res = await login(app, { 'x-forwarded-proto': 'https', origin: ORIGIN });
    expect(res.statusCode).toBe(303);
    expect(String(res.headers['set-cookie'])).not.toMatch(/Secure/);
    expect(res.headers['strict-transport-security']).toBeUndefined();
    expectProblem(await login(app, { 'x-forwarded-proto': 'https', origin: 'https://localhost:80' }), 403);
  });

  it('with LOTSE_TRUST_PROXY naming the proxy, its X-Forwarded-Proto counts', async () => {
    const app = await (await harness({ env: { LOTSE_TRUST_PROXY: '127.0.0.1' } })).app();
    const res = await login(app, { 'x-forwarded-proto': 'https', origin: 'https://localhost:80' });
    expect(res.statusCode, res.body).toBe(303);
    expect(String(res.headers['set-cookie'])).toMatch(/Secure/);
    // A client the setting does not name is not believed.
    const far = await app.inject({ method: 'POST', url: '/dashboard/login', remoteAddress: '10.9.9.9', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https', origin: ORIGIN }, payload: 'key=dev-ops-bremen' });
    expect(far.statusCode, far.body).toBe(303);
    expect(String(far.headers['set-cookie'])).not.toMatch(/Secure/);
  });
});

describe('/docs', () => {
  it('has the board\'s security headers: CSP with frame-ancestors \'none\', X-Frame-Options, nosniff, referrer policy', async () => {
    const app = await (await harness()).app();
    for (const [url, accept] of [['/docs', 'text/html'], ['/docs', 'application/json'], ['/docs/static/index.html', 'text/html'], ['/docs/json', 'application/json']] as const) {
      const res = await app.inject({ method: 'GET', url, headers: { accept } });
      expect(res.statusCode, `${url} ${res.body.slice(0, 200)}`).toBeLessThan(400);
      expect(res.headers['content-security-policy'], url).toMatch(/frame-ancestors 'none'/);
      expect(res.headers['content-security-policy'], url).toMatch(/default-src 'self'/);
      expect(res.headers['x-frame-options'], url).toBe('DENY');
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
      expect(res.headers['referrer-policy'], url).toBe('same-origin');
    }
  });
});

describe('bidirectional override characters', () => {
  it('a subject or a suggestion title with one is refused, naming the field', async () => {
    const app = await (await harness()).app();
    for (const ch of ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069']) {
      const res = await app.inject({ method: 'POST', url: '/v1/tickets', headers: bearer('desk-HB'), payload: ticketBody({ land: 'HB', subject: `Rechnung ${ch}fdp.exe` }) });
      const problem = expectProblem(res, 422);
      expect(problem.errors?.map((e) => e.path), JSON.stringify(problem)).toContain('subject');
    }
    const created = await app.inject({ method: 'POST', url: '/v1/tickets', headers: bearer('desk-HB'), payload: ticketBody({ land: 'HB', subject: 'مرحبا Hallo שלום' }) });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as string;
    await app.inject({ method: 'POST', url: `/v1/tickets/${id}/events`, headers: bearer('desk-HB'), payload: { type: 'ACCEPT' } });
    const suggestion = await app.inject({ method: 'POST', url: `/v1/tickets/${id}/events`, headers: bearer('desk-HB'), payload: { type: 'SUGGEST_IMPROVEMENT', title: 'Formular \u202eredro' } });
    expect(expectProblem(suggestion, 422).errors?.map((e) => e.path).join(',')).toMatch(/title/);
  });
});
