import { createServer, Socket, type Server } from 'node:net';

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
  return {
    port: (server.address() as { port: number }).port,
    state,
    /** From now on a BZPOPMIN, and every connection opened, goes nowhere (the sockets stay open). */
    cut: () => void (cut = true),
    /** New connections and blocking calls pass again; those frozen stay frozen. */
    heal: () => void (healed = true),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
