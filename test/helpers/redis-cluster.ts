import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { answers, freePort } from '../../src/embedded-redis.js';
import { waitFor } from './harness.js';

export interface LocalCluster {
  /** `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3`, as Lotse reads REDIS_URL. */
  url: string;
  ports: number[];
  stop(): Promise<void>;
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

/**
 * A real Redis Cluster of `masters` masters and no replicas on loopback
 * ports, from the redis-server binary; resolves once every node reports
 * `cluster_state:ok`. `stop()` kills the nodes and removes their files.
 */
export async function startRedisCluster(masters = 3, o: { aclFile?: string; auth?: { user: string; password: string } } = {}): Promise<LocalCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'lotse-cluster-'));
  const nodes: { port: number; child: ChildProcess; exited: Promise<void> }[] = [];
  const stop = async () => {
    for (const n of nodes) if (n.child.exitCode === null) n.child.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exited));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      const child = spawn('redis-server', [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--cluster-enabled', 'yes',
        '--cluster-config-file', `nodes-${port}.conf`, '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction',
        ...(o.aclFile ? ['--aclfile', o.aclFile] : []),
      ], { stdio: 'ignore' });
      nodes.push({ port, child, exited: new Promise((done) => child.once('exit', () => done())) });
    }
    // With an ACL file the default user is off: every probe and redis-cli authenticates as `auth`.
    const creds = o.auth ? `${encodeURIComponent(o.auth.user)}:${encodeURIComponent(o.auth.password)}@` : '';
    const cliAuth = o.auth ? ['--user', o.auth.user, '--pass', o.auth.password, '--no-auth-warning'] : [];
    for (const { port } of nodes) await waitFor(() => answers(`redis://${creds}127.0.0.1:${port}`, 200), { timeoutMs: 5000, what: `cluster node ${port} to answer` });
    await run('redis-cli', [...cliAuth, '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    for (const { port } of nodes) {
      const probe = new Redis(`redis://${creds}127.0.0.1:${port}`);
      try {
        await waitFor(async () => /cluster_state:ok/.test((await probe.cluster('INFO')) as string), { timeoutMs: 15_000, what: `cluster_state:ok on ${port}` });
      } finally {
        probe.disconnect();
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const ports = nodes.map((n) => n.port);
  return { url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`, ports, stop };
}
