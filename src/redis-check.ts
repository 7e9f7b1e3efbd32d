import type { RedisClient } from './queue/connections.js';

/** Lotse needs Redis 6.2+ that never evicts keys; null when this one will do, else why not, in one line. */
export async function checkRedis(redis: RedisClient): Promise<string | null> {
  const info = await redis.info();
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  const version = field('redis_version') ?? '0';
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major < 6 || (major === 6 && minor < 2)) return `Redis ${version} is too old: Lotse needs 6.2 or newer.`;
  const policy = field('maxmemory_policy');
  if (policy !== undefined && policy !== 'noeviction') {
    return `Redis evicts keys (maxmemory-policy ${policy}): set maxmemory-policy noeviction, or Lotse could lose tickets and timers.`;
  }
  return null;
}
