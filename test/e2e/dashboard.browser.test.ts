import { execSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { parseTopology } from '../../src/config/topology-file.js';
import type { TopologyInput } from '../../src/domain/topology.js';
import type { App } from '../../src/http/app.js';
import { bearer, createHarness, dev, ticketBody, waitFor, type Harness } from '../helpers/harness.js';

/** Debian's chromium; without it this test fails and says what to install. */
function chromiumPath(): string {
  try {
    return execSync('command -v chromium', { shell: '/bin/sh', encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium is not installed: the dashboard browser test needs Debian\'s chromium (apt-get install chromium)');
  }
}

const ARTIFACTS = resolve('test-artifacts');

/** The built-in topology, every calendar 24x7: business time is wall time, so the at-risk order is plain arithmetic. */
const topology = (() => {
  const base = structuredClone(DEFAULT_TOPOLOGY) as TopologyInput;
  base.organisations = base.organisations.map((o) => ({ ...o, calendar: '24x7' }));
  return parseTopology(base, '24x7 topology');
})();

function steppingClock() {
  let t = Date.now();
  const now = () => (t += 1000);
  now.jumpTo = (at: number) => void (t = Math.max(t, at));
  return now;
}
const clock = steppingClock();

let h: Harness;
let app: App;
let base: string;
let browser: Browser;
const requested: string[] = [];
const expectedRisk: string[] = [];

async function create(orgId: string, overrides: Record<string, unknown>): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/v1/tickets', headers: bearer(orgId), payload: ticketBody(overrides) });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

const timerOf = async (id: string) => (await h.runtime.engine.getTicket(dev('ops-bremen', topology), id)).state.context.timer!;

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'de-DE', timezoneId: 'Europe/Berlin' });
  const page = await context.newPage();
  page.on('request', (r) => requested.push(r.url()));
  return page;
}

