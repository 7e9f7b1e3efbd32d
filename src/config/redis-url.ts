/** REDIS_URL read: one Redis, or the seed nodes of a Redis Cluster. Pure, so the config can check it at start. */

export interface ClusterAddress {
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
  tls: boolean;
}

const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)\/?$/;

/**
 * `redis+cluster://[user:password@]host:port,host:port,…` (or
 * `rediss+cluster://` for TLS): the seed nodes of a Redis Cluster; the
 * client finds the others itself. Null for a plain `redis://` URL; throws
 * naming what is wrong for a cluster URL that cannot be read.
 */
export function parseClusterUrl(url: string): ClusterAddress | null {
  if (!/^rediss?\+cluster:/.test(url)) return null;
  const m = CLUSTER_URL.exec(url);
  if (!m) throw new Error('a Redis Cluster URL is redis+cluster://[user:password@]host:port,host:port,…');
  const nodes = m[4]!.split(',').map((node) => {
    const at = node.lastIndexOf(':');
    const host = at > 0 ? node.slice(0, at) : node;
    const port = at > 0 ? Number(node.slice(at + 1)) : 6379;
    if (!host || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`not a host:port in the Redis Cluster URL: ${node}`);
    return { host: host.replace(/^\[(.*)\]$/, '$1'), port };
  });
  const decode = (s: string | undefined) => (s ? decodeURIComponent(s) : undefined);
  return { nodes, tls: m[1] === 'rediss', ...(m[2] ? { username: decode(m[2]) } : {}), ...(m[3] ? { password: decode(m[3]) } : {}) };
}

/** Whether a key prefix has a hash tag (`{lotse}`), which a Redis Cluster needs: it puts every key of Lotse in one slot. */
export const hasHashTag = (prefix: string): boolean => /\{[^{}]+\}/.test(prefix);

/** The user and password a REDIS_URL connects with (either kind of URL); what is not there is left out. */
export function redisCredentials(url: string): { username?: string; password?: string } {
  const cluster = parseClusterUrl(url);
  if (cluster) return { ...(cluster.username ? { username: cluster.username } : {}), ...(cluster.password ? { password: cluster.password } : {}) };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return {};
  }
  const decode = (s: string) => (s ? decodeURIComponent(s) : undefined);
  const username = decode(parsed.username);
  const password = decode(parsed.password);
  return { ...(username ? { username } : {}), ...(password ? { password } : {}) };
}
