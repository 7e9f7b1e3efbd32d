import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../helpers/harness.js';

const run = promisify(execFile);
const RT_LIB = '/usr/share/request-tracker5';

/** A Request Tracker 5 of a test's own: its database, config, tokens and standalone server on a loopback port. */
export interface RtInstance {
  url: string;
  port: number;
  queue: string;
  customField: string;
  /** Lotse's token (user `lotse`). */
  lotseToken: string;
  /** An agent's token (user `root`): the vendor's person answering in RT. */
  agentToken: string;
  /** Stops the server (the database stays): RT is down. */
  stopServer(): Promise<void>;
  /** Starts it again on the same port. */
  startServer(): Promise<void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Waits for RT's condition with the tests' one waitFor (test/helpers/harness.ts), asking every 250 ms. */
const until = (what: string, check: () => Promise<boolean>, timeoutMs: number) => waitFor(check, { what: `RT: ${what}`, timeoutMs, intervalMs: 250 });

/** Starts an RT: `rt-setup-database-5` on a database of its own, the test's queue, custom field and tokens, then `rt-server`. */
export async function startRt(o: { queue?: string; customField?: string } = {}): Promise<RtInstance> {
  const id = randomBytes(5).toString('hex');
  const db = `rt_lotse_${id}`;
  const dir = await mkdtemp(join(tmpdir(), 'lotse-rt-'));
  const port = await freePort();
  const queue = o.queue ?? 'Lotse';
  const customField = o.customField ?? 'Lotse-ID';
  await mkdir(join(dir, 'site.d'));
  await mkdir(join(dir, 'mason'));
  const config = join(dir, 'RT_SiteConfig.pm');
  await writeFile(
    config,
    `Set($rtname, 'lotse-test-${id}');
Set($Organization, 'lotse.test');
Set($WebDomain, '127.0.0.1');
Set($WebPort, ${port});
Set($WebPath, '');
Set($WebBaseURL, 'http://127.0.0.1:${port}');
Set($DatabaseType, 'Pg');
Set($DatabaseHost, '127.0.0.1');
Set($DatabasePort, 5432);
Set($DatabaseName, '${db}');
Set($DatabaseUser, '${db}');
Set($DatabasePassword, '${id}');
Set($DatabaseAdmin, 'postgres');
Set($LogToSTDERR, 'error');
Set($LogToSyslog, undef);
Set($LogToFile, undef);
Set($LogDir, '${dir}');
Set($MasonDataDir, '${dir}/mason');
Set($MailCommand, 'mbox');
1;
`,
  );
  const env = { ...process.env, RT_SITE_CONFIG: config, RT_SITE_CONFIG_DIR: join(dir, 'site.d') };
  await run('/usr/sbin/rt-setup-database-5', ['--action', 'init', '--dba', 'postgres', '--dba-password', 'trust'], { env, cwd: dir, timeout: 180_000 });
  const { stdout } = await run('perl', [join(import.meta.dirname, 'rt-setup.pl'), queue, customField], { env, cwd: dir, timeout: 120_000 });
  const tokens = JSON.parse(stdout.trim().split('\n').at(-1)!) as { lotse: string; agent: string };
  const url = `http://127.0.0.1:${port}`;
  let server: ChildProcess | undefined;

  async function startServer() {
    server = spawn(join(RT_LIB, 'libexec/rt-server'), ['--port', String(port)], { env, cwd: dir, stdio: 'ignore', detached: true });
    await until('the REST API answering', async () => (await fetch(`${url}/REST/2.0/queues/all`, { headers: { Authorization: `token ${tokens.lotse}` } })).ok, 120_000);
  }
  async function stopServer() {
    const s = server;
    server = undefined;
    if (!s?.pid) return;
    const gone = new Promise((r) => s.once('exit', r));
    try {
      process.kill(-s.pid, 'SIGTERM');
    } catch {
      return;
    }
    await gone;
    await until('the port closing', async () => {
      try {
        await fetch(`${url}/`, { signal: AbortSignal.timeout(1000) });
        return false;
      } catch {
        return true;
      }
    }, 30_000);
  }

  await startServer();
  return {
    url, port, queue, customField, lotseToken: tokens.lotse, agentToken: tokens.agent,
    startServer, stopServer,
    async close() {
      await stopServer();
      await run('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-c', `DROP DATABASE IF EXISTS ${db}`]).catch(() => undefined);
      await run('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-c', `DROP ROLE IF EXISTS ${db}`]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The agent's side of RT, for tests: what a person at the vendor does there. */
export function rtAgent(rt: RtInstance) {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${rt.url}/REST/2.0${path}`, {
      method,
      headers: { Authorization: `token ${rt.agentToken}`, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw new Error(`RT ${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<unknown>;
  };
  return {
    reply: (id: string, text: string) => call('POST', `/ticket/${id}/correspond`, { Content: text, ContentType: 'text/plain' }),
    comment: (id: string, text: string) => call('POST', `/ticket/${id}/comment`, { Content: text, ContentType: 'text/plain' }),
    setStatus: (id: string, status: string) => call('PUT', `/ticket/${id}`, { Status: status }),
    ticket: (id: string) => call('GET', `/ticket/${id}`) as Promise<{ Status: string; Subject: string }>,
    /** The ids of the queue's tickets whose custom field holds this Lotse id. */
    async byLotseId(lotseId: string): Promise<string[]> {
      const q = `Queue = '${rt.queue}' AND CF.{${rt.customField}} = '${lotseId}'`;
      const page = (await call('GET', `/tickets?query=${encodeURIComponent(q)}&per_page=100`)) as { items: { id: string }[] };
      return page.items.map((i) => String(i.id));
    },
    /** Transactions of a ticket, oldest first: type, creator. */
    async history(id: string): Promise<{ id: string; Type: string; Creator: { id: string } }[]> {
      const page = (await call('GET', `/ticket/${id}/history?fields=Type,Creator&per_page=100`)) as { items: { id: string; Type: string; Creator: { id: string } }[] };
      return page.items;
    },
  };
}
