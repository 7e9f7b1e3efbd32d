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

const SHOTS = resolve(ARTIFACTS, 'screenshots');
const VIEWPORTS = [
  { width: 1280, height: 720 },
  { width: 1366, height: 768 },
  { width: 1440, height: 900 },
] as const;

/** Every table of the board's visible panels, with its width and the width its panel gives it. */
async function tableWidths(page: Page) {
  type El = { id: string; hidden: boolean; querySelector(s: string): { clientWidth: number } | null; querySelectorAll(s: string): ArrayLike<{ getBoundingClientRect(): { width: number } }> };
  type Doc = { document: { querySelectorAll(s: string): ArrayLike<El> } };
  return page.evaluate(() =>
    Array.from((globalThis as unknown as Doc).document.querySelectorAll('main .panel'))
      .filter((p) => !p.hidden)
      .flatMap((p) => Array.from(p.querySelectorAll('table')).map((t) => ({ panel: p.id, table: Math.round(t.getBoundingClientRect().width), room: p.querySelector('.body')!.clientWidth }))),
  );
}

describe('the board and the cost report at 1280×720, 1366×768 and 1440×900', () => {
  let page: Page;
  let deadId: string;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    // A dead letter with a long reason, for a ticket of the board: as the webhook worker leaves one.
    const { addDeadLetter } = await import('../../src/store/dead-letters.js');
    const { makeKeys } = await import('../../src/store/keys.js');
    deadId = `${expectedRisk[0]}-v1-handoff`;
    await addDeadLetter(h.redis, makeKeys(h.prefix), {
      id: deadId, orgId: 'dataport', reason: 'HTTP 500 nach 3 Versuchen: der Server des Dienstleisters beendete die Verbindung ohne Antwort', attempts: 3, lastStatus: 500,
      failedAt: new Date(clock()).toISOString(), jobId: `wh-${deadId}`,
      event: { specversion: '1.0', id: deadId, source: 'lotse', type: 'lotse.ticket.handoff.requested', subject: expectedRisk[0]!, time: new Date().toISOString() } as never,
    });
    // A breached P1 with a long subject and a long holder's name: the breached panel's widest row.
    const long = await create('desk-MV', { land: 'MV', service: 'vms', impact: 'high', urgency: 'high', subject: 'Vaterschaftsanerkennung: Urkunde wird nach dem Hochladen der Nachweise nicht angezeigt, die Antragstellenden erhalten keine Eingangsbestätigung und rufen mehrfach an' });
    for (let i = 0; i < 3; i++) {
      const timer = await timerOf(long);
      clock.jumpTo(timer.at);
      const fired = await h.runtime.engine.fireTimer(long, timer.epoch);
      if (fired.event === 'SLA_BREACHED') break;
    }
    page = await newPage();
    await logIn(page);
  });

  it('keeps every table of the board inside its panel, names not ids, German numbers; screenshots of each size', async () => {
    for (const size of VIEWPORTS) {
      await page.setViewportSize(size);
      await page.goto(`${base}/dashboard`);
      await page.waitForSelector('#dead-letters tbody tr');
      await page.waitForSelector('#at-risk tbody tr');
      await page.waitForSelector('#breached tbody tr');
      const tooWide = (await tableWidths(page)).filter((w) => w.table > w.room + 1);
      if (size.width <= 1366) expect(tooWide, `${size.width}×${size.height}`).toEqual([]);
      // Organisations by name, with the id only on hover.
      expect(await page.locator('#dead-letters tbody tr').first().innerText()).toContain('Dataport AöR');
      expect(await page.locator('#at-risk').innerText()).not.toMatch(/\bdesk-HB\b/);
      // A cut text keeps its whole on hover.
      expect(await page.locator('#dead-letters .reason').first().getAttribute('title')).toMatch(/ohne Antwort$/);
      await page.screenshot({ path: resolve(SHOTS, `board-${size.width}x${size.height}.png`) });
      await page.screenshot({ path: resolve(SHOTS, `board-${size.width}x${size.height}-full.png`), fullPage: true });
    }
  });

  it('a replayed dead letter says that it was replayed and when, before and after the board refreshes', async () => {
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.goto(`${base}/dashboard`);
    const row = page.locator('#dead-letters tbody tr', { hasText: 'Dataport AöR' }).first();
    await row.locator('button', { hasText: 'Erneut senden' }).click();
    await page.waitForSelector('#dead-letters .replayed');
    expect(await page.locator('#dead-letters .replayed').first().innerText()).toMatch(/^erneut eingestellt am \d\d\.\d\d\. \d\d:\d\d$/);
    // After a reload the row is among the replayed ones, with the time Lotse kept.
    await page.reload();
    await page.waitForSelector('#dead-letters tr.is-replayed');
    const kept = (await app.inject({ method: 'GET', url: '/dashboard/api/overview', headers: { cookie: (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ') } })).json();
    const replayed = kept.deadLetters.replayed.find((r: { id: string }) => r.id === deadId);
    expect(replayed.replayedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await page.locator('#dead-letters tr.is-replayed').first().innerText()).toContain('erneut eingestellt am');
    expect(await page.locator('#dead-letters tr.is-replayed button').count()).toBe(0);
    await page.locator('#panel-dead-letters').screenshot({ path: resolve(SHOTS, 'board-replayed-1280x720.png') });
  });

  it('shows the cost report by the chosen year and model, in euros with German numbers, and downloads it as CSV whose sums equal the budget', async () => {
    for (const size of VIEWPORTS) {
      await page.setViewportSize(size);
      await page.goto(`${base}/dashboard/reports/cost-split?year=2026`);
      await page.waitForSelector('.report-service tbody tr');
      await page.screenshot({ path: resolve(SHOTS, `report-${size.width}x${size.height}.png`) });
      await page.screenshot({ path: resolve(SHOTS, `report-${size.width}x${size.height}-full.png`), fullPage: true });
    }
    expect(await page.locator('.report-service').first().innerText()).toMatch(/\d{1,3}(\.\d{3})+,\d\d\s€/);
    expect(await page.locator('.report-service').first().innerText()).toContain('Zensus 2022, 15.05.2022');
    // The Länder by name, as a reader looks for them.
    const lands = await page.locator('.report-service').first().locator('tbody tr td:first-child').allInnerTexts();
    expect(lands).toEqual([...lands].sort((a, b) => a.localeCompare(b, 'de')));
    expect(lands[0]).toBe('Baden-Württemberg');
    // Another model, chosen on the page.
    await page.selectOption('#model', 'equal');
    await Promise.all([page.waitForURL(/model=equal/), page.click('.toolbar button[type=submit]')]);
    await page.waitForSelector('.report-service[data-model="equal"] tbody tr');
    expect(await page.locator('.report-service h2').first().textContent()).toContain('zu gleichen Teilen (vereinbart: nach Einwohnerzahl)');
    // Fixed shares for a service without them: the refusal in words, not an empty table.
    await page.goto(`${base}/dashboard/reports/cost-split?year=2026&service=uvo&model=fixed`);
    await page.waitForSelector('#report-problem');
    expect(await page.locator('#report-problem').innerText()).toBe('Nicht berechnet: Feste Anteile sind nicht vereinbart für Unterhaltsvorschuss online.');
    await page.goto(`${base}/dashboard/reports/cost-split?year=2026&model=equal`);
    await page.waitForSelector('.report-service[data-model="equal"] tbody tr');
    await page.selectOption('#model', 'agreed');
    await Promise.all([page.waitForURL(/model=agreed/), page.click('.toolbar button[type=submit]')]);
    await page.waitForSelector('.report-service[data-model="population"] tbody tr');

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv')]);
    expect(download.suggestedFilename()).toBe('lotse-kostenaufteilung-2026.csv');
    const path = resolve(ARTIFACTS, 'kostenaufteilung-2026.csv');
    await download.saveAs(path);
    const { readFileSync } = await import('node:fs');
    const [header, ...rows] = readFileSync(path, 'utf8').trimEnd().split('\r\n').map((l) => l.split(','));
    const col = (name: string) => header!.indexOf(name);
    const json = (await app.inject({ method: 'GET', url: '/v1/reports/cost-split?year=2026', headers: bearer('ops-bremen') })).json();
    expect(json.services.length).toBeGreaterThan(0);
    for (const s of json.services as { service: string; budgetCents: number }[]) {
      const mine = rows.filter((r) => r[col('service')] === s.service);
      expect(mine.length, s.service).toBeGreaterThan(0);
      const cents = mine.reduce((sum, r) => sum + Math.round(Number(r[col('share_eur')]) * 100), 0);
      expect(cents, s.service).toBe(s.budgetCents);
      expect(Math.round(Number(mine[0]![col('budget_eur')]) * 100)).toBe(s.budgetCents);
      expect(new Set(mine.map((r) => r[col('model')]))).toEqual(new Set(['population']));
    }
  });
});