beforeAll(async () => {
  const executablePath = chromiumPath();
  mkdirSync(ARTIFACTS, { recursive: true });
  // No sla worker: the test moves the clock and fires the timers itself.
  h = await createHarness({ topology, now: clock, roles: ['intake', 'events', 'relay'] });
  app = await h.app();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;

  // Three tickets at risk, whose order by time left is neither creation order nor newest first.
  const c = await create('desk-HB', { land: 'HB', service: 'elfe', impact: 'high', urgency: 'low' }); // P3
  const warnC = (await timerOf(c)).at;
  clock.jumpTo(warnC - 100 * 60_000);
  const y = await create('desk-HB', { land: 'HB', service: 'elfe', impact: 'high', urgency: 'medium' }); // P2
  clock.jumpTo(warnC - 98 * 60_000);
  const x = await create('desk-HB', { land: 'HB', service: 'elfe', impact: 'high', urgency: 'medium' }); // P2
  const timers = await Promise.all([c, y, x].map(async (id) => ({ id, timer: await timerOf(id) })));
  timers.sort((a, b) => a.timer.at - b.timer.at);
  for (const { id, timer } of timers) {
    clock.jumpTo(timer.at);
    expect(await h.runtime.engine.fireTimer(id, timer.epoch)).toEqual({ applied: true, event: 'SLA_WARNING' });
  }
  expectedRisk.push(y, x, c);
  // Some spread for the other panels: a BY ticket handed to Dataport, one more in NW.
  const by = await create('desk-BY', { land: 'BY', service: 'uvo' });
  const res = await app.inject({ method: 'POST', url: `/v1/tickets/${by}/events`, headers: bearer('desk-BY'), payload: { type: 'ESCALATE', reason: 'Fehler im Verfahren' } });
  expect(res.statusCode, res.body).toBe(200);
  await create('desk-NW', { land: 'NW', service: 'ehe' });

  browser = await chromium.launch({ executablePath, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
});

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

async function logIn(page: Page, key = 'dev-ops-bremen') {
  await page.goto(`${base}/dashboard`);
  expect(new URL(page.url()).pathname).toBe('/dashboard/login');
  await page.fill('#key', key);
  await Promise.all([page.waitForURL(`${base}/dashboard`), page.click('button[type=submit]')]);
  expect(page.url()).not.toContain(key);
}

const activeCount = (page: Page) => page.locator('.kpi.lead .kpi-value a').innerText();

describe('the dashboard in a real browser', () => {
  let page: Page;

  it('logs in with a key and shows the counts of the read model', async () => {
    page = await newPage();
    await logIn(page);
    await page.waitForSelector('.kpi.lead .kpi-value a');
    const stats = (await app.inject({ method: 'GET', url: '/v1/stats', headers: bearer('ops-bremen') })).json();
    expect(await activeCount(page)).toBe(String(stats.tickets.total.active.count));
    expect(await page.locator('.kpi.lead .kpi-value a').getAttribute('href')).toBe('/dashboard/tickets?active=true');
    await page.waitForSelector('#live[data-state="live"]');
    expect(await page.locator('#lands tbody tr').count()).toBe(16);
    expect(await page.locator('#lands a[href="/dashboard/tickets?active=true&land=HB"]').innerText()).toBe('3');
    await page.waitForSelector('#handoffs tbody tr');
    expect(await page.locator('#backlog').innerText()).toContain('noch keine');
    // Queues by their German names, as in the chart's legend; the queue's own name in the link's title.
    await page.waitForSelector('#queues tbody tr');
    expect(await page.locator('#queues a[title="intake"]').innerText()).toBe('Eingang');
    expect(await page.locator('#queues a[title="retention"]').innerText()).toBe('Aufbewahrung');
    expect(await page.locator('.kpi.warn').innerText()).toContain('SLA gefährdet');
  });

  it('lists the tickets at risk in order of business time left', async () => {
    const ids = await page.locator('#at-risk tbody tr a.ticket-id').evaluateAll((as) => as.map((a) => a.getAttribute('title')));
    expect(ids).toEqual(expectedRisk);
    // The link to a ticket's jobs in bull-board: its armed timer.
    const timer = await timerOf(expectedRisk[0]!);
    expect(await page.locator('#at-risk tbody tr').first().locator('a.job-link').getAttribute('href')).toBe(`/admin/queues/queue/sla/timer-${expectedRisk[0]}-${timer.epoch}`);
  });

  it('a count opens the list it counts', async () => {
    await page.click('#lands a[href="/dashboard/tickets?active=true&land=HB"]');
    await page.waitForSelector('#drawer:not([hidden]) #drawer-body tbody tr');
    expect(await page.locator('#drawer-body tbody tr').count()).toBe(3);
    await page.click('#drawer-close');
  });

  it('changes without a reload when a ticket is created over the API', async () => {
    // These run in the page (as functions: its CSP refuses eval of strings), whose globals Node's types do not know.
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42));
    const before = Number(await activeCount(page));
    const res = await fetch(`${base}/v1/tickets`, { method: 'POST', headers: { ...bearer('desk-SN'), 'content-type': 'application/json' }, body: JSON.stringify(ticketBody({ land: 'SN', service: 'elfe' })) });
    expect(res.status).toBe(201);
    type Doc = { document: { querySelector(s: string): { textContent: string } | null } };
    await page.waitForFunction((n) => (globalThis as unknown as Doc).document.querySelector('.kpi.lead .kpi-value a')?.textContent === String(n), before + 1, { timeout: 15_000 });
    expect(await page.locator('#lands a[href="/dashboard/tickets?active=true&land=SN"]').innerText()).toBe('1');
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42);
    expect(await page.locator('#last-heard').innerText()).toMatch(/zuletzt vom Server \d\d:\d\d:\d\d/);
    const shot = resolve(ARTIFACTS, 'dashboard.png');
    await page.screenshot({ path: shot });
    await page.screenshot({ path: resolve(ARTIFACTS, 'dashboard-full.png'), fullPage: true });
    console.log(`screenshot: ${shot}`);
  });

  it('opens bull-board behind the login, without anything from elsewhere', async () => {
    await page.goto(`${base}/admin/queues`);
    await page.waitForSelector('text=intake', { timeout: 15_000 });
    await page.waitForSelector('text=handoff-dataport');
    // The board's overview has loaded its queues' counts, not only the menu.
    type Body = { document: { body: { innerText: string } } };
    await page.waitForFunction(() => !(globalThis as unknown as Body).document.body.innerText.includes('Wird geladen'), undefined, { timeout: 15_000 });
    const shot = resolve(ARTIFACTS, 'bull-board.png');
    await page.screenshot({ path: shot });
    console.log(`screenshot: ${shot}`);
    const html = await (await fetch(`${base}/admin/queues`, { headers: { cookie: (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ') } })).text();
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
  });

  it('bull-board refuses without a session', async () => {
    const anonymous = await newPage();
    await anonymous.goto(`${base}/admin/queues`);
    expect(new URL(anonymous.url()).pathname).toBe('/dashboard/login');
    const api = await fetch(`${base}/admin/queues/api/queues`);
    expect(api.status).toBe(401);
    await anonymous.context().close();
  });

  it('no request left the server', async () => {
    await waitFor(() => requested.length > 0);
    const foreign = requested.filter((u) => !u.startsWith(`${base}/`));
    expect(foreign).toEqual([]);
  });
});
