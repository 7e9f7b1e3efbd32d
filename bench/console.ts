import { Redis } from 'ioredis';
import { chromium, type Browser } from 'playwright-core';
import { benchTopology } from './stats.js';
import { createTicketLoader } from './ticket-loader.js';
import { listen, median, startRuntime } from './support.js';

/**
 * The console's first loads in a real browser (Debian's chromium through
 * playwright-core) at many tickets: the ticket page and the board, each
 * loaded `rounds` times in a fresh browser context (an empty cache) with an
 * operator's session. Per load: the requests the page makes, the bytes it
 * receives (bodies and headers, as chromium counts them; the open
 * /v1/stream counted as a request, its bytes not), and its time to
 * interactive: from the navigation's start to the moment the page has
 * rendered what it read (the board: its first refresh; the ticket page:
 * the ticket with its actions), read in the page as performance.now().
 *
 * The tickets are written by bench/ticket-loader.ts: templates through the
 * real engine, then clones of their commit requests through the store's own
 * commit (the one Lua COMMIT), so the index sets and counters are as the
 * engine writes them. BENCH_CONSOLE_TICKETS sets how many (200,000 by
 * default), BENCH_CONSOLE_ROUNDS the loads per page.
 */

const CHROMIUM = process.env.BENCH_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

interface Load {
  requests: number;
  bytes: number;
  tti: number;
}

type Doc = { document: { body: { dataset: Record<string, string | undefined> }; getElementById(id: string): { getAttribute(n: string): string | null; childElementCount: number } | null } };

/** The page is interactive: the board after its first refresh, the ticket page with its ticket and actions. */
const READY = {
  board: () => ((globalThis as unknown as Doc).document.body.dataset.refreshed ? performance.now() : false),
  ticket: () => {
    const d = (globalThis as unknown as Doc).document;
    const area = d.getElementById('action-area');
    return d.getElementById('content')?.getAttribute('aria-busy') === 'false' && d.body.dataset.version && area && area.childElementCount > 0 ? performance.now() : false;
  },
};

async function loadOnce(browser: Browser, base: string, cookie: { name: string; value: string }, path: string, ready: () => number | false): Promise<Load> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'de-DE', timezoneId: 'Europe/Berlin' });
  try {
    await context.addCookies([{ ...cookie, url: base }]);
    const page = await context.newPage();
    let requests = 0;
    const sizes: Promise<number>[] = [];
    page.on('request', () => void requests++);
    page.on('requestfinished', (r) => sizes.push(r.sizes().then((s) => s.responseBodySize + s.responseHeadersSize).catch(() => 0)));
    await page.goto(`${base}${path}`, { waitUntil: 'commit' });
    const handle = await page.waitForFunction(ready, undefined, { polling: 'raf', timeout: 120_000 });
    const tti = (await handle.jsonValue()) as number;
    // What the page fetched as it started has finished by now (the stream stays open and is not counted in bytes).
    await page.waitForLoadState('load');
    const bytes = (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
    return { requests, bytes, tti };
  } finally {
    await context.close();
  }
}

export async function benchConsole(url: string, opts: { tickets: number; rounds: number }) {
  const redis = new Redis(url);
  await redis.flushdb();
  const topology = benchTopology();
  const runtime = await startRuntime(url, 'bench-console', [], { topology });
  const server = await listen(runtime);
  let browser: Browser | undefined;
  try {
    const t0 = performance.now();
    const loader = await createTicketLoader(runtime, url, topology);
    await loader.load(Math.max(0, opts.tickets - loader.templates));
    const fillS = (performance.now() - t0) / 1000;
    const login = await fetch(`${server.url}/dashboard/login`, {
      method: 'POST', redirect: 'manual', body: new URLSearchParams({ key: 'dev-ops-bremen' }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
    });
    const raw = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    if (login.status !== 303 || !raw.includes('=')) throw new Error(`login answered ${login.status} without a session cookie`);
    const [name, ...value] = raw.split('=');
    const cookie = { name: name!, value: value.join('=') };
    // A ticket handed on to a provider (the loader's templates include some): a page with history, a handoff and actions.
    const list = await fetch(`${server.url}/v1/tickets?status=handoff-pending&limit=1`, { headers: { authorization: 'Bearer dev-ops-bremen' } });
    const any = await fetch(`${server.url}/v1/tickets?limit=1`, { headers: { authorization: 'Bearer dev-ops-bremen' } });
    const ticket = ((await list.json()) as { items: { id: string }[] }).items[0]?.id ?? ((await any.json()) as { items: { id: string }[] }).items[0]!.id;

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    const pages = { ticket: `/dashboard/tickets/${encodeURIComponent(ticket)}`, board: '/dashboard' } as const;
    const loads: Record<keyof typeof pages, Load[]> = { ticket: [], board: [] };
    // In turns, so both see the same machine load.
    for (let r = 0; r < opts.rounds; r++) {
      for (const key of ['ticket', 'board'] as const) loads[key].push(await loadOnce(browser, server.url, cookie, pages[key], READY[key]));
    }
    return { tickets: opts.tickets, fillS, rounds: opts.rounds, loads };
  } finally {
    await browser?.close();
    await server.close();
    await runtime.close();
    await redis.flushdb();
    redis.disconnect();
  }
}

export function reportConsole(c: Awaited<ReturnType<typeof benchConsole>>): string[] {
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  const line = (label: string, xs: Load[]) => {
    const tti = xs.map((x) => x.tti);
    return `  ${label.padEnd(14)} ${String(median(xs.map((x) => x.requests))).padStart(3)} requests  ${kib(median(xs.map((x) => x.bytes))).padStart(10)}  interactive after ${median(tti).toFixed(0)} ms (min ${Math.min(...tti).toFixed(0)}, max ${Math.max(...tti).toFixed(0)})`;
  };
  return [
    `${c.tickets.toLocaleString('en')} tickets (filled in ${c.fillS.toFixed(0)} s through the store's commit, bench/ticket-loader.ts); chromium, empty cache, median of ${c.rounds} loads each:`,
    line('ticket page', c.loads.ticket),
    line('board', c.loads.board),
    `  (bytes: bodies and headers as chromium received them; requests include the open /v1/stream)`,
  ];
}
