/**
 * `lotse demo --clean`: removes the demo's keys (everything under its
 * prefix, Lotse's and BullMQ's) from a Redis others may share, and nothing
 * else. A prefix that does not say "demo" may be a real Lotse's: refused
 * unless `--force`.
 */
import type { Config } from '../config/env.js';
import { DEFAULT_REDIS_URL } from '../config/env.js';
import { connected, createRedis } from '../queue/connections.js';
import { countPrefixKeys, removePrefixKeys } from '../store/prefix-sweep.js';
import { knownPartitionPrefixes } from '../store/partitions.js';
import { looksLikeDemoPrefix } from './demo-setup.js';
import { DemoError } from './options.js';

const hidePassword = (url: string) => url.replace(/\/\/[^@/]*@/, '//***@');

export async function cleanDemo(config: Config, force: boolean, out: (line: string) => void = console.log): Promise<void> {
  const prefix = config.prefix;
  if (!looksLikeDemoPrefix(prefix) && !force) {
    throw new DemoError(
      2,
      `--clean: the prefix "${prefix}" does not look like a demo's (no "demo" in it), so its keys may be a real Lotse's tickets. ` +
        `Set LOTSE_PREFIX to the demo's prefix (default lotse-demo), or add --force to remove every key under "${prefix}:" all the same.`,
    );
  }
  const url = config.redisUrl ?? DEFAULT_REDIS_URL;
  const redis = createRedis(url, 'producer', `${prefix}-demo-clean`);
  redis.on('error', () => undefined);
  try {
    await connected(redis).catch(() => {
      throw new DemoError(1, `Redis at ${hidePassword(url)} does not answer: start it or set REDIS_URL.`);
    });
    let before: number;
    let removed: number;
    try {
      // The demo's partitions too (LOTSE_PARTITIONS), read before the registry under the prefix goes.
      const prefixes = [...(await knownPartitionPrefixes(redis, prefix)), prefix];
      before = 0;
      removed = 0;
      for (const p of prefixes) {
        before += await countPrefixKeys(redis, p);
        removed += await removePrefixKeys(redis, p);
      }
    } catch (err) {
      // A Cluster, or Redis refusing SCAN or UNLINK to this user: said in one line, not as a stack.
      throw new DemoError(1, `--clean: ${(err as Error).message}`);
    }
    out(`Demo-Daten entfernt: ${removed} Schlüssel unter ${prefix}: in ${hidePassword(url)}${before === 0 ? ' (es gab keine)' : ''}; andere Präfixe unberührt.`);
  } finally {
    redis.disconnect();
  }
}
