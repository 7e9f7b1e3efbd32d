import { createHash } from 'node:crypto';
import type { Topology } from '../domain/topology.js';
import { ownQueues, type OwnQueues } from './names.js';
import { partitionPrefixStem } from '../store/partitions.js';

/**
 * Redis ACL users from the topology (`lotse redis-acl`): Lotse's own user
 * with every key under its prefix, and one user per organisation that uses
 * the queues (`queues:` in the topology) with only its own queues' keys.
 *
 * Why these rules hold (checked against BullMQ 6.7 and Redis 7 in
 * test/integration/queue-acl.test.ts):
 * - every key BullMQ touches for a queue, the ones its Lua scripts compute
 *   (job hashes, locks, logs, deduplication keys) included, starts with
 *   `<prefix>:<queue>:`, and Redis checks each call inside a script against
 *   the calling user, keys and command alike; so `~<prefix>:<queue>:*` and
 *   the commands the scripts call are what a queue client needs;
 * - a job's parent (flows) lies under another key: a client that names
 *   another queue's job as parent is refused by Redis when it adds the job.
 */

/** The commands BullMQ 6.7's Lua scripts call (test/unit/redis-acl.test.ts reads them from BullMQ's scripts). */
export const BULLMQ_SCRIPT_COMMANDS = [
  'del', 'exists', 'get', 'hdel', 'hexists', 'hget', 'hgetall', 'hincrby', 'hlen', 'hmget', 'hmset', 'hset', 'incr', 'incrby',
  'lindex', 'llen', 'lpop', 'lpos', 'lpush', 'lrange', 'lrem', 'lset', 'ltrim', 'persist', 'pexpire', 'pexpireat', 'pttl',
  'rename', 'rpop', 'rpoplpush', 'rpush', 'sadd', 'scard', 'set', 'sismember', 'smembers', 'srem', 'time', 'type', 'unlink',
  'xadd', 'xdel', 'xlen', 'xrange', 'xread', 'xtrim', 'zadd', 'zcard', 'zcount', 'zlexcount', 'zpopmin', 'zrange',
  'zrangebylex', 'zrangebyscore', 'zrem', 'zremrangebyrank', 'zremrangebyscore', 'zrevrange', 'zrevrangebyscore', 'zscore',
] as const;

/**
 * What a BullMQ client sends itself: its scripts (EVALSHA, EVAL when a
 * script is not loaded yet), the version check and ioredis' ready check
 * (INFO: server statistics, no key names or values), connection names, a
 * worker's blocking wait on its marker key (BZPOPMIN), QueueEvents' XREAD,
 * the provider kit's XREVRANGE; and what ioredis' Cluster client needs to
 * find the slots (CLUSTER SLOTS), see the cluster is up (CLUSTER INFO,
 * its ready check) and follow a slot on the move (ASKING); and the worker
 * watchdog's look at its queue's front (queue-front.ts: LINDEX, ZRANGE,
 * HMGET, LLEN), named here so it does not hang on BullMQ's scripts using
 * them too.
 */
export const CLIENT_COMMANDS = ['evalsha', 'eval', 'info', 'client|setname', 'bzpopmin', 'xrevrange', 'ping', 'cluster|slots', 'cluster|info', 'asking', 'lindex', 'zrange', 'hmget', 'llen'] as const;

/** Every command a queue client's user may run; nothing else. */
export const QUEUE_CLIENT_COMMANDS: readonly string[] = [...new Set([...BULLMQ_SCRIPT_COMMANDS, ...CLIENT_COMMANDS])];

export interface AclUser {
  name: string;
  /** The SHA-256 of its password, hex: Redis' `#<hash>` rule, so no password is ever printed. */
  passwordSha256: string;
  keys: string[];
  /** `+@all`, or the commands allowed after `-@all`. */
  commands: 'all' | readonly string[];
  /** What the user is for, for the docs and the report. */
  what: string;
}

