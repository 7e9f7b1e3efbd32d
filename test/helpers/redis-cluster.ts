import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { answers, freePort } from '../../src/embedded-redis.js';
import { waitFor } from './harness.js';

export interface LocalCluster {
  /** `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,…` (every node, replicas too), as Lotse reads REDIS_URL. */
  url: string;
  ports: number[];
  stop(): Promise<void>;
  /** The nodes that are masters now, each with its slot ranges and its replicas' ports, as a live node reports them. */
  masters(): Promise<{ port: number; slots: [number, number][]; replicas: number[] }[]>;
  /**
   * Kills a master with SIGKILL and resolves once its replica has taken its
   * slots: every live node says `cluster_state:ok` and maps the slots to the
   * former replica. Answers the replica's port. Needs `replicas: 1`.
   */
  killMaster(port: number): Promise<number>;
  /** Runs commands on one node over a short-lived connection, for what only that node can answer (SCAN, CLIENT LIST). */
  onNode<T>(port: number, use: (r: Redis) => Promise<T>): Promise<T>;
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${out}`))));
  });
}

/** One line of CLUSTER NODES: the node's port, flags, the master it replicates ('-' for none) and its slot ranges. */
function parseNodes(text: string): { id: string; port: number; flags: string[]; master: string; slots: [number, number][] }[] {
  return text.trim().split('\n').map((line) => {
    const [id, addr, flags, master, , , , , ...slots] = line.split(' ');
    return {
      id: id!,
      port: Number(/:(\d+)@/.exec(addr!)?.[1]),
      flags: flags!.split(','),
      master: master!,
      // Importing/migrating markers (`[…]`) are not served slots.
      slots: slots.filter((r) => !r.startsWith('[')).map((r) => {
        const [a, b] = r.split('-');
        return [Number(a), Number(b ?? a)] as [number, number];
      }),
    };
  });
}

/**
 * A real Redis Cluster of `masters` masters on loopback ports, from the
 * redis-server binary, with `replicas` replicas per master (default none);
 * resolves once every node reports `cluster_state:ok` and every replica is
 * in sync with its master. `stop()` kills the nodes and removes their files.
 *
 * With replicas the nodes keep no AOF: a killed master's files are never read
 * again (its replica is promoted and serves from its own memory, which the
 * master's replication stream filled), so what survives a failover is what
 * reached the replica. Replication is asynchronous: Redis does not promise
 * that a write the master acknowledged reached the replica before a kill
 * (WAIT would); on loopback the master writes the replica's stream in the
 * same event-loop turn as the client's reply. A short node timeout (2 s)
 * makes the failover take seconds instead of the default 15 s and more.
 */
export async function startRedisCluster(masters = 3, o: { aclFile?: string; auth?: { user: string; password: string }; replicas?: number } = {}): Promise<LocalCluster> {
  const replicas = o.replicas ?? 0;
  const dir = mkdtempSync(join(tmpdir(), 'lotse-cluster-'));
  const nodes: { port: number; child: ChildProcess; exited: Promise<void> }[] = [];
  const stop = async () => {
    for (const n of nodes) if (n.child.exitCode === null) n.child.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exited));
    rmSync(dir, { recursive: true, force: true });
  };
  // With an ACL file the default user is off: every probe and redis-cli authenticates as `auth`.
  const creds = o.auth ? `${encodeURIComponent(o.auth.user)}:${encodeURIComponent(o.auth.password)}@` : '';
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const port = await freePort();
      const child = spawn('redis-server', [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--cluster-enabled', 'yes',
        '--cluster-config-file', `nodes-${port}.conf`, '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction',
        ...(replicas > 0 ? ['--cluster-node-timeout', '2000'] : []),
        ...(o.aclFile ? ['--aclfile', o.aclFile] : []),
      ], { stdio: 'ignore' });
      nodes.push({ port, child, exited: new Promise((done) => child.once('exit', () => done())) });
    }
    const cliAuth = o.auth ? ['--user', o.auth.user, '--pass', o.auth.password, '--no-auth-warning'] : [];
    for (const { port } of nodes) await waitFor(() => answers(`redis://${creds}127.0.0.1:${port}`, 200), { timeoutMs: 5000, what: `cluster node ${port} to answer` });
    await run('redis-cli', [...cliAuth, '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes']);
    for (const { port } of nodes) {
      const probe = new Redis(`redis://${creds}127.0.0.1:${port}`);
      try {
        await waitFor(async () => /cluster_state:ok/.test((await probe.cluster('INFO')) as string), { timeoutMs: 15_000, what: `cluster_state:ok on ${port}` });
        // A replica counts once it has its master's data and follows its stream.
        await waitFor(async () => !/role:slave/.test(await probe.info('replication')) || /master_link_status:up/.test(await probe.info('replication')), { timeoutMs: 15_000, what: `replica ${port} in sync` });
      } finally {
        probe.disconnect();
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const ports = nodes.map((n) => n.port);
  const live = () => nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null);
  /** Runs one command on one node over a short-lived connection. */
  const onNode = async <T>(port: number, use: (r: Redis) => Promise<T>): Promise<T> => {
    const r = new Redis(`redis://${creds}127.0.0.1:${port}`, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => undefined);
    try {
      await r.connect();
      return await use(r);
    } finally {
      r.disconnect();
    }
  };
  const clusterNodes = (port: number) => onNode(port, async (r) => parseNodes((await r.cluster('NODES')) as string));
  const masterList = async () => {
    const seen = await clusterNodes(live()[0]!.port);
    const up = seen.filter((n) => !n.flags.includes('fail'));
    return up.filter((n) => n.flags.includes('master') && n.slots.length > 0).map((n) => ({ port: n.port, slots: n.slots, replicas: up.filter((r) => r.master === n.id).map((r) => r.port) }));
  };
  const killMaster = async (port: number): Promise<number> => {
    const node = nodes.find((n) => n.port === port);
    const before = await clusterNodes(port);
    const self = before.find((n) => n.flags.includes('myself'));
    if (!node || !self?.flags.includes('master')) throw new Error(`killMaster: ${port} is not a master of this cluster`);
    const replica = before.find((n) => n.master === self.id);
    if (!replica) throw new Error(`killMaster: master ${port} has no replica (startRedisCluster with replicas: 1)`);
    node.child.kill('SIGKILL');
    await node.exited;
    for (const { port: other } of live()) {
      await waitFor(async () => {
        const [info, seen] = await Promise.all([onNode(other, async (r) => (await r.cluster('INFO')) as string), clusterNodes(other)]);
        const promoted = seen.find((n) => n.port === replica.port);
        return /cluster_state:ok/.test(info) && promoted?.flags.includes('master') && self.slots.every(([a, b]) => promoted.slots.some(([c, d]) => c <= a && b <= d));
      }, { timeoutMs: 30_000, intervalMs: 100, what: `the replica ${replica.port} of ${port} to serve its slots, seen from ${other}` });
    }
    return replica.port;
  };
  return { url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`, ports, stop, masters: masterList, killMaster, onNode };
}
