import { Redis } from 'ioredis';
import { benchTopology } from './stats.js';
import { listen, startRuntime } from './support.js';

/**
 * The dashboard's first load in bytes: the page after login and everything
 * it loads, found the way a browser finds it (the HTML's src and href, the
 * modules' imports, the stylesheet's url(), the JSON the script fetches
 * first), each fetched once over a real port with the session cookie.
 * Beside it, the same count for bull-board's page (/admin/queues): an
 * off-the-shelf board on the same server.
 */

interface Loaded {
  path: string;
  status: number;
  bodyBytes: number;
  headerBytes: number;
}

/** What a page or an asset refers to, as absolute paths on this server. */
export function referencesOf(path: string, type: string, text: string): string[] {
  const declared = type.includes('html') ? /<base\s+href="([^"]+)"/.exec(text)?.[1] : undefined;
  const base = new URL(declared ?? path, new URL(path, 'http://x'));
  const found: string[] = [];
  const add = (ref: string) => {
    if (/^(data:|https?:|#|mailto:)/.test(ref)) return;
    found.push(new URL(ref, base).pathname);
  };
  if (type.includes('html')) for (const m of text.matchAll(/<(?:script|link|img)\b[^>]*?\b(?:src|href)="([^"]+)"/g)) add(m[1]!);
  if (type.includes('javascript')) {
    for (const m of text.matchAll(/\bimport\s*(?:[\w*{}\s,]+from\s*)?["']([^"']+)["']/g)) add(m[1]!);
    for (const m of text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) add(m[1]!);
    // The JSON the page reads as it starts: string literals of its own API.
    for (const m of text.matchAll(/["'`](\/dashboard\/api\/[\w/-]+)["'`]/g)) add(m[1]!);
  }
  if (type.includes('css')) for (const m of text.matchAll(/url\(\s*["']?([^"')]+)["']?\s*\)/g)) add(m[1]!);
  return found;
}

async function firstLoad(base: string, page: string, cookie: string): Promise<Loaded[]> {
  const loaded: Loaded[] = [];
  const seen = new Set<string>();
  const queue = [page];
  while (queue.length > 0) {
    const path = queue.shift()!;
    if (seen.has(path)) continue;
    seen.add(path);
    const res = await fetch(`${base}${path}`, { headers: { cookie }, redirect: 'manual' });
    if (res.status !== 200 && path === page) throw new Error(`GET ${path} answered ${res.status}`);
    const body = Buffer.from(await res.arrayBuffer());
    let headerBytes = `HTTP/1.1 200 OK\r\n`.length + 2;
    res.headers.forEach((v, k) => (headerBytes += k.length + v.length + 4));
    loaded.push({ path, status: res.status, bodyBytes: body.length, headerBytes });
    if (res.status !== 200) continue;
    const type = res.headers.get('content-type') ?? '';
    queue.push(...referencesOf(path, type, body.toString('utf8')));
  }
  return loaded;
}

export async function benchDashboard(url: string) {
  const redis = new Redis(url);
  await redis.flushdb();
  const runtime = await startRuntime(url, 'bench-dash', [], { topology: benchTopology() });
  const server = await listen(runtime);
  try {
    const login = await fetch(`${server.url}/dashboard/login`, {
      method: 'POST', redirect: 'manual', body: new URLSearchParams({ key: 'dev-ops-bremen' }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    if (login.status !== 303 || !cookie) throw new Error(`login answered ${login.status} without a session cookie`);
    const dashboard = await firstLoad(server.url, '/dashboard', cookie);
    const board = await firstLoad(server.url, '/admin/queues', cookie);
    return { dashboard, board };
  } finally {
    await server.close();
    await runtime.close();
    await redis.flushdb();
    redis.disconnect();
  }
}

export function reportDashboard(d: Awaited<ReturnType<typeof benchDashboard>>): string[] {
  const sum = (xs: Loaded[]) => ({ body: xs.reduce((n, x) => n + x.bodyBytes, 0), headers: xs.reduce((n, x) => n + x.headerBytes, 0) });
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  const dash = sum(d.dashboard);
  const board = sum(d.board);
  return [
    `the dashboard's first load after login, uncompressed bodies (headers beside):`,
    ...d.dashboard.map((x) => `  ${x.path.padEnd(36)} ${String(x.bodyBytes).padStart(8)} B${x.status === 200 ? '' : ` (answered ${x.status})`}`),
    `  ${'all'.padEnd(36)} ${String(dash.body).padStart(8)} B = ${kib(dash.body)} in ${d.dashboard.length} requests (+ ${kib(dash.headers)} of headers; then the open /v1/stream)`,
    `bull-board's page (/admin/queues) the same way: ${board.body} B = ${kib(board.body)} in ${d.board.length} requests${d.board.some((x) => x.status !== 200) ? ` (${d.board.filter((x) => x.status !== 200).map((x) => `${x.path} ${x.status}`).join(', ')})` : ''}; dashboard / bull-board ${(dash.body / board.body).toFixed(2)}`,
  ];
}
