import { createServer, Socket, type Server } from 'node:net';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, expect } from 'vitest';
import type { WatchdogSettings } from '../../src/queue/watched-worker.js';
import { dropPrefix, newPrefix, openConnections, redisUrl, waitFor } from './harness.js';

export type WedgeProxy = Awaited<ReturnType<typeof startWedgeProxy>>;

/**
 * A TCP proxy to Redis that can cut a BullMQ worker's blocking connection off
 * without closing it, as a Redis Cluster failover has left one: once cut, a
 * BZPOPMIN and every connection opened after it go nowhere while their
 * sockets stay open; BullMQ gives the BZPOPMIN up after its timeout and
 * reconnects its blocking client into the cut, where it never becomes ready,
 * while the worker's main connection (opened before) answers. Healed, new
 * connections and blocking calls pass again, as a promoted replica answers
 * new connections; those frozen stay frozen.
 */
export async function startWedgeProxy(target: URL) {
  let cut = false;
  let healed = false;
  const sockets = new Set<Socket>();
  const state = { frozenCommands: 0, frozenConnections: 0 };
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    sockets.add(client).add(upstream);
    const frozenFromStart = cut && !healed;
    if (frozenFromStart) state.frozenConnections++;
    let frozen = frozenFromStart;
    upstream.connect(Number(target.port || 6379), target.hostname);
    client.on('data', (chunk: Buffer) => {
      if (!frozen && cut && !healed && /bzpopmin/i.test(chunk.toString('latin1'))) {
        frozen = true;
        state.frozenCommands++;
      }
      if (!frozen) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!frozen) client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    /** The connection options of a BullMQ client that talks to Redis through the proxy (the target's user and password too). */
    connection: { host: '127.0.0.1', port, ...(target.username ? { username: target.username } : {}), ...(target.password ? { password: target.password } : {}) },
    state,
    /** From now on a BZPOPMIN, and every connection opened, goes nowhere (the sockets stay open). */
    cut: () => void (cut = true),
    /** New connections and blocking calls pass again; those frozen stay frozen. */
    heal: () => void (healed = true),
    /**
     * Cut, until the worker's blocking call and its reconnection are frozen
     * (it holds no blocking connection that will ever answer), then healed for
     * new connections: the state a failover left a worker in.
     */
    async wedge() {
      cut = true;
      await waitFor(() => state.frozenCommands >= 1 && state.frozenConnections >= 1, { timeoutMs: 30_000, what: 'the blocking client to reconnect into the cut' });
      healed = true;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * What a watchdog test file shares: short watchdog turns, a prefix of its
 * own (no connection of it may be left open at the end, then its keys are
 * dropped), an admin connection, and the warnings its workers log, parsed.
 */
export function watchdogSuite(tag: string) {
  const suite = {
    timing: { everyMs: 500, stuckAfterMs: 3000 } as WatchdogSettings,
    prefix: newPrefix(tag),
    admin: undefined as unknown as Redis,
    logged: [] as Record<string, unknown>[],
    logger: pino({ level: 'warn' }, { write: (line: string) => void suite.logged.push(JSON.parse(line) as Record<string, unknown>) }),
  };
  beforeAll(() => {
    suite.admin = new Redis(redisUrl());
  });
  afterAll(async () => {
    expect(await openConnections(suite.admin, suite.prefix)).toEqual([]);
    await dropPrefix(suite.admin, suite.prefix);
    suite.admin.disconnect();
  });
  return suite;
}
