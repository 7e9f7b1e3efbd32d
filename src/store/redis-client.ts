import type { Cluster, Redis } from 'ioredis';

/** One Redis, or a Redis Cluster (`redis+cluster://` URL): every Lotse connection is one or the other. */
export type RedisClient = Redis | Cluster;
