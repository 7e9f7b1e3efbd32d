/**
 * Issue 16's review, in a real browser (playwright-core with Debian's
 * chromium): the board's dead-letter count opens a paged list of exactly
 * that many, reasons and queues in German, the mail log with names and
 * words, a remote change's `via` in words, "Eingegangen" beside "Angelegt",
 * and a field error of an action in German naming the field.
 */
import { execSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDeadLetter } from '../../src/store/dead-letters.js';
import { makeKeys } from '../../src/store/keys.js';
import { createMailStore } from '../../src/store/mail-store.js';
import type { App } from '../../src/http/app.js';
import { bearer, createHarness, ticketBody, type Harness } from '../helpers/harness.js';

function chromiumPath(): string {
  try {
    return execSync('command -v chromium', { shell: '/bin/sh', encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium is not installed: this browser test needs Debian\'s chromium (apt-get install chromium)');
  }
}

const ARTIFACTS = resolve('test-artifacts', 'screenshots');
const SIZES = [{ width: 1280, height: 720 }, { width: 1366, height: 768 }] as const;
/** More than the board's panel shows (20) and than one page of the list (50). */
const DEAD = 57;

let h: Harness;
let app: App;
let base: string;
let browser: Browser;
let ticket: string;
const pageErrors: string[] = [];

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: SIZES[0], locale: 'de-DE', timezoneId: 'Europe/Berlin' });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
  return page;
}

async function logIn(page: Page) {
  await page.goto(`${base}/dashboard`);
  await page.fill('#key', 'dev-ops-bremen');
  await Promise.all([page.waitForURL(`${base}/dashboard`), page.click('button[type=submit]')]);
}

async function shots(page: Page, name: string) {
  for (const size of SIZES) {
    await page.setViewportSize(size);
    await page.screenshot({ path: resolve(ARTIFACTS, `review-${name}-${size.width}x${size.height}.png`) });
  }
  await page.setViewportSize(SIZES[0]);
}

