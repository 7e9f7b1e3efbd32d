import type { Cluster, Redis } from 'ioredis';

/** One Redis, or a Redis Cluster (`redis+cluster://` URL): every Lotse connection is one or the other. */
export type RedisClient = Redis | Cluster;

/**
 * The scripts whose key count is their first argument (they touch a varying
 * number of keys). ioredis's automatic pipelining on a Cluster groups a
 * command by its first argument when it does not know the command, so it
 * would put such a script in the pipeline of whichever node owns the slot of
 * "5": with partitions on several masters (LOTSE_PARTITIONS), one pipeline
 * then holds keys of several masters and fails whole ("All keys in the
 * pipeline should belong to the same slots allocation group"). On a Cluster
 * these go out on their own instead.
 */
export const KEY_COUNT_FIRST_SCRIPTS = ['lotseCommit', 'lotseCommitMany', 'lotseListPage', 'lotseEnterWindow', 'lotseRemoveDelayedJob'] as const;