export class RedisAclError extends Error {
  constructor(readonly problems: string[]) {
    super(`lotse redis-acl: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/** The variable that holds an organisation's Redis password unless its `queues.password` names another. */
export const passwordVariableOf = (orgId: string) => `LOTSE_REDIS_PASSWORD_${orgId.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;

/** Shorter passwords are refused: a Redis password is tried at the speed of the network. */
export const MIN_PASSWORD_LENGTH = 16;

/** A key pattern matching exactly this text as its start: Redis' glob characters escaped. */
const literal = (s: string) => s.replace(/[*?[\]\\]/g, '\\$&');

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export interface RedisAclInput {
  topology: Topology;
  /** LOTSE_PREFIX. */
  prefix: string;
  /** LOTSE_PARTITIONS: with more than one, Lotse's user reaches the partitions' prefixes too. */
  partitions?: number;
  /** Lotse's own user, as its REDIS_URL names it. */
  lotse: { username?: string; password?: string };
  env: NodeJS.ProcessEnv;
}

/** Lotse's user and one per organisation on the queues; throws a RedisAclError naming every missing or weak secret. */
export function redisAclUsers(input: RedisAclInput): AclUser[] {
  const problems: string[] = [];
  const { prefix } = input;
  if (/\s/.test(prefix) || prefix.length === 0) problems.push(`LOTSE_PREFIX: ${JSON.stringify(prefix)} cannot be written in an ACL rule (no spaces)`);
  const users: AclUser[] = [];
  const { username, password } = input.lotse;
  if (!username || !password) {
    problems.push('REDIS_URL: name Lotse\'s own Redis user and its password in it (redis://lotse:<password>@host:port); Lotse connects with them');
  } else if (!/^[A-Za-z0-9_.-]+$/.test(username) || username === 'default') {
    problems.push(`REDIS_URL: ${JSON.stringify(username)} cannot be Lotse's user (letters, digits, _ . - only, and not "default")`);
  } else if (password.length < MIN_PASSWORD_LENGTH) {
    problems.push(`REDIS_URL: the password of ${username} is shorter than ${MIN_PASSWORD_LENGTH} characters`);
  } else {
    // With partitions, their prefixes (src/store/partitions.ts: the prefix's hash tag with `-p<n>…` in it) too.
    const partitions = (input.partitions ?? 1) > 1 ? partitionPrefixStem(prefix) : null;
    users.push({
      name: username,
      passwordSha256: sha256(password),
      keys: [`${literal(prefix)}:*`, ...(partitions ? [`${literal(partitions)}*`] : [])],
      commands: 'all',
      what: `Lotse itself: every key under ${prefix}:${partitions ? ` and its partitions' ${partitions}…` : ''}`,
    });
  }
  const variables = new Map<string, string>();
  for (const queues of ownQueues(input.topology)) {
    const org = input.topology.orgs.get(queues.orgId)!;
    const path = `organisations.${[...input.topology.orgs.keys()].indexOf(org.id)}.queues.password`;
    const ref = org.queues === true || org.queues?.password === undefined ? `env:${passwordVariableOf(org.id)}` : org.queues.password;
    if (org.id === username) problems.push(`${path}: organisation ${org.id} has the name of Lotse's own Redis user; give Lotse another user in REDIS_URL`);
    let digest: string | undefined;
    if (ref.startsWith('sha256:')) digest = ref.slice(7);
    else {
      const name = ref.slice(4);
      const other = variables.get(name);
      if (other !== undefined) problems.push(`${path}: ${org.id} and ${other} would share the variable ${name}; name one in queues.password`);
      variables.set(name, org.id);
      const value = input.env[name];
      if (!value) problems.push(`${path}: environment variable ${name} is not set (the Redis password of ${org.id})`);
      else if (value.length < MIN_PASSWORD_LENGTH) problems.push(`${path}: ${name} is shorter than ${MIN_PASSWORD_LENGTH} characters`);
      else digest = sha256(value);
    }
    if (digest) users.push(orgUser(prefix, queues, digest));
  }
  if (problems.length > 0) throw new RedisAclError(problems);
  return users;
}

function orgUser(prefix: string, q: OwnQueues, passwordSha256: string): AclUser {
  const queueKeys = [q.intake, q.events, q.handoff].filter((n): n is string => n !== undefined).map((n) => `${literal(prefix)}:${n}:*`);
  // The provider kit's deduplication marks (src/provider/dedup.ts).
  const kitKeys = q.handoff ? [`${literal(prefix)}:provider:${q.orgId}:*`] : [];
  const what = [q.intake && `adds to ${q.intake}`, `answers on ${q.events}`, q.handoff && `takes ${q.handoff}`].filter(Boolean).join(', ');
  return { name: q.orgId, passwordSha256, keys: [...queueKeys, ...kitKeys], commands: QUEUE_CLIENT_COMMANDS, what };
}

const rulesOf = (u: AclUser) => [
  'on', `#${u.passwordSha256}`, 'resetkeys', ...u.keys.map((k) => `~${k}`), 'resetchannels',
  ...(u.commands === 'all' ? ['+@all'] : ['-@all', ...u.commands.map((c) => `+${c}`)]),
];

/** The default user can do anything without a password: it is switched off. */
const DEFAULT_OFF = ['off', 'resetpass', 'resetkeys', 'resetchannels', '-@all'];

/** An ACL file (`aclfile` in redis.conf; `ACL LOAD`): it replaces every user, so the default user is switched off. */
export function formatAclFile(users: AclUser[]): string {
  return [...users.map((u) => `user ${u.name} ${rulesOf(u).join(' ')}`), `user default ${DEFAULT_OFF.join(' ')}`].join('\n') + '\n';
}

/** `ACL SETUSER` commands for a running Redis (`| redis-cli`), each user reset first; the default user last. */
export function formatSetUser(users: AclUser[]): string {
  return [...users.map((u) => `ACL SETUSER ${u.name} reset ${rulesOf(u).join(' ')}`), `ACL SETUSER default ${DEFAULT_OFF.join(' ')}`].join('\n') + '\n';
}
