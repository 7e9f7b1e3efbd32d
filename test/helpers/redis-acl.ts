import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { parseTopology } from '../../src/config/topology-file.js';
import type { Topology, TopologyInput } from '../../src/domain/topology.js';
import { answers, freePort } from '../../src/embedded-redis.js';
import { passwordVariableOf } from '../../src/queue/acl.js';
import { waitFor } from './harness.js';

/** The built-in topology with `queues: true` on these organisations: each gets a Redis user of its own. */
export function topologyWithQueueUsers(orgIds: string[]): Topology {
  const base = structuredClone(DEFAULT_TOPOLOGY) as TopologyInput;
  base.organisations = base.organisations.map((o) => (orgIds.includes(o.id) ? { ...o, queues: true } : o));
  return parseTopology(base, 'topology with queue users');
}

/** A fresh password per organisation, in the variables `lotse redis-acl` reads. */
export function queuePasswords(orgIds: string[]): { env: Record<string, string>; of(orgId: string): string } {
  const env: Record<string, string> = {};
  for (const id of orgIds) env[passwordVariableOf(id)] = randomBytes(16).toString('hex');
  return { env, of: (id) => env[passwordVariableOf(id)]! };
}

/** `redis://user:password@127.0.0.1:port`. */
export const userUrl = (port: number, user: string, password: string) => `redis://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}`;

export interface AclRedis {
  port: number;
  stop(): Promise<void>;
}

/**
 * A private redis-server on a free port with this ACL file loaded (its
 * default user off); resolves once `probeUrl` (a user of the file) answers.
 */
export async function startAclRedis(aclFile: string, probe: { user: string; password: string }): Promise<AclRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'lotse-acl-'));
  writeFileSync(join(dir, 'users.acl'), aclFile);
  const port = await freePort();
  const child = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no',
    '--maxmemory-policy', 'noeviction', '--aclfile', join(dir, 'users.acl'),
  ], { stdio: 'ignore' });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(() => child.exitCode === null && answers(userUrl(port, probe.user, probe.password), 200), { timeoutMs: 10_000, what: `redis-server with the ACL file on ${port}` });
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, stop };
}