beforeAll(async () => {
  const executablePath = chromiumPath();
  mkdirSync(ARTIFACTS, { recursive: true });
  h = await createHarness();
  app = await h.app();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;

  // Received by the desk two hours before it was entered: its clocks count from then.
  const receivedAt = new Date(Date.now() - 2 * 3600_000).toISOString();
  const res = await app.inject({ method: 'POST', url: '/v1/tickets', headers: bearer('desk-BY'), payload: ticketBody({ land: 'BY', service: 'uvo', subject: 'Bescheid kommt nicht an', receivedAt }) });
  expect(res.statusCode, res.body).toBe(201);
  ticket = res.json().id;

  // Dead letters of all three channels, as the workers leave them.
  const keys = makeKeys(h.prefix);
  const event = (id: string) => ({ specversion: '1.0', id, source: 'lotse', type: 'lotse.ticket.handoff.requested', subject: ticket, time: new Date().toISOString() }) as never;
  for (let i = 0; i < DEAD; i++) {
    const failedAt = new Date(Date.now() - i * 60_000).toISOString();
    const kind = i % 4;
    if (kind === 0) await addDeadLetter(h.redis, keys, { id: `ev-${i}`, orgId: 'dataport', reason: 'HTTP 500; gave up after 3 attempts', attempts: 3, lastStatus: 500, failedAt, jobId: `wh-ev-${i}`, event: event(`ev-${i}`) });
    if (kind === 1) await addDeadLetter(h.redis, keys, { id: `ev-${i}`, orgId: 'dataport', reason: 'network error UND_ERR_SOCKET; gave up after 3 attempts', attempts: 3, lastStatus: null, failedAt, jobId: `wh-ev-${i}`, event: event(`ev-${i}`) });
    if (kind === 2) await addDeadLetter(h.redis, keys, { id: `mail-ev-${i}`, orgId: 'vendor-pq', reason: 'timeout after 10000 ms; gave up after 5 attempts', attempts: 5, lastStatus: null, failedAt, jobId: `mail-ev-${i}`, channel: 'mail', event: event(`ev-${i}`) });
    if (kind === 3) await addDeadLetter(h.redis, keys, { id: `cx-ev-${i}`, orgId: 'vendor-lc', reason: 'RT not reached: connect ECONNREFUSED; gave up after 3 attempts', attempts: 3, lastStatus: null, failedAt, jobId: `cx-ev-${i}`, channel: 'connector', event: event(`ev-${i}`) });
  }

  // A change from Request Tracker, as the connector applies it (src/connectors/sync.ts writes `via`).
  await h.runtime.engine.applyEventOnce('system', ticket, { type: 'NOTE', text: 'Status in RT: in Arbeit' }, { via: { channel: 'connector', system: 'rt', remoteId: 4711, change: 88, remoteType: 'Status', matchedBy: 'correlation' } });

  // The ticket's mail log: one mail in from Dataport, one out to a vendor refused by the quota.
  const mail = createMailStore(h.redis, h.prefix);
  await mail.log(ticket, 'in-1', { at: new Date().toISOString(), direction: 'in', messageId: '<a@dataport>', party: 'dataport', kind: 'auto-reply', rule: 'auto-submitted', match: 'message-id', outcome: 'ACCEPT' });
  await mail.log(ticket, 'out-1', { at: new Date().toISOString(), direction: 'out', messageId: '<b@lotse>', party: 'vendor-pq', kind: 'handoff', outcome: 'refused (quota)', detail: '3 mails today' });
  await mail.log(ticket, 'in-2', { at: new Date().toISOString(), direction: 'in', messageId: '<c@x>', party: 'reporter', kind: 'person', rule: 'no-automation-mark', match: 'subject-tag', outcome: 'NOTE' });

  browser = await chromium.launch({ executablePath, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
});

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe('the console after the review (a real browser)', () => {
  it('the board: the dead-letter count opens a paged list of exactly as many, with replay, names, channels and German reasons', async () => {
    const page = await newPage();
    await logIn(page);
    const count = page.locator('.kpi a.count-link[href="/dashboard/dead-letters"]');
    await count.waitFor();
    const shown = Number((await count.innerText()).replace(/\./g, ''));
    expect(shown).toBe(DEAD);

    // The board's panel: named for what it holds, reasons in German with the raw one on hover, channels shown.
    await page.waitForSelector('#dead-letters tbody tr');
    expect(await page.locator('#panel-dead-letters h2').textContent()).toBe('Fehlgeschlagene Zustellungen (Webhook, Mail, Ticketsystem)');
    const panel = await page.locator('#dead-letters').innerText();
    expect(panel).not.toMatch(/gave up|network error|HTTP 500;/);
    expect(panel).toContain('Empfänger antwortete mit Fehler (HTTP 500)');
    expect(panel).toContain('keine Verbindung zum Empfänger (UND_ERR_SOCKET)');
    for (const channel of ['Webhook', 'Mail', 'Ticketsystem']) expect(panel).toContain(channel);
    expect(await page.locator('#dead-letters .reason').first().getAttribute('title')).toBe('Empfänger antwortete mit Fehler (HTTP 500) · nach 3 Versuchen aufgegeben\nMeldung im Original: HTTP 500; gave up after 3 attempts');
    expect(await page.locator('#dead-letters tbody tr').count()).toBeLessThan(DEAD);
    expect(await page.locator('#dead-letters-all').getAttribute('href')).toBe('/dashboard/dead-letters');

    // The queues panel: German names, the queue's id on hover.
    const queues = page.locator('#queues a.name');
    await queues.first().waitFor();
    const names = await queues.allInnerTexts();
    const ids = await queues.evaluateAll((els) => els.map((e) => e.getAttribute('title')));
    expect(ids).toContain('mail');
    expect(ids).toContain('connector');
    expect(names).toContain('Mail-Versand');
    expect(names).toContain('Andere Ticketsysteme');
    expect(names.filter((n) => ids.includes(n))).toEqual([]);
    await shots(page, 'board');
    for (const size of SIZES) {
      await page.setViewportSize(size);
      for (const panel of ['dead-letters', 'queues']) await page.locator(`#panel-${panel}`).screenshot({ path: resolve(ARTIFACTS, `review-board-${panel}-${size.width}x${size.height}.png`) });
    }
    await page.setViewportSize(SIZES[0]);

    // The count is a real link: the list page holds exactly that many rows once every page is loaded.
    await Promise.all([page.waitForURL(`${base}/dashboard/dead-letters`), count.click()]);
    await page.waitForSelector('#content[aria-busy="false"] #dead-table tbody tr');
    expect(await page.locator('#dead-table tbody tr').count()).toBe(50);
    await shots(page, 'dead-letters');
    while (await page.locator('#more').count()) {
      const before = await page.locator('#dead-table tbody tr').count();
      await page.click('#more');
      await page.waitForFunction((n) => (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<unknown> } }).document.querySelectorAll('#dead-table tbody tr').length > n, before);
    }
    expect(await page.locator('#dead-table tbody tr').count()).toBe(shown);
    expect(Number(await page.locator('#total').getAttribute('data-total'))).toBe(shown);
    const list = await page.locator('#dead-table').innerText();
    expect(list).not.toMatch(/gave up|network error|timeout after|RT not reached/);
    expect(list).toContain('keine Antwort binnen 10 s · nach 5 Versuchen aufgegeben');
    expect(list).toContain('Ticketsystem nicht erreicht');
    for (const name of ['Dataport AöR', 'Support PQ-Portal', 'Support Lieferantencockpit']) expect(list).toContain(name);
    expect(await page.locator('#dead-table tr[data-channel="mail"] td:nth-child(2)').first().innerText()).toBe('Mail');
    expect(await page.locator('#dead-table tr[data-channel="connector"] td:nth-child(2)').first().innerText()).toBe('Ticketsystem');
    expect(await page.locator('#dead-table tr[data-channel="webhook"] td:nth-child(2)').first().innerText()).toBe('Webhook');

    // Replay from the list: the row says so at once, and the letter is gone from the API's list.
    const row = page.locator('#dead-table tr[data-id="ev-0"]');
    await row.locator('button').click();
    await row.locator('.replayed').waitFor();
    expect(await row.locator('.replayed').innerText()).toMatch(/^erneut eingestellt am \d\d\.\d\d\. \d\d:\d\d$/);
    const one = await app.inject({ method: 'GET', url: '/v1/dead-letters/ev-0', headers: bearer('ops-bremen') });
    expect(one.statusCode).toBe(404);
    expect(pageErrors).toEqual([]);
    await page.context().close();
  });

  it('the ticket page: "Eingegangen" beside "Angelegt", the remote change in words, the mail log with names and German words', async () => {
    const page = await newPage();
    await logIn(page);
    await page.goto(`${base}/dashboard/tickets/${ticket}`);
    await page.waitForSelector('#content[aria-busy="false"] .timeline li');
    const facts = await page.locator('#facts').innerText();
    expect(facts).toMatch(/Eingegangen\s+\d\d\.\d\d\. \d\d:\d\d[\s\S]*Angelegt\s+\d\d\.\d\d\. \d\d:\d\d/);
    const received = await page.locator('#received-at time').getAttribute('datetime');
    const created = await page.locator('#facts dd time').nth(1).getAttribute('datetime');
    expect(Date.parse(received!)).toBeLessThan(Date.parse(created!));

    const note = page.locator('.timeline li[data-type="NOTE"]');
    expect(await note.locator('.via').innerText()).toBe('aus Request Tracker, Ticket #4711 · Änderung 88 · über die verknüpfte Ticketnummer zugeordnet');

    await page.waitForSelector('#mail-log tbody tr');
    const log = await page.locator('#mail-log').innerText();
    for (const word of ['Dataport AöR', 'Support PQ-Portal', 'meldende Person', 'automatische Antwort', 'Kennzeichen „Auto-Submitted“', 'über die Message-ID', 'Annahme übernommen', 'nicht gesendet: Tageskontingent erschöpft', 'ohne Kennzeichen einer automatischen Mail', 'über die Ticketnummer im Betreff', 'Übergabe']) {
      expect(log).toContain(word);
    }
    for (const code of ['auto-reply', 'no-automation-mark', 'message-id', 'ACCEPT', 'refused (quota)', 'dataport', 'vendor-pq', 'reporter']) {
      expect(log).not.toContain(code);
    }
    const titles = await page.locator('#mail-log .coded').evaluateAll((els) => els.map((e) => e.getAttribute('title')));
    expect(titles).toEqual(expect.arrayContaining(['auto-reply', 'message-id', 'ACCEPT', 'refused (quota) – 3 mails today', 'dataport']));
    await shots(page, 'ticket');
    await page.locator('#mail-log').scrollIntoViewIfNeeded();
    await page.screenshot({ path: resolve(ARTIFACTS, 'review-ticket-mail-log-1280x720.png') });
    expect(pageErrors).toEqual([]);
    await page.context().close();
  });

  it('a field error of an action reads in German and names the field', async () => {
    const page = await newPage();
    await logIn(page);
    await page.goto(`${base}/dashboard/tickets/${ticket}`);
    await page.waitForSelector('#content[aria-busy="false"] button[data-action="NOTE"]');
    await page.click('button[data-action="NOTE"]');
    // The form asks for the text itself; past it (as a script could), the API names the field.
    await page.locator('#f-text').evaluate((el) => el.removeAttribute('required'));
    await page.click('#action-form button[type=submit]');
    await page.waitForSelector('#message.error');
    const message = await page.locator('#message').innerText();
    expect(message).toBe('Bitte prüfen Sie: Notiz fehlt.');
    expect(message).not.toMatch(/Invalid|expected|received/);
    expect(await page.locator('#message').getAttribute('title')).toMatch(/text/);
    await page.screenshot({ path: resolve(ARTIFACTS, 'review-ticket-field-error-1280x720.png') });
    expect(pageErrors).toEqual([]);
    await page.context().close();
  });
  it('a mail in doubt: marked as possibly delivered, and sent again only after a second, explicit click (the API\'s ?force=true)', async () => {
    const keys = makeKeys(h.prefix);
    const id = 'mail-ev-doubt';
    await addDeadLetter(h.redis, keys, {
      id, orgId: 'vendor-pq', reason: 'in doubt: the SMTP server may have taken <x@lotse> (check its log)', attempts: 1, lastStatus: null,
      failedAt: new Date().toISOString(), jobId: id, channel: 'mail', inDoubt: true,
      event: { specversion: '1.0', id: 'ev-doubt', source: 'lotse', type: 'lotse.ticket.handoff.requested', subject: ticket, time: new Date().toISOString() } as never,
    });
    const page = await newPage();
    await logIn(page);

    // The board says so and sends the operator to the list instead of offering a plain replay.
    await page.waitForSelector(`#dead-letters .in-doubt`);
    expect(await page.locator('#dead-letters .in-doubt').first().innerText()).toBe('möglicherweise schon zugestellt');

    await page.goto(`${base}/dashboard/dead-letters`);
    const row = page.locator(`#dead-table tr[data-id="${id}"]`);
    await row.waitFor();
    expect(await row.locator('.in-doubt').innerText()).toBe('möglicherweise schon zugestellt');
    const button = row.locator('button');
    expect(await button.innerText()).toBe('Trotzdem senden …');
    await button.click();
    // The first click only asks: nothing is sent, the dead letter is still there.
    expect(await button.innerText()).toBe('Wirklich erneut senden');
    expect((await app.inject({ method: 'GET', url: `/v1/dead-letters/${id}`, headers: bearer('ops-bremen') })).statusCode).toBe(200);
    await button.click();
    await row.locator('.replayed').waitFor();
    expect((await app.inject({ method: 'GET', url: `/v1/dead-letters/${id}`, headers: bearer('ops-bremen') })).statusCode).toBe(404);
    // The forced replay's job is on the mail queue.
    const jobs = await h.runtime.queues.queue('mail').getJobs(['waiting', 'delayed', 'prioritized']);
    expect(jobs.map((j) => j.id)).toContainEqual(expect.stringMatching(/^mail-ev-doubt-r\d+-force$/));
    expect(pageErrors).toEqual([]);
    await page.context().close();
  });
});
