import { execSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { parseTopology } from '../../src/config/topology-file.js';
import type { TopologyInput } from '../../src/domain/topology.js';
import type { App } from '../../src/http/app.js';
import { bearer, createHarness, dev, ticketBody, waitFor, type Harness } from '../helpers/harness.js';

/** Debian's chromium, as test/e2e/dashboard.browser.test.ts finds it. */
function chromiumPath(): string {
  try {
    return execSync('command -v chromium', { shell: '/bin/sh', encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium is not installed: the console browser test needs Debian\'s chromium (apt-get install chromium)');
  }
}

const ARTIFACTS = resolve('test-artifacts', 'screenshots');

/** Every calendar 24x7: business time is wall time, so the clocks the test moves mean what they say. */
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

/** Markup and script in every field that comes from outside: none of it may become an element or run. */
const HOSTILE = '<img src=x onerror="globalThis.__pwned=1"><script>globalThis.__pwned=2</script><b class="hostile">fett</b>';

let h: Harness;
let app: App;
let base: string;
let browser: Browser;
let breached: string;
let quiet: string;
let itemId: string;
let recurringId: string;
let suggester: string;
const requested: string[] = [];
/** Script errors on any page: none is expected. */
const pageErrors: string[] = [];
const ops = () => dev('ops-bremen', topology);

async function create(orgId: string, overrides: Record<string, unknown>): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/v1/tickets', headers: bearer(orgId), payload: ticketBody(overrides) });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

async function send(orgId: string, id: string, event: Record<string, unknown>) {
  const res = await app.inject({ method: 'POST', url: `/v1/tickets/${id}/events`, headers: bearer(orgId), payload: event });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** Fires the ticket's timers, moving the clock to each, until its first clock is breached. */
async function breach(id: string) {
  for (let i = 0; i < 5; i++) {
    const record = await h.runtime.engine.getTicket(ops(), id);
    if (record.state.context.sla.breaches.length > 0) return;
    const timer = record.state.context.timer!;
    clock.jumpTo(timer.at);
    await h.runtime.engine.fireTimer(id, timer.epoch);
  }
  throw new Error(`ticket ${id} did not breach`);
}

async function newPage(viewport = { width: 1280, height: 720 }): Promise<Page> {
  const context = await browser.newContext({ viewport, locale: 'de-DE', timezoneId: 'Europe/Berlin', acceptDownloads: true });
  const page = await context.newPage();
  page.on('request', (r) => requested.push(r.url()));
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
  return page;
}

async function logIn(page: Page, orgId: string) {
  await page.goto(`${base}/dashboard`);
  await page.fill('#key', `dev-${orgId}`);
  await Promise.all([page.waitForURL(`${base}/dashboard`), page.click('button[type=submit]')]);
}

type Doc = {
  document: {
    querySelectorAll(s: string): ArrayLike<unknown>;
    querySelector(s: string): { textContent: string } | null;
    documentElement: { scrollWidth: number };
    body: { dataset: Record<string, string> };
  };
  innerWidth: number;
  __pwned?: number;
  marker?: number;
};

/** No element or script of the hostile text on the page, and its words shown as text. */
async function expectNoHostileMarkup(page: Page) {
  expect(await page.locator('.hostile').count()).toBe(0);
  expect(await page.locator('img[src="x"]').count()).toBe(0);
  expect(await page.evaluate(() => (globalThis as unknown as Doc).__pwned)).toBeUndefined();
  const scripts = await page.locator('script').evaluateAll((els) => els.map((e) => (e as unknown as { src: string }).src));
  expect(scripts.every((src) => src.startsWith('http://127.0.0.1:'))).toBe(true);
}

/** No table reaches past its panel, and the page does not scroll sideways. */
async function expectNoOverflow(page: Page, what: string) {
  const wide = await page.evaluate(() => {
    type Box = { getBoundingClientRect(): { right: number }; closest(s: string): Box | null; className: string };
    const tables = Array.from((globalThis as unknown as Doc).document.querySelectorAll('.panel table') as ArrayLike<Box>);
    const over = tables.filter((t) => t.getBoundingClientRect().right > t.closest('.panel')!.getBoundingClientRect().right + 1).map((t) => (t.closest('.panel') as unknown as { id: string }).id);
    return { over, scroll: (globalThis as unknown as Doc).document.documentElement.scrollWidth > (globalThis as unknown as Doc).innerWidth };
  });
  expect(wide, what).toEqual({ over: [], scroll: false });
}

/** The page at 1280×720, 1366×768 and 1440×900, saved for a person to look at. */
async function screenshots(page: Page, name: string) {
  for (const [width, height] of [[1280, 720], [1366, 768], [1440, 900]] as const) {
    await page.setViewportSize({ width, height });
    await page.screenshot({ path: resolve(ARTIFACTS, `console-${name}-${width}x${height}.png`) });
    await page.screenshot({ path: resolve(ARTIFACTS, `console-${name}-${width}x${height}-full.png`), fullPage: true });
    await expectNoOverflow(page, `${name} at ${width}x${height}`);
  }
  await page.setViewportSize({ width: 1280, height: 720 });
}

beforeAll(async () => {
  const executablePath = chromiumPath();
  mkdirSync(ARTIFACTS, { recursive: true });
  h = await createHarness({ topology, now: clock, roles: ['intake', 'events', 'relay', 'backlog'] });
  app = await h.app();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;

  // A P1 from Bavaria that breaches its first response and so goes up to Dataport; hostile text and a reporter in it.
  breached = await create('desk-BY', {
    land: 'BY', service: 'uvo', category: 'technical', impact: 'high', urgency: 'high',
    subject: `Antrag bricht beim Hochladen ab ${HOSTILE}`, description: `Seit heute früh kommt eine Fehlermeldung.\n${HOSTILE}`,
    reporter: { name: 'Erika Mustermann', email: 'erika@example.org', phone: '+49 30 1234567' },
  });
  await breach(breached);
  await send('ops-bremen', breached, { type: 'CHANGE_PRIORITY', impact: 'high', urgency: 'high', reason: `Rückruf zugesagt ${HOSTILE}` });
  await send('desk-BY', breached, { type: 'NOTE', text: `Rückfrage der Stelle ${HOSTILE}` });
  // A second breach that was resolved: the board's "SLA verletzt" no longer counts it, and its list does not show it.
  const resolved = await create('desk-BY', { land: 'BY', service: 'uvo', category: 'technical', impact: 'high', urgency: 'high', subject: 'Erledigter Ausfall' });
  await breach(resolved);
  await send('ops-bremen', resolved, { type: 'ASSIGN', assignee: 'ops-bremen', reason: 'Übernahme' });
  await send('ops-bremen', resolved, { type: 'RESOLVE', resolution: `Behoben ${HOSTILE}` });
  quiet = await create('desk-HB', { land: 'HB', service: 'elfe' });
  // A suggestion makes a backlog item whose title is hostile too.
  suggester = await create('desk-BY', { land: 'BY', service: 'uvo' });
  await send('desk-BY', suggester, { type: 'SUGGEST_IMPROVEMENT', title: `Upload größerer Dateien ${HOSTILE}`, description: HOSTILE });
  const backlogItem = (title: RegExp) => async () =>
    (await app.inject({ method: 'GET', url: '/v1/backlog', headers: bearer('ops-bremen') })).json().items.find((i: { title: string }) => title.test(i.title))?.id as string | undefined;
  itemId = await waitFor(backlogItem(/^Upload größerer Dateien/), { what: 'the backlog item', timeoutMs: 15_000 });
  // A recurring problem: five technical tickets from two Länder saying the same in other words.
  for (const subject of ['Upload der Geburtsurkunde schlägt fehl', 'Geburtsurkunde lässt sich nicht hochladen', 'Fehler beim Hochladen der Geburtsurkunde', 'Upload Geburtsurkunde geht nicht']) {
    await create('desk-HB', { land: 'HB', service: 'elfe', category: 'technical', subject });
  }
  await create('desk-SH', { land: 'SH', service: 'elfe', category: 'technical', subject: 'Geburtsurkunde kann nicht hochgeladen werden' });
  recurringId = await waitFor(backlogItem(/^Wiederkehrendes Problem/), { what: 'the recurring item', timeoutMs: 15_000 });

  browser = await chromium.launch({ executablePath, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
});

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe('the console in a real browser: an operator', () => {
  let page: Page;

  it('opens a breached ticket from the board and reads its timeline in words', async () => {
    page = await newPage();
    await logIn(page, 'ops-bremen');
    const link = page.locator(`#breached a.ticket-id[title="${breached}"]`);
    await link.waitFor();
    await Promise.all([page.waitForURL(`${base}/dashboard/tickets/${breached}`), link.click()]);
    await page.waitForSelector('#content[aria-busy="false"] .timeline li');
    expect(await page.locator('#subject').innerText()).toBe(`Antrag bricht beim Hochladen ab ${HOSTILE}`);
    const timeline = await page.locator('.timeline').innerText();
    expect(timeline).toContain('angelegt');
    expect(timeline).toContain('SLA verletzt (Erstreaktion)');
    expect(timeline).toContain('an Dataport AöR übergeben');
    expect(timeline).toContain('von Betriebskoordination Bremen');
    expect(timeline).toMatch(/\d\d\.\d\d\. \d\d:\d\d/);
    expect(await page.locator('#facts').innerText()).toContain('Unterhaltsvorschuss online');
    expect(await page.locator('#facts').innerText()).toContain('Bayern');
    expect(await page.locator('#clocks tr[data-outcome="breached"]').count()).toBe(1);
    // Personal data never reaches an operator's page.
    expect(await page.content()).not.toMatch(/Erika|erika@example\.org|1234567/);
    await expectNoHostileMarkup(page);
    // Only what the machine allows an operator now: no RESOLVE, no ACCEPT for someone else's ticket.
    const offered = await page.locator('#action-area button.action').evaluateAll((bs) => bs.map((b) => (b as unknown as { dataset: { action: string } }).dataset.action));
    expect(offered).toEqual(expect.arrayContaining(['TAKE_OVER', 'ESCALATE', 'ASSIGN', 'CHANGE_PRIORITY']));
    expect(offered).not.toContain('RESOLVE');
    // Only the holder may resolve or accept it: the page says so, and offers taking it over first.
    expect(offered[0]).toBe('TAKE_OVER');
    const notice = await page.locator('#holder-only').innerText();
    expect(notice).toContain('Dataport AöR');
    expect(notice).toContain('Übernehmen');
    expect(await page.locator('.timeline').innerText()).toContain(`Rückfrage der Stelle ${HOSTILE}`);
    // Assigning offers organisations that work tickets: never the steering committee.
    await page.click('#action-area button[data-action="ASSIGN"]');
    const options = await page.locator('#f-assignee option').evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value));
    expect(options).toContain('it-BY');
    expect(options).not.toContain('steuerungskreis');
    expect(options).not.toContain('dataport');
    await page.click('#action-form button.small');
    await screenshots(page, 'ticket');
  });

  it('escalates it with a reason and sees the page and the board change without a reload', async () => {
    // The board open beside it, as an operator keeps it.
    const board = await newPage();
    await logIn(board, 'ops-bremen');
    await board.locator(`#breached a.ticket-id[title="${breached}"]`).waitFor();
    expect(await board.locator('#breached tbody tr', { hasText: breached.slice(-8) }).innerText()).toContain('Dataport AöR');
    await board.evaluate(() => ((globalThis as unknown as Doc).marker = 7));
    await page.evaluate(() => ((globalThis as unknown as Doc).marker = 42));
    await page.click('#action-area button[data-action="ESCALATE"]');
    await page.fill('#f-reason', `Dataport meldet sich nicht ${HOSTILE}`);
    await page.click('#action-form button[type=submit]');
    await page.waitForSelector('#message.ok');
    await page.waitForSelector('.timeline li[data-type="ESCALATE"]');
    const last = await page.locator('.timeline li[data-type="ESCALATE"]').innerText();
    expect(last).toContain('Stufe 3');
    expect(last).toContain('von Betriebskoordination Bremen');
    expect(last).toContain(`Dataport meldet sich nicht ${HOSTILE}`);
    expect(await page.locator('#holder').innerText()).toContain('Stufe 3');
    expect(await page.evaluate(() => (globalThis as unknown as Doc).marker)).toBe(42);
    await expectNoHostileMarkup(page);
    await screenshots(page, 'ticket-escalated');
    await board.locator('#breached tbody tr', { hasText: 'IT-Dienstleister Bayern' }).waitFor({ timeout: 15_000 });
    expect(await board.evaluate(() => (globalThis as unknown as Doc).marker)).toBe(7);
    await board.context().close();
    const history = (await app.inject({ method: 'GET', url: `/v1/tickets/${breached}/history`, headers: bearer('ops-bremen') })).json().items;
    expect(history.at(-1)).toMatchObject({ type: 'ESCALATE', actor: { orgId: 'ops-bremen', role: 'operator' }, level: 3 });
  });

  it('follows a change made elsewhere, and a race lost to one shows the current state', async () => {
    // Changed over the API while the page is open: the page follows by itself.
    const before = Number(await page.evaluate(() => (globalThis as unknown as Doc).document.body.dataset.version));
    await send('ops-bremen', breached, { type: 'CHANGE_PRIORITY', impact: 'medium', urgency: 'high', reason: 'Andere Einschätzung' });
    await page.waitForFunction((v) => (globalThis as unknown as Doc).document.body.dataset.version === String(v), before + 1);
    expect(await page.locator('#priority').innerText()).toBe('P2');
    // With a form open the page holds still; the change meanwhile makes the submit stale (412): the page shows the new state.
    await page.click('#action-area button[data-action="CHANGE_PRIORITY"]');
    await send('ops-bremen', breached, { type: 'CHANGE_PRIORITY', impact: 'low', urgency: 'low', reason: 'Doch nicht dringend' });
    await page.fill('#f-reason', 'Viele Rückfragen');
    await page.click('#action-form button[type=submit]');
    await page.waitForSelector('#message.warn');
    expect(await page.locator('#message').innerText()).toContain('inzwischen von anderer Seite geändert');
    expect(await page.locator('#priority').innerText()).toBe('P4');
    expect(await page.evaluate(() => (globalThis as unknown as Doc).document.body.dataset.version)).toBe(String(before + 2));
    expect(await page.content()).not.toMatch(/412|Precondition|stale/i);
  });

  it('takes over a ticket, and then may resolve it', async () => {
    await page.goto(`${base}/dashboard/tickets/${quiet}`);
    await page.click('#action-area button[data-action="TAKE_OVER"]');
    await page.fill('#f-reason', 'Übernahme durch die Betriebskoordination');
    await page.click('#action-form button[type=submit]');
    await page.waitForSelector('#message.ok');
    expect(await page.locator('#holder').innerText()).toContain('Betriebskoordination Bremen');
    await page.waitForSelector('#action-area button[data-action="RESOLVE"]');
  });

  it('lists the tickets behind a count, sortable, with names; finds a ticket by id', async () => {
    await page.goto(`${base}/dashboard/tickets?active=true&land=BY`);
    await page.waitForSelector('#list tbody tr');
    const rows = await page.locator('#list tbody tr').count();
    const api = (await app.inject({ method: 'GET', url: '/v1/tickets?active=true&land=BY&limit=200', headers: bearer('ops-bremen') })).json().items;
    expect(rows).toBe(api.length);
    expect(await page.locator('#list tbody').innerText()).toContain('Bayern');
    expect(await page.locator('#filter').innerText()).toContain('Land: Bayern');
    // Sorted on the server over the whole filter, by a real URL.
    await Promise.all([page.waitForURL(/sort=subject&order=asc/), page.click('#list th:nth-child(2) a.sort')]);
    await page.waitForSelector('#list tbody tr');
    expect(await page.locator('#list th:nth-child(2)').getAttribute('aria-sort')).toBe('ascending');
    expect(await page.locator('#sort-hint').innerText()).toBe(`Sortiert nach Betreff über ${rows} Tickets des Filters.`);
    const subjects = await page.locator('#list tbody a.subject-link').allInnerTexts();
    expect(subjects).toEqual([...subjects].sort((a, b) => a.toLocaleLowerCase('de').localeCompare(b.toLocaleLowerCase('de'), 'de')));
    await Promise.all([page.waitForURL(/sort=subject&order=desc/), page.click('#list th:nth-child(2) a.sort')]);
    await page.waitForSelector('#list tbody tr');
    expect(await page.locator('#list th:nth-child(2)').getAttribute('aria-sort')).toBe('descending');
    expect(await page.locator('#list tbody a.subject-link').allInnerTexts()).toEqual([...subjects].reverse());
    await expectNoHostileMarkup(page);
    await screenshots(page, 'tickets');
    // By the desk's own reference: the list with that filter.
    const ref = (await h.runtime.engine.getTicket(ops(), quiet)).data.externalRef;
    await page.fill('#find-ref', ref);
    await Promise.all([page.waitForURL(/externalRef=/), page.click('#search-page button[type=submit]')]);
    await page.waitForSelector('#list tbody tr');
    expect(await page.locator('#list tbody a.ticket-id').evaluateAll((as) => as.map((a) => (a as unknown as { title: string }).title))).toEqual([quiet]);
    expect(await page.locator('#filter').innerText()).toContain(`Referenz der Stelle: ${ref}`);
    await page.fill('#search-id', breached);
    await Promise.all([page.waitForURL(`${base}/dashboard/tickets/${breached}`), page.press('#search-id', 'Enter')]);
  });

  it('prioritises a backlog item as its owner', async () => {
    await page.goto(`${base}/dashboard/backlog/${itemId}`);
    await page.click('#decision-area button[data-action="PRIORITIZE"]');
    await page.fill('#decision-form input[name="rank"]', '1');
    await page.fill('#decision-form textarea[name="comment"]', `Viele Länder fragen ${HOSTILE}`);
    await page.click('#decision-form button[type=submit]');
    await page.waitForSelector('#message.ok');
    expect(await page.locator('.page-head').innerText()).toContain('priorisiert');
    expect(await page.locator('.timeline').innerText()).toContain(`Viele Länder fragen ${HOSTILE}`);
    // Its linked tickets by subject, each opening the ticket page for an operator, and why each was linked.
    expect(await page.locator('#links a.subject-link').first().getAttribute('href')).toMatch(/^\/dashboard\/tickets\/T/);
    expect(await page.locator('#links td.why').first().innerText()).toBe('Verbesserungsvorschlag · Ausgangsticket des Eintrags');
    await expectNoHostileMarkup(page);
    // And back: the ticket's page names the item it is linked to.
    await page.goto(`${base}/dashboard/tickets/${suggester}`);
    await page.locator(`#backlog-links a[href="/dashboard/backlog/${itemId}"]`).waitFor();
    expect(await page.locator('#backlog-links').innerText()).toContain(`Upload größerer Dateien ${HOSTILE}`);
    await expectNoHostileMarkup(page);
  });

  it('downloads the cost report as CSV whose shares add up to the budget', async () => {
    await page.goto(`${base}/dashboard/reports/cost-split?year=2026`);
    await page.waitForSelector('.report-service tbody tr');
    expect(await page.locator('.report-service').first().innerText()).toMatch(/\d{1,3}(\.\d{3})*,\d\d\s€/);
    await screenshots(page, 'report');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv')]);
    expect(download.suggestedFilename()).toBe('lotse-kostenaufteilung-2026.csv');
    const csv = readFileSync(await download.path(), 'utf8').trimEnd().split('\r\n').map((l) => l.split(','));
    expect(csv[0]![0]).toBe('year');
    const json = (await app.inject({ method: 'GET', url: '/v1/reports/cost-split?year=2026', headers: bearer('ops-bremen') })).json();
    for (const s of json.services as { service: string; budgetCents: number }[]) {
      expect(csv.filter((r) => r[1] === s.service).reduce((sum, r) => sum + Math.round(Number(r[9]) * 100), 0)).toBe(s.budgetCents);
    }
  });

  it('opens the list behind the "SLA verletzt" count, as long as the count says: resolved breaches left out', async () => {
    await page.goto(`${base}/dashboard`);
    const kpi = page.locator('.kpi', { hasText: 'SLA verletzt' }).locator('a.count-link');
    await kpi.waitFor();
    const count = Number(await kpi.innerText());
    expect(count).toBe(1);
    await page.goto(`${base}${await kpi.getAttribute('href')}`);
    await page.waitForSelector('#list tbody tr');
    expect(await page.locator('#list tbody tr').count()).toBe(count);
    expect(await page.locator('#list tbody').innerText()).not.toContain('Erledigter Ausfall');
  });

  it('finds tickets by words of the subject from the search box', async () => {
    await page.goto(`${base}/dashboard/backlog`);
    await page.fill('#search-id', 'hochladen ANTRAG');
    await Promise.all([page.waitForURL(/\/dashboard\/tickets\?q=/), page.press('#search-id', 'Enter')]);
    await page.waitForSelector('#list tbody tr');
    expect(await page.locator('#list tbody a.ticket-id').evaluateAll((as) => as.map((a) => (a as unknown as { title: string }).title))).toEqual([breached]);
    expect(await page.locator('#filter').innerText()).toContain('Worte des Betreffs: „hochladen ANTRAG“');
    expect(await page.locator('#searched').innerText()).toMatch(/\d+ Tickets durchsucht/);
    await expectNoHostileMarkup(page);
    await screenshots(page, 'tickets-search');
  });

  it('shows the board, with links to the console', async () => {
    await page.goto(`${base}/dashboard`);
    await page.waitForSelector('#breached a.ticket-id');
    expect(await page.locator(`#breached a.ticket-id[title="${breached}"]`).getAttribute('href')).toBe(`/dashboard/tickets/${breached}`);
    expect(await page.locator('.kpi.lead .kpi-value a').getAttribute('href')).toBe('/dashboard/tickets?active=true');
    await screenshots(page, 'board');
  });
});

describe('the console in a real browser: the steering committee', () => {
  it('opens the backlog and an item, reads why tickets were linked, and decides', { timeout: 90_000 }, async () => {
    const page = await newPage();
    await logIn(page, 'steuerungskreis');
    // Its board leaves out the ticket lists it may not read, instead of four panels of refusals.
    // Its counts are numbers, not links to lists it may not open.
    await page.waitForSelector('.kpi.lead .kpi-value span.count');
    expect(await page.locator('.kpi a.count-link').count()).toBe(0);
    expect(await page.locator('#panel-breached').isHidden()).toBe(true);
    expect(await page.locator('main').innerText()).not.toContain('vorbehalten');
    await screenshots(page, 'board-steering');
    await page.goto(`${base}/dashboard/backlog`);
    await page.waitForSelector('#list tbody tr');
    expect(await page.locator('#list tbody').innerText()).toContain(`Upload größerer Dateien ${HOSTILE}`);
    await expectNoHostileMarkup(page);
    await screenshots(page, 'backlog');
    await Promise.all([page.waitForURL(`${base}/dashboard/backlog/${itemId}`), page.locator(`#list tbody a.subject-link[href="/dashboard/backlog/${itemId}"]`).click()]);
    await page.waitForSelector('#links tbody tr');
    expect(await page.locator('#title').innerText()).toBe(`Upload größerer Dateien ${HOSTILE}`);
    expect(await page.locator('#links').innerText()).toContain('Bayern');
    // The linked ticket by its subject, date and status, as text: steering opens no ticket page.
    await page.waitForFunction(() => !(globalThis as unknown as Doc).document.querySelector('#links tbody td')?.textContent?.startsWith('…'));
    const row = await page.locator('#links tbody tr').first().innerText();
    expect(row).toMatch(/\d\d\.\d\d\. \d\d:\d\d/);
    expect(row).toContain('Neu');
    expect(await page.locator('#links a').count()).toBe(0);
    expect(await page.locator('#links td.why').first().innerText()).toBe('Verbesserungsvorschlag · Ausgangsticket des Eintrags');
    await expectNoHostileMarkup(page);
    await screenshots(page, 'backlog-item');
    await page.click('#decision-area button[data-action="ACCEPT"]');
    await page.fill('#decision-form textarea[name="note"]', `Im nächsten Release ${HOSTILE}`);
    await page.click('#decision-form button[type=submit]');
    await page.waitForSelector('#message.ok');
    expect(await page.locator('.page-head').innerText()).toContain('angenommen');
    expect(await page.locator('.timeline').innerText()).toContain(`Im nächsten Release ${HOSTILE}`);
    await expectNoHostileMarkup(page);
    // A recurring problem: its description counts tickets and Länder, each link names the words it shares.
    await page.goto(`${base}/dashboard/backlog/${recurringId}`);
    await page.waitForSelector('#links tbody tr');
    expect(await page.locator('#description').innerText()).toBe('5 technische Tickets aus 2 Ländern innerhalb von 7 Tagen melden dasselbe.');
    const reasons = await page.locator('#links td.why').allInnerTexts();
    expect(reasons).toHaveLength(5);
    for (const r of reasons) expect(r).toMatch(/^wiederkehrendes Problem · (gleicher Betreff$|(gleiche Begriffe|gemeinsame Worte): .*Geburtsurkunde)/);
    // The ticket whose subject the item took says "same subject"; the others, in other words, name the words.
    expect(reasons.filter((r) => r.endsWith('gleicher Betreff'))).toHaveLength(1);
    expect(await page.locator('#links tbody').innerText()).toContain('Geburtsurkunde lässt sich nicht hochladen');
    await screenshots(page, 'backlog-recurring');
    // A ticket page is the operators': refused, not an empty page.
    const res = await page.goto(`${base}/dashboard/tickets/${breached}`);
    expect(res?.status()).toBe(403);
    expect(await page.locator('h1').innerText()).toBe('Kein Zugang');
    await screenshots(page, 'forbidden');
    await page.context().close();
  });
});

describe('the console refuses', () => {
  it('a desk key: no session, no page, no ticket read', async () => {
    const page = await newPage();
    await page.goto(`${base}/dashboard/login`);
    await page.fill('#key', 'dev-desk-BY');
    await Promise.all([page.waitForURL(/fehler=rolle/), page.click('button[type=submit]')]);
    await page.goto(`${base}/dashboard/tickets/${breached}`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/login');
    const api = await fetch(`${base}/dashboard/api/tickets/${breached}`, { headers: bearer('desk-BY') });
    expect(api.status).toBe(403);
    await page.context().close();
  });

  it('no page had a script error', () => {
    expect(pageErrors).toEqual([]);
  });

  it('serves every console page with a content security policy of \'self\' only', async () => {
    const page = await newPage();
    await logIn(page, 'ops-bremen');
    for (const path of [`/dashboard/tickets/${breached}`, '/dashboard/tickets?q=Antrag', `/dashboard/backlog/${itemId}`, '/dashboard/backlog']) {
      const res = await page.goto(`${base}${path}`);
      const csp = res!.headers()['content-security-policy'] ?? '';
      expect(csp, path).toContain("default-src 'self'");
      // Nothing but the server itself in any source list.
      expect(csp.replace(/'self'|'none'|data:/g, ''), path).not.toMatch(/https?:|\*|'unsafe-inline'|'unsafe-eval'/);
    }
    await page.context().close();
  });

  it('no request left the server', () => {
    expect(requested.length).toBeGreaterThan(0);
    expect(requested.filter((u) => !u.startsWith(`${base}/`))).toEqual([]);
  });
});
