import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { parseClusterUrl } from '../../src/config/redis-url.js';

describe('parseClusterUrl', () => {
  it.each([
    ['redis://127.0.0.1:6379', null],
    ['rediss://h:6380', null],
    ['redis+cluster://127.0.0.1:7000', { nodes: [{ host: '127.0.0.1', port: 7000 }], tls: false }],
    ['redis+cluster://a:7000,b:7001,c', { nodes: [{ host: 'a', port: 7000 }, { host: 'b', port: 7001 }, { host: 'c', port: 6379 }], tls: false }],
    ['rediss+cluster://:s%40cret@h:7000/', { nodes: [{ host: 'h', port: 7000 }], tls: true, password: 's@cret' }],
    ['redis+cluster://lotse:pw@[::1]:7000', { nodes: [{ host: '::1', port: 7000 }], tls: false, username: 'lotse', password: 'pw' }],
  ])('reads %s', (url, expected) => {
    expect(parseClusterUrl(url)).toEqual(expected);
  });

  it.each(['redis+cluster://', 'redis+cluster://h:0', 'redis+cluster://h:x', 'redis+cluster://a:1,,b:2'])('refuses %s', (url) => {
    expect(() => parseClusterUrl(url)).toThrow();
  });
});

describe('REDIS_URL for a cluster', () => {
  it('is taken with a hash-tagged prefix', () => {
    expect(loadConfig({ REDIS_URL: 'redis+cluster://a:7000,b:7001', LOTSE_PREFIX: '{lotse}' }).redisUrl).toBe('redis+cluster://a:7000,b:7001');
  });

  it('is refused without a hash tag in the prefix, and when unreadable, naming the variable', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis+cluster://a:7000' })).toThrow(/LOTSE_PREFIX: on a Redis Cluster/);
    expect(() => loadConfig({ REDIS_URL: 'redis+cluster://a:x', LOTSE_PREFIX: '{l}' })).toThrow(/REDIS_URL: a Redis Cluster URL/);
  });
});
