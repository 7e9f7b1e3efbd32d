import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedisServer, type RedisServer } from '../../src/embedded-redis.js';

/** A Redis of the scenario's own, with its append-only file kept across kills and restarts on the same port. */
export interface OwnRedis {
  server: RedisServer;
  url: string;
  /** `kill -9`: what Redis had not written to its file is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port from its append-only file. */
  restart(): Promise<void>;
  freeze(): void;
  thaw(): void;
  stop(): Promise<void>;
}

export async function startOwnRedis(appendfsync: 'always' | 'everysec'): Promise<OwnRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'lotse-faults-redis-'));
  let server = await startRedisServer({ dir, appendonly: true, appendfsync });
  const own: OwnRedis = {
    server,
    url: server.url,
    async kill() {
      if (server.process.exitCode !== null || server.process.signalCode !== null) return;
      const gone = new Promise((r) => server.process.once('exit', r));
      server.process.kill('SIGKILL');
      await gone;
    },
    async restart() {
      server = await startRedisServer({ dir, appendonly: true, appendfsync, port: server.port });
      own.server = server;
    },
    freeze: () => void server.process.kill('SIGSTOP'),
    thaw: () => void server.process.kill('SIGCONT'),
    async stop() {
      server.process.kill('SIGCONT');
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return own;
}
