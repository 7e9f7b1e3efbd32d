import type { Redis } from 'ioredis';

/** Every key under a prefix (SCAN, never KEYS). */
export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out;
}

/** Everything a key holds, as raw bytes, whatever its type (strings, hashes, lists, sets, sorted sets, streams). */
export async function contentsOf(redis: Redis, key: string): Promise<Buffer> {
  const type = await redis.type(key);
  const parts: Buffer[] = [];
  const flat = (v: unknown): void => {
    if (Buffer.isBuffer(v)) parts.push(v);
    else if (Array.isArray(v)) v.forEach(flat);
    else if (v !== null && v !== undefined) parts.push(Buffer.from(String(v)));
  };
  switch (type) {
    case 'string': flat(await redis.getBuffer(key)); break;
    case 'hash': flat(Object.entries(await redis.hgetallBuffer(key))); break;
    case 'list': flat(await redis.lrangeBuffer(key, 0, -1)); break;
    case 'set': flat(await redis.smembersBuffer(key)); break;
    case 'zset': flat(await redis.zrangeBuffer(key, 0, -1)); break;
    case 'stream': flat(await redis.xrangeBuffer(key, '-', '+')); break;
    case 'none': break;
    default: throw new Error(`a key of type ${type}: ${key}`);
  }
  parts.push(Buffer.from(key));
  return Buffer.concat(parts);
}

/** Where each marker still lies under the prefix: marker → keys that hold it. */
export async function findMarkers(redis: Redis, prefix: string, markers: readonly string[]): Promise<Record<string, string[]>> {
  const found: Record<string, string[]> = {};
  for (const key of await keysUnder(redis, prefix)) {
    const bytes = await contentsOf(redis, key);
    for (const m of markers) if (bytes.includes(Buffer.from(m))) (found[m] ??= []).push(key);
  }
  return found;
}
