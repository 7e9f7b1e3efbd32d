import { execSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { parseTopology } from '../../src/config/topology-file.js';
import type { TopologyInput } from '../../src/domain/topology.js';
import type { App } from '../../src/http/app.js';
import { QUEUE } from '../../src/queue/names.js';
import { createConnectorStore } from '../../src/store/connector-store.js';
import { createMailStore } from '../../src/store/mail-store.js';
import { createHarness, dev, ticketBody, waitFor, type Harness } from '../helpers/harness.js';

/**
 * The board's exchange panel (issue 17, item 6) in a real browser: mail
 * health and connector health per organisation, by name. The data is what
 * the real parts write: handoffs committed and relayed (a mail job and a
 * connector change waiting, no mail or connector worker runs), health
 * written through the store functions the mail sender and the connector
 * worker call. No SMTP server, no RT.
 */

function chromiumPath(): string {
  try {
    return execSync('command -v chromium', { shell: '/bin/sh', encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium is not installed: the browser tests need Debian\'s chromium (apt-get install chromium)');
  }
}

const SHOTS = resolve('test-artifacts', 'screenshots');
const MAIL_ORG = 'vendor-pq';
const CX_ORG = 'vendor-lc';

const topology = (() => {
  const base = structuredClone(DEFAULT_TOPOLOGY) as TopologyInput;
  base.organisations = base.organisations.map((o) =>
    o.id === CX_ORG ? { ...o, connector: { kind: 'rt', url: 'http://127.0.0.1:9', token: 'env:RT_TOKEN', queue: 'Lotse' } }
      : o.id === MAIL_ORG ? { ...o, mail: { address: 'support@pq.example' } }
        : o,
  ) as TopologyInput['organisations'];
  return parseTopology(base, 'exchange topology');
})();

let h: Harness;
let app: App;
let base: string;
let bouncedTicketId = '';
let browser: Browser;
const requested: string[] = [];
const answered: { url: string; status: number }[] = [];

beforeAll(async () => {
  const executablePath = chromiumPath();
  mkdirSync(SHOTS, { recursive: true });
  h = await createHarness({
    topology,
    roles: ['intake', 'events', 'relay'],
    principalEnv: { RT_TOKEN: 'x', LOTSE_SMTP_URL: 'smtp://127.0.0.1:9', LOTSE_MAIL_FROM: 'lotse@lotse.example' },
  });
  app = await h.app();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;

  // A handoff to each: the mail waits on the mail queue, the change in the connector's queued set.
  const toMail = await h.runtime.engine.createTicket(dev('desk-BY', topology), ticketBody({ land: 'BY', service: 'pq-portal', category: 'question' }));
  bouncedTicketId = toMail.record.id;
  const toRt = await h.runtime.engine.createTicket(dev('desk-BY', topology), ticketBody({ land: 'BY', service: 'lieferantencockpit', category: 'question' }));
  await waitFor(() => h.runtime.queues.queue(QUEUE.mail).getJob(`mail-${toMail.record.id}-v1-handoff-${MAIL_ORG}`), { what: 'the mail job' });
  await waitFor(() => h.runtime.queues.queue(QUEUE.connector).getJob(`cx-${toRt.record.id}-v1-handoff-${CX_ORG}`), { what: 'the connector job' });

  // Health as the sender and the connector worker write it.
  const mail = createMailStore(h.runtime.redis, h.prefix);
  await mail.noteSent(MAIL_ORG, Date.parse('2026-12-07T09:15:00Z'));
  await mail.noteSendFailure(MAIL_ORG, Date.parse('2026-12-07T10:00:00Z'), '421 4.3.2 Service not available', false);
  await mail.markUndeliverable({ address: 'alt@pq.example', at: Date.parse('2026-12-06T08:00:00Z'), status: '5.1.1', diagnostic: 'user unknown', ticketId: toMail.record.id });
  const cx = createConnectorStore(h.runtime.redis, h.prefix);
  await cx.succeeded(CX_ORG, Date.parse('2026-12-07T08:30:00Z'));
  await cx.count(CX_ORG, 'applied', 7);
  await cx.count(CX_ORG, 'unmappedIn', 2);
  await cx.failed(CX_ORG, Date.parse('2026-12-07T10:05:00Z'), 'RT 503 POST /REST/2.0/ticket');
  await cx.failed(CX_ORG, Date.parse('2026-12-07T10:06:00Z'), 'RT 503 POST /REST/2.0/ticket');

  browser = await chromium.launch({ executablePath, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
});

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

async function logIn(size: { width: number; height: number }, key: string): Promise<Page> {
  const context = await browser.newContext({ viewport: size, locale: 'de-DE', timezoneId: 'Europe/Berlin' });
  const page = await context.newPage();
  page.on('request', (r) => requested.push(r.url()));
  page.on('response', (r) => answered.push({ url: r.url(), status: r.status() }));
  await page.goto(`${base}/dashboard`);
  await page.fill('#key', key);
  await Promise.all([page.waitForURL(`${base}/dashboard`), page.click('button[type=submit]')]);
  return page;
}

/** The text of each cell of each row of a part's first table. */
type Cells = { querySelectorAll(s: string): ArrayLike<{ textContent: string | null }> };
const rowsOf = (page: Page, part: string) =>
  page.locator(`#mail-health .${part} table`).first().locator('tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from((tr as unknown as Cells).querySelectorAll('td')).map((td) => td.textContent)));

describe('the exchange panel on the board', () => {
  for (const size of [{ width: 1280, height: 720 }, { width: 1366, height: 768 }]) {
    it(`shows mail and connector health per organisation by name at ${size.width}×${size.height}`, async () => {
      const page = await logIn(size, 'dev-ops-bremen');
      await page.waitForSelector('#panel-mail:not([hidden]) .exchange-mail tbody tr');
      await page.waitForSelector('#panel-mail .exchange-connectors tbody tr');
      expect(await page.locator('#panel-mail h2').textContent()).toBe('Austausch: Mail und Ticketsysteme');

      const mail = await rowsOf(page, 'exchange-mail');
      expect(mail).toEqual([['Support PQ-Portal', 'support@pq.example', '07.12.26, 10:15', '–', '1', '1', '421 4.3.2 Service not available']]);
      expect(await page.locator('#mail-health .exchange-mail span.name').getAttribute('title')).toBe(MAIL_ORG);
      expect(await page.locator('#mail-health .exchange-mail').innerText()).toContain('alt@pq.example');
      // The bounced address's ticket is a link to its page, not a raw id.
      const bouncedTicket = page.locator('#mail-health .exchange-mail a.ticket-id');
      expect(await bouncedTicket.getAttribute('href')).toBe(`/dashboard/tickets/${encodeURIComponent(bouncedTicketId)}`);
      expect(await bouncedTicket.innerText()).toBe(`…${bouncedTicketId.slice(-8)}`);

      const connectors = await rowsOf(page, 'exchange-connectors');
      expect(connectors).toEqual([['Support Lieferantencockpit', '07.12.26, 09:30', '1', '2', 'RT 503 POST /REST/2.0/ticket', '7', '2']]);
      expect(await page.locator('#mail-health .exchange-connectors span.name').getAttribute('title')).toBe(CX_ORG);
      expect(await page.locator('#mail-health .exchange-connectors span.bad').innerText()).toBe('2');

      // The queues of the exchange by their German names too, the queue's own name on hover.
      expect(await page.locator('#queues a[title="mail"]').innerText()).toBe('Mail-Versand');
      expect(await page.locator('#queues a[title="connector"]').innerText()).toBe('Andere Ticketsysteme');

      // Every table inside its panel.
      const widths = await page.locator('#panel-mail table').evaluateAll((ts) => ts.map((t) => ({ table: Math.round(t.getBoundingClientRect().width), room: (t.closest('.body') as unknown as { clientWidth: number }).clientWidth })));
      for (const w of widths) expect(w.table).toBeLessThanOrEqual(w.room);

      await page.locator('#panel-mail').scrollIntoViewIfNeeded();
      await page.screenshot({ path: resolve(SHOTS, `exchange-${size.width}x${size.height}.png`) });
      await page.locator('#panel-mail').screenshot({ path: resolve(SHOTS, `exchange-panel-${size.width}x${size.height}.png`) });
      await page.context().close();
    });
  }

  it('stays hidden for the steering committee, and nothing is loaded from outside', async () => {
    const page = await logIn({ width: 1280, height: 720 }, 'dev-steuerungskreis');
    await page.waitForSelector('.kpi.lead .kpi-value');
    // One overview has been handed to the panel once the board says when it refreshed.
    await page.waitForSelector('body[data-refreshed]');
    await waitFor(() => answered.some((a) => a.url === `${base}/v1/mail/health` && a.status === 403), { what: 'the mail health refused to the steering committee' });
    expect(await page.locator('#panel-mail').isHidden()).toBe(true);
    await page.context().close();
    expect(requested.filter((u) => !u.startsWith(`${base}/`))).toEqual([]);
  });
});
