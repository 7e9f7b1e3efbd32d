import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { CreateTicketSchema } from '../../src/domain/ticket.js';
import type { Topology } from '../../src/domain/topology.js';
import { startRedisServer, type RedisServer } from '../../src/embedded-redis.js';
import { createProviderWorker } from '../../src/index.js';
import { createLogger } from '../../src/logger.js';
import { createRuntime, type Runtime, type WorkerRole } from '../../src/runtime.js';
import { breakdown, classifyDefault, startCommandCounter, totalOf, type CommandCounter, type Counted, type Counts, type Invocation } from '../helpers/command-count.js';
import { defaultTopology, dropPrefix, newPrefix, ticketBody, waitFor } from '../helpers/harness.js';
import { fastSlaTopology } from '../helpers/topologies.js';

/**
 * The command budget: the Redis commands of one ticket on
 * each path, counted exactly, each against a budget that gives the reason for
 * every command. A change that adds a command fails here until its budget is
 * raised on purpose; a change that saves one fails too, so the budget comes
 * down with it. docs/reference/command-budget.md says how to read and raise one.
 *
 * How the count is exact (test/helpers/command-count.ts):
 * - a redis-server of this file's own, watched with MONITOR: nobody else's
 *   commands, and a script counts with the calls it makes inside (as INFO
 *   commandstats counts them, and as `npm run bench` does);
 * - only Lotse's connections count (their CLIENT SETNAME names carry the
 *   test's prefix; the desk's producer and dataport's kit are named so too,
 *   since their commands are the ticket's cost at Lotse's Redis). The test's
 *   own checks run on an unnamed connection and are left out;
 * - the path runs once before the count (a warm-up), so one-time work
 *   (script loading, a queue's first metrics entry, the consumer group) is
 *   not in it, and the count is of the steady state;
 * - the window closes once everything the ticket caused is done: the outbox
 *   empty and no job waiting or running on any queue (`settled`);
 * - left out, because their number depends on the clock and not on the
 *   ticket, and kept apart instead of hidden: blocking waits (BZPOPMIN,
 *   XREADGROUP BLOCK) and fetches that found no job (`waits`, bounded below);
 *   stalled-job checks, lock renewals, heartbeats, the relay's claim pass,
 *   the workers' watchdog looks, BullMQ's once-a-minute metrics point
 *   (`background`). The charts' sampler
 *   writes its point at start, before any window, then once a minute.
 * - the rate limit's script runs PEXPIRE instead of PTTL on the first request
 *   of a window: the same one command, counted as PTTL (`rewrite`).
 * Whatever runs in the window in another order (the backlog job beside the
 * desk's next request) sends the same commands, so the maps are the same run
 * after run.
 */

const PRINT = process.env.BUDGET_PRINT === '1';

/** The roles a ticket's path touches. Retention sweeps on a clock and webhooks have no target in the default topology. */
const ROLES: WorkerRole[] = ['intake', 'events', 'sla', 'relay', 'backlog'];

/** Every step a budget names, and why it is there. */
const STEPS: Record<string, string> = {
  'addStandardJob intake': 'the desk adds the intake job (BullMQ script)',
  'moveToActive intake': 'the intake worker takes the job (BullMQ script: due delayed jobs, wait to active, the lock, the job read)',
  'moveToFinished intake': 'the intake worker completes the job: completed set, retention trims by age and count, metrics count, events stream, a look for the next job',
  rateLimit: 'the API rate limit (@fastify/rate-limit script), once per request',
  'mget login-fail:<scope>': "the key-guessing throttle, once per request with a Bearer key and before the key is checked: the failures of the client address and of the key's prefix (the board login's counters; their TTLs only when there are failures)",
  'set idem:desk-BY:<key>': 'the create reserves its idempotency record (the key comes from externalRef)',
  'get idem:dataport:<key>': "the kit's answer carries an Idempotency-Key: looked up before the change",
  'hmget t:<id>': "a ticket's snapshot loaded (the change, the backlog feed)",
  COMMIT_MANY: 'the commits asked for in one turn of the event loop, in one script call (group commit): each as COMMIT runs it',
  COMMIT: "the one atomic commit (Lotse's script): XADD of a technical ticket's id to the recurring-problem window's feed `rfeed` (its creation), HMGET the version and the ticket's last outbox entry id `ob` (one command, as the HGET of the version alone before), GET the idempotency record (creations), HSET the snapshot (and `ob` when it writes an outbox entry: no command more), RPUSH the history entry, XADD the outbox entry (or, for a change whose only effects are stream events and a timer's removal: XRANGE of at most one outbox entry at or before the ticket's own last one and, while there is none, XADD of the event straight onto `events` and the timer's delayed job removed (ZREM from `sla:delayed`, DEL of its keys): no relay round), ZADD/ZREM the ticket's index sets (11 for a new one, the desk's reference `ix:ref:<digest>` among them: raised by one on purpose for the console's search by externalRef), HINCRBY the read-model counters, SET the idempotency record",
  'addDelayedJob sla': 'the relay arms the SLA timer (a delayed job)',
  'changeDelay sla': 'the relay moves the timer to the new deadline, by its job id (the job is not loaded first; its state is read only when changeDelay finds it not delayed)',
  'removeJob sla': 'the relay cancels a timer that is no longer delayed (BullMQ removeJob, without the search for children a timer never has)',
  REMOVE_DELAYED_JOB: "the relay cancels a timer still delayed, by Lotse's script: ZREM from the delayed set, DEL of the job's keys (3 commands where BullMQ's removeJob takes 17)",
  'moveToActive sla': 'the sla worker takes the due timer (promoting it from the delayed set first)',
  'moveToFinished sla': 'the sla worker completes the timer job (removed on completion)',
  'set blk:uvo': "the backlog feed takes the service's matching lock (once per service per feed batch)",
  COMPARE_AND_DELETE: 'the backlog feed gives the lock back (EVAL)',
  ENTER_WINDOW: "the recurring-problem window, one script: the ticket's analysed subject, and per term (14) ZADD, the trim to the cap, EXPIRE (entries older than the window are skipped by score when read, not removed); then per term its recent tickets (ZREVRANGEBYSCORE), counted in the script: the nearest (at most 100) come back, not up to 100 per term",
  'xdel rfeed': "the backlog worker deletes the feed entry it observed (the technical ticket's commit appended it)",
  'xack rfeed': 'the backlog worker acknowledges the feed entry in its consumer group',
  'mget rt:<id>': 'the recurring-problem window: the analysed subjects of the tickets found that this process has not written or read in the last 30 s',
  'lrange t:<id>:h': "the handoff event's excerpt of the ticket's history",
  'addStandardJob handoff-dataport': "the relay hands the ticket to dataport: a job on dataport's queue",
  'moveToActive handoff-dataport': "dataport's kit takes the handoff job",
  'set provider:dataport:seen:<job>': 'the kit marks the handoff seen, so a repeat is skipped (receipt, then resolution)',
  'moveToFinished handoff-dataport': 'the kit completes the handoff job',
  FINISH_OUTBOX: 'the relay, in one script: XDEL the outbox entry, XADD each stream event, XACK the entry',
};

/**
 * A budget: per Redis command, how many, and which steps send them (a step
 * and its count; each step's reason is in STEPS). Printed in this form by
 * `BUDGET_PRINT=1 npx vitest run test/integration/command-budget.test.ts`.
 */
type Budget = Record<string, readonly [count: number, why: string]>;

// Measured on main at 50c1c00 (5b7ea15 with the docs and layers merges), BullMQ 6.7.0, Redis 7.0.
// The counted ticket is the second of its kind in its prefix (the warm-up is the first): the
// recurring-problem window finds both, both from one Land, so it never opens a backlog item here.
/** 152 commands (153 before the feed kept the observations it saw decoded for 30 s: the warm-up's is not read again; 215 before the recurring-problem window was fed by the commit's XADD to rfeed instead of an observe job; the commit's HGET of the version is an HMGET of the version and `ob` now, one command still). */
const INTAKE: Budget = {
  zadd: [30, 'addStandardJob intake 1, moveToActive intake 1, COMMIT 11, addDelayedJob sla 2, moveToFinished intake 1, ENTER_WINDOW 14'],
  zrevrangebyscore: [16, 'addDelayedJob sla 1, moveToFinished intake 1, ENTER_WINDOW 14'],
  zremrangebyrank: [15, 'moveToFinished intake 1, ENTER_WINDOW 14'],
  expire: [14, 'ENTER_WINDOW 14'],
  xadd: [10, 'addStandardJob intake 2, moveToActive intake 1, COMMIT 2, addDelayedJob sla 2, FINISH_OUTBOX 1, moveToFinished intake 2'],
  evalsha: [7, 'addStandardJob intake 1, moveToActive intake 1, COMMIT 1, addDelayedJob sla 1, FINISH_OUTBOX 1, moveToFinished intake 1, ENTER_WINDOW 1'],
  hincrby: [6, 'moveToActive intake 1, COMMIT 3, moveToFinished intake 2'],
  hmget: [6, 'addStandardJob intake 1, moveToActive intake 1, COMMIT 1, hmget t:<id> 1, moveToFinished intake 2'],
  hget: [4, 'addStandardJob intake 1, addDelayedJob sla 1, moveToFinished intake 2'],
  set: [4, 'moveToActive intake 1, COMMIT 1, set blk:uvo 1, ENTER_WINDOW 1'],
  del: [3, 'moveToFinished intake 2, COMPARE_AND_DELETE 1'],
  exists: [3, 'addStandardJob intake 1, addDelayedJob sla 1, moveToFinished intake 1'],
  get: [3, 'COMMIT 1, moveToFinished intake 1, COMPARE_AND_DELETE 1'],
  hmset: [3, 'addStandardJob intake 1, moveToActive intake 1, addDelayedJob sla 1'],
  hset: [2, 'COMMIT 1, moveToFinished intake 1'],
  incr: [2, 'addStandardJob intake 1, addDelayedJob sla 1'],
  llen: [2, 'moveToFinished intake 2'],
  rpoplpush: [2, 'moveToActive intake 1, moveToFinished intake 1'],
  xack: [2, 'FINISH_OUTBOX 1, xack rfeed 1'],
  xdel: [2, 'FINISH_OUTBOX 1, xdel rfeed 1'],
  zcard: [2, 'moveToFinished intake 2'],
  zrange: [2, 'addDelayedJob sla 1, moveToFinished intake 1'],
  zrangebyscore: [2, 'moveToActive intake 1, moveToFinished intake 1'],
  eval: [1, 'COMPARE_AND_DELETE 1'],
  hgetall: [1, 'moveToActive intake 1'],
  lpush: [1, 'addStandardJob intake 1'],
  lrem: [1, 'moveToFinished intake 1'],
  rpush: [1, 'COMMIT 1'],
  scard: [1, 'moveToFinished intake 1'],
  srem: [1, 'moveToFinished intake 1'],
  xtrim: [1, 'moveToFinished intake 1'],
  zpopmin: [1, 'moveToFinished intake 1'],
  zrevrange: [1, 'moveToFinished intake 1'],
};
/** 107 commands (108 before the feed's observations were kept decoded, 170 before the rfeed). */
const HTTP_CREATE: Budget = {
  zadd: [27, 'COMMIT 11, addDelayedJob sla 2, ENTER_WINDOW 14'],
  zrevrangebyscore: [15, 'addDelayedJob sla 1, ENTER_WINDOW 14'],
  expire: [14, 'ENTER_WINDOW 14'],
  zremrangebyrank: [14, 'ENTER_WINDOW 14'],
  evalsha: [5, 'rateLimit 1, COMMIT 1, addDelayedJob sla 1, FINISH_OUTBOX 1, ENTER_WINDOW 1'],
  xadd: [5, 'COMMIT 2, addDelayedJob sla 2, FINISH_OUTBOX 1'],
  set: [4, 'set idem:desk-BY:<key> 1, COMMIT 1, set blk:uvo 1, ENTER_WINDOW 1'],
  hincrby: [3, 'COMMIT 3'],
  get: [2, 'COMMIT 1, COMPARE_AND_DELETE 1'],
  hmget: [2, 'COMMIT 1, hmget t:<id> 1'],
  incr: [2, 'rateLimit 1, addDelayedJob sla 1'],
  mget: [1, 'mget login-fail:<scope> 1'],
  xack: [2, 'FINISH_OUTBOX 1, xack rfeed 1'],
  xdel: [2, 'FINISH_OUTBOX 1, xdel rfeed 1'],
  del: [1, 'COMPARE_AND_DELETE 1'],
  eval: [1, 'COMPARE_AND_DELETE 1'],
  exists: [1, 'addDelayedJob sla 1'],
  hget: [1, 'addDelayedJob sla 1'],
  hmset: [1, 'addDelayedJob sla 1'],
  hset: [1, 'COMMIT 1'],
  pttl: [1, 'rateLimit 1'],
  rpush: [1, 'COMMIT 1'],
  zrange: [1, 'addDelayedJob sla 1'],
};
/** 14 commands (17 before a publish-only change was published by its commit; its check is an XRANGE of the ticket's own pending entries now, where it was the outbox's XLEN). */
const HTTP_EVENT: Budget = {
  evalsha: [2, 'rateLimit 1, COMMIT 1'],
  hmget: [2, 'hmget t:<id> 1, COMMIT 1'],
  hincrby: [1, 'COMMIT 1'],
  hset: [1, 'COMMIT 1'],
  incr: [1, 'rateLimit 1'],
  mget: [1, 'mget login-fail:<scope> 1'],
  pttl: [1, 'rateLimit 1'],
  rpush: [1, 'COMMIT 1'],
  xadd: [1, 'COMMIT 1'],
  xrange: [1, 'COMMIT 1'],
  zadd: [1, 'COMMIT 1'],
  zrem: [1, 'COMMIT 1'],
};
/** 258 commands (259 before the feed's observations were kept decoded, 349 before the timer was moved by its id, 348 before the rfeed, 286 before a publish-only change was published by its commit, 277 before the close's commit removed the timer itself: the close is then publish-only too, so it needs no outbox entry, no relay round and no BullMQ removeJob (17)). */
const HANDOFF_LIFECYCLE: Budget = {
  zadd: [41, 'COMMIT 20, addDelayedJob sla 2, ENTER_WINDOW 14, changeDelay sla 2, addStandardJob handoff-dataport 1, moveToActive handoff-dataport 1, moveToFinished handoff-dataport 1'],
  evalsha: [20, 'rateLimit 6, COMMIT 6, addDelayedJob sla 1, FINISH_OUTBOX 2, ENTER_WINDOW 1, changeDelay sla 1, addStandardJob handoff-dataport 1, moveToActive handoff-dataport 1, moveToFinished handoff-dataport 1'],
  xadd: [17, 'COMMIT 7, addDelayedJob sla 2, FINISH_OUTBOX 2, changeDelay sla 1, addStandardJob handoff-dataport 2, moveToActive handoff-dataport 1, moveToFinished handoff-dataport 2'],
  zrevrangebyscore: [17, 'addDelayedJob sla 1, ENTER_WINDOW 14, changeDelay sla 1, moveToFinished handoff-dataport 1'],
  hmget: [16, 'COMMIT 6, hmget t:<id> 6, addStandardJob handoff-dataport 1, moveToActive handoff-dataport 1, moveToFinished handoff-dataport 2'],
  zremrangebyrank: [15, 'ENTER_WINDOW 14, moveToFinished handoff-dataport 1'],
  expire: [14, 'ENTER_WINDOW 14'],
  zrem: [13, 'COMMIT 12, changeDelay sla 1'],
  hincrby: [11, 'COMMIT 9, moveToActive handoff-dataport 1, moveToFinished handoff-dataport 1'],
  set: [9, 'set idem:desk-BY:<key> 1, COMMIT 3, set blk:uvo 1, ENTER_WINDOW 1, moveToActive handoff-dataport 1, set provider:dataport:seen:<job> 2'],
  hset: [8, 'COMMIT 6, changeDelay sla 1, moveToFinished handoff-dataport 1'],
  incr: [8, 'rateLimit 6, addDelayedJob sla 1, addStandardJob handoff-dataport 1'],
  mget: [6, 'mget login-fail:<scope> 6'],
  pttl: [6, 'rateLimit 6'],
  rpush: [6, 'COMMIT 6'],
  get: [5, 'COMMIT 1, COMPARE_AND_DELETE 1, get idem:dataport:<key> 2, moveToFinished handoff-dataport 1'],
  del: [4, 'COMPARE_AND_DELETE 1, moveToFinished handoff-dataport 2, COMMIT 1'],
  exists: [4, 'addDelayedJob sla 1, changeDelay sla 1, addStandardJob handoff-dataport 1, moveToFinished handoff-dataport 1'],
  hget: [4, 'addDelayedJob sla 1, changeDelay sla 1, addStandardJob handoff-dataport 1, moveToFinished handoff-dataport 1'],
  xrange: [4, 'COMMIT 4'],
  hmset: [3, 'addDelayedJob sla 1, addStandardJob handoff-dataport 1, moveToActive handoff-dataport 1'],
  xack: [3, 'FINISH_OUTBOX 2, xack rfeed 1'],
  xdel: [3, 'FINISH_OUTBOX 2, xdel rfeed 1'],
  zrange: [3, 'addDelayedJob sla 1, changeDelay sla 1, moveToFinished handoff-dataport 1'],
  llen: [2, 'moveToFinished handoff-dataport 2'],
  rpoplpush: [2, 'moveToActive handoff-dataport 1, moveToFinished handoff-dataport 1'],
  zcard: [2, 'moveToFinished handoff-dataport 2'],
  zrangebyscore: [2, 'moveToActive handoff-dataport 1, moveToFinished handoff-dataport 1'],
  eval: [1, 'COMPARE_AND_DELETE 1'],
  hgetall: [1, 'moveToActive handoff-dataport 1'],
  lpush: [1, 'addStandardJob handoff-dataport 1'],
  lrange: [1, 'lrange t:<id>:h 1'],
  lrem: [1, 'moveToFinished handoff-dataport 1'],
  scard: [1, 'moveToFinished handoff-dataport 1'],
  srem: [1, 'moveToFinished handoff-dataport 1'],
  xtrim: [1, 'moveToFinished handoff-dataport 1'],
  zpopmin: [1, 'moveToFinished handoff-dataport 1'],
  zrevrange: [1, 'moveToFinished handoff-dataport 1'],
};
/**
 * The commit of one creation alone (no worker runs: its effects wait in
 * the outbox), 22 commands, and of four asked for in one tick, 85: one
 * script call for the four instead of four (the group commit), the rest
 * four times. Only the EVALSHA is saved; what a commit writes stays.
 */
const CREATION_COMMIT: Budget = {
  zadd: [11, 'COMMIT 11'],
  hincrby: [3, 'COMMIT 3'],
  xadd: [2, 'COMMIT 2'],
  evalsha: [1, 'COMMIT 1'],
  get: [1, 'COMMIT 1'],
  hmget: [1, 'COMMIT 1'],
  hset: [1, 'COMMIT 1'],
  rpush: [1, 'COMMIT 1'],
  set: [1, 'COMMIT 1'],
};
const GROUP_OF_FOUR: Budget = {
  zadd: [44, 'COMMIT_MANY 44'],
  hincrby: [12, 'COMMIT_MANY 12'],
  xadd: [8, 'COMMIT_MANY 8'],
  get: [4, 'COMMIT_MANY 4'],
  hmget: [4, 'COMMIT_MANY 4'],
  hset: [4, 'COMMIT_MANY 4'],
  rpush: [4, 'COMMIT_MANY 4'],
  set: [4, 'COMMIT_MANY 4'],
  evalsha: [1, 'COMMIT_MANY 1'],
};
/** 63 commands. */
const SLA_TIMER: Budget = {
  xadd: [8, 'moveToActive sla 2, COMMIT 1, addDelayedJob sla 2, FINISH_OUTBOX 2, moveToFinished sla 1'],
  evalsha: [5, 'moveToActive sla 1, COMMIT 1, addDelayedJob sla 1, FINISH_OUTBOX 1, moveToFinished sla 1'],
  hincrby: [5, 'moveToActive sla 1, COMMIT 2, moveToFinished sla 2'],
  hmget: [5, 'moveToActive sla 1, hmget t:<id> 1, COMMIT 1, moveToFinished sla 2'],
  zadd: [5, 'moveToActive sla 2, COMMIT 1, addDelayedJob sla 2'],
  hget: [4, 'moveToActive sla 1, addDelayedJob sla 1, moveToFinished sla 2'],
  del: [3, 'moveToFinished sla 3'],
  exists: [2, 'addDelayedJob sla 1, moveToFinished sla 1'],
  hmset: [2, 'moveToActive sla 1, addDelayedJob sla 1'],
  hset: [2, 'moveToActive sla 1, COMMIT 1'],
  rpoplpush: [2, 'moveToActive sla 1, moveToFinished sla 1'],
  zrange: [2, 'addDelayedJob sla 1, moveToFinished sla 1'],
  zrangebyscore: [2, 'moveToActive sla 1, moveToFinished sla 1'],
  get: [1, 'moveToFinished sla 1'],
  hgetall: [1, 'moveToActive sla 1'],
  incr: [1, 'addDelayedJob sla 1'],
  lpush: [1, 'moveToActive sla 1'],
  lrem: [1, 'moveToFinished sla 1'],
  rpush: [1, 'COMMIT 1'],
  scard: [1, 'moveToFinished sla 1'],
  set: [1, 'moveToActive sla 1'],
  srem: [1, 'moveToFinished sla 1'],
  xack: [1, 'FINISH_OUTBOX 1'],
  xdel: [1, 'FINISH_OUTBOX 1'],
  xtrim: [1, 'moveToFinished sla 1'],
  zcard: [1, 'moveToFinished sla 1'],
  zpopmin: [1, 'moveToFinished sla 1'],
  zrem: [1, 'moveToActive sla 1'],
  zrevrangebyscore: [1, 'addDelayedJob sla 1'],
};

/** What a window may hold as waits: blocking reads and the empty fetch that follows a wake-up. */
const WAIT_COMMANDS = new Set(['bzpopmin', 'xreadgroup', 'evalsha', 'hmget', 'zrangebyscore', 'rpoplpush', 'zpopmin', 'del', 'zrange']);

let server: RedisServer;
let admin: Redis;
let counter: CommandCounter;
let prefix = '';
const open: (() => Promise<void>)[] = [];

const shape = (key: string | undefined) =>
  (key ?? '')
    .replace(`${prefix}:`, '')
    .replace(/T[0-9A-Z]{20}/g, '<id>')
    .replace(/^idem:([^:]+):.*/, 'idem:$1:<key>')
    .replace(/^login-fail:.*/, 'login-fail:<scope>')
    .replace(/^rx:([^:]+):[sg]:.*/, 'rx:$1:<term>')
    .replace(/(timer-<id>)-\d+/, '$1-<epoch>')
    .replace(/(seen:<id>)-.*/, 'seen:<job>');

/** A step's name in STEPS: a script with its queue, or a command with the shape of its key. */
function stepOf(inv: Invocation): string {
  if (inv.script) {
    if (inv.script === 'script b8a19d47') return 'rateLimit';
    const queue = /^[a-z]+[A-Z]/.test(inv.script) && !/^[A-Z_]+$/.test(inv.script) ? shape(inv.args[3]).split(':')[0] : '';
    return queue ? `${inv.script} ${queue}` : inv.script;
  }
  const cmd = (inv.args[0] ?? '').toLowerCase();
  return cmd === 'multi' ? `multi ${shape(inv.inner[0]?.[1])}` : `${cmd} ${shape(inv.args[1])}`;
}

/** The measured work written as a budget, to compare and to paste when a budget is raised on purpose. */
function asBudget(c: Counted): Budget {
  const budget: Record<string, readonly [number, string]> = {};
  for (const [cmd, row] of breakdown(c.invocations, stepOf)) budget[cmd] = [row.count, [...row.by].map(([step, n]) => `${step} ${n}`).join(', ')];
  return budget;
}

/** What the test itself sends, on its own unnamed connection: the checks of `settled` and the window's markers. */
const TEST_READS = new Set(['multi', 'exec', 'xlen', 'llen', 'zcard', 'zscore', 'exists', 'echo']);

function expectBudget(c: Counted, budget: Budget) {
  const measured = asBudget(c);
  if (PRINT) {
    const lines = Object.entries(measured).map(([cmd, [n, why]]) => `  ${cmd}: [${n}, '${why}'],`);
    console.log(`work ${totalOf(c.work)}; waits ${JSON.stringify(c.waits)}; background ${JSON.stringify(c.background)}\n{\n${lines.join('\n')}\n}`);
  }
  // A step without a reason in STEPS is named in the message (a renamed script or key still counts the same).
  const unexplained = [...new Set(c.invocations.map(stepOf))].filter((s) => !(s in STEPS));
  const counts = (b: Budget): Counts => Object.fromEntries(Object.entries(b).map(([cmd, [n]]) => [cmd, n]));
  // Anything but the test's reads from a connection without Lotse's names would be work left uncounted.
  expect(Object.keys(c.others).filter((cmd) => !TEST_READS.has(cmd)), 'commands from connections without a name of this Lotse: name them so they count').toEqual([]);
  // The exact map; on a difference the message is the measured breakdown by step, to compare with the budget.
  expect(c.work, `${JSON.stringify(measured, null, 1)}${unexplained.length ? `\nsteps without a reason in STEPS: ${unexplained.join('; ')}` : ''}`).toEqual(counts(budget));
  // Waits: only blocking reads and empty fetches. Their number follows the
  // clock (an idle BZPOPMIN returns after 5 s, the relay's XREADGROUP after
  // 1 s), so a loose ceiling that catches a busy loop, not a timing.
  expect(Object.keys(c.waits).filter((cmd) => !WAIT_COMMANDS.has(cmd))).toEqual([]);
  expect((c.waits.bzpopmin ?? 0) + (c.waits.xreadgroup ?? 0)).toBeLessThan(60);
}

/** The partitions' prefixes of the Lotse under test (LOTSE_PARTITIONS), the first of them `prefix`. */
let partitionPrefixes: string[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  admin = new Redis(server.url);
  counter = await startCommandCounter(server.url, {
    ours: (name) => prefix !== '' && (name.startsWith(`${prefix}-`) || name.startsWith(`${prefix}:`)),
    classify: (inv) => classifyDefault(`${prefix}:hb`)(inv),
    // The rate limit's first request in a window runs PEXPIRE where the others run PTTL: one command either way.
    rewrite: (inv) => (inv.script === 'script b8a19d47' ? { ...inv, inner: inv.inner.map((c) => (c[0]?.toLowerCase() === 'pexpire' ? ['pttl', c[1] ?? ''] : c)) } : inv),
  });
});
afterAll(async () => {
  await counter?.close();
  admin?.disconnect();
  await server?.stop();
});
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
  for (const p of partitionPrefixes) await dropPrefix(admin, p);
  prefix = '';
  partitionPrefixes = [];
});

/** Lotse on this file's Redis under a fresh prefix: the roles above, and the API on a loopback port. */
async function startLotse(topology: Topology = defaultTopology, env: Record<string, string> = {}, roles: WorkerRole[] = ROLES): Promise<{ runtime: Runtime; url: string }> {
  prefix = newPrefix('bud');
  const config = loadConfig({ LOTSE_PREFIX: prefix, LOG_LEVEL: 'silent', LOTSE_MAX_EVENT_LOOP_DELAY_MS: '0', ...env });
  const runtime = await createRuntime({ config, redisUrl: server.url, topology, logger: createLogger('silent'), env: {} });
  partitionPrefixes = [...runtime.layout.prefixes];
  await runtime.startWorkers(roles);
  const app = await runtime.buildApp();
  open.push(async () => {
    await app.close();
    await runtime.close();
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  // The charts' sampler writes its first point at start: done before any window opens.
  await waitFor(async () => (await admin.exists(runtime.keys.dashboardSeries)) === 1, { what: 'the first chart sample' });
  return { runtime, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

/**
 * Nothing left to do: the outbox and the backlog feed empty, and no job waiting or running on any
 * queue (delayed ones too, but for the sla timers). Read in one MULTI: the
 * relay adds a job and then empties the outbox, so reads spread over time
 * could miss the job between them.
 */
async function settled(): Promise<boolean> {
  const tx = admin.multi();
  // Each partition's outbox, recurring-problem feed (an entry is deleted once it is observed) and own queues; the deployment's other queues.
  for (const p of partitionPrefixes) {
    tx.xlen(`${p}:outbox`).xlen(`${p}:rfeed`);
    for (const q of ['intake', 'events', 'sla']) {
      tx.llen(`${p}:${q}:wait`).llen(`${p}:${q}:active`).zcard(`${p}:${q}:prioritized`);
      if (q !== 'sla') tx.zcard(`${p}:${q}:delayed`);
    }
  }
  for (const q of ['backlog', 'webhook', 'handoff-dataport']) tx.llen(`${prefix}:${q}:wait`).llen(`${prefix}:${q}:active`).zcard(`${prefix}:${q}:prioritized`).zcard(`${prefix}:${q}:delayed`);
  const replies = (await tx.exec()) ?? [];
  return replies.every(([err, n]) => !err && n === 0);
}
const untilSettled = (what: string, also: () => Promise<boolean> = async () => true): Promise<true> => waitFor(async () => (await settled()) && (await also()), { what, timeoutMs: 20_000 });

async function call(url: string, path: string, org: string, body: unknown, status: number): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer dev-${org}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as Record<string, unknown>;
  expect(res.status, JSON.stringify(json)).toBe(status);
  return json;
}
const createOverHttp = async (url: string) => String((await call(url, '/v1/tickets', 'desk-BY', ticketBody(), 201)).id);

it('one ticket from the intake queue to its commit, its timer armed and its backlog job done', async () => {
  await startLotse();
  const desk = new Redis(server.url, { connectionName: `${prefix}-desk` });
  const intake = new Queue('intake', { connection: desk, prefix });
  open.push(async () => {
    await intake.close();
    desk.disconnect();
  });
  const one = async () => {
    const jobId = `budget-${randomBytes(4).toString('hex')}`;
    await intake.add('create', { orgId: 'desk-BY', ...ticketBody() }, { jobId });
    await untilSettled('the intake job and its effects', async () => (await admin.zscore(`${prefix}:intake:completed`, jobId)) !== null);
  };
  await one();
  expectBudget(await counter.count(one), INTAKE);
});

it('one ticket created over HTTP, with everything its creation causes', async () => {
  const { url } = await startLotse();
  const one = async () => {
    await createOverHttp(url);
    await untilSettled('the creation and its effects');
  };
  await one();
  expectBudget(await counter.count(one), HTTP_CREATE);
});

it('one event over HTTP (ACCEPT), with its effects', async () => {
  const { url } = await startLotse();
  const [first, second] = [await createOverHttp(url), await createOverHttp(url)];
  await untilSettled('the creations');
  const accept = async (id: string) => {
    await call(url, `/v1/tickets/${id}/events`, 'desk-BY', { type: 'ACCEPT' }, 200);
    await untilSettled('the event and its effects');
  };
  await accept(first);
  expectBudget(await counter.count(() => accept(second)), HTTP_EVENT);
});

it('sees one command more on the path: the budget fails by exactly that command', async () => {
  const { url } = await startLotse();
  const [first, second] = [await createOverHttp(url), await createOverHttp(url)];
  await untilSettled('the creations');
  const extra = new Redis(server.url, { connectionName: `${prefix}-extra` });
  open.push(async () => void extra.disconnect());
  await extra.ping();
  await call(url, `/v1/tickets/${first}/events`, 'desk-BY', { type: 'ACCEPT' }, 200);
  await untilSettled('the warm-up event');
  const c = await counter.count(async () => {
    await call(url, `/v1/tickets/${second}/events`, 'desk-BY', { type: 'ACCEPT' }, 200);
    // What a change that reads the ticket once more would add.
    await extra.hmget(`${prefix}:t:${second}`, 'v');
    await untilSettled('the event and its effects');
  });
  const expected = Object.fromEntries(Object.entries(HTTP_EVENT).map(([cmd, [n]]) => [cmd, n]));
  expect(c.work).toEqual({ ...expected, hmget: expected.hmget! + 1 });
});

it('one handoff lifecycle over HTTP: create, accept, escalate, receipt and resolution by the kit, close', async () => {
  const { url } = await startLotse();
  let resolved = 0;
  const kit = createProviderWorker({
    orgId: 'dataport',
    // Named like Lotse's own connections: the kit's commands are the lifecycle's cost at Lotse's Redis.
    connection: { host: '127.0.0.1', port: server.port, connectionName: `${prefix}-kit` },
    prefix,
    logger: createLogger('silent'),
    api: { url, key: 'dev-dataport' },
    async onHandoff(_event, ctx) {
      await ctx.resolve('Zertifikat erneuert');
      resolved++;
    },
  });
  open.push(() => kit.close());
  const lifecycle = async () => {
    const before = resolved;
    const id = await createOverHttp(url);
    await call(url, `/v1/tickets/${id}/events`, 'desk-BY', { type: 'ACCEPT' }, 200);
    await call(url, `/v1/tickets/${id}/events`, 'desk-BY', { type: 'ESCALATE', reason: 'Fehler 500 beim Absenden' }, 200);
    await untilSettled('the receipt and the resolution', async () => resolved > before);
    await call(url, `/v1/tickets/${id}/events`, 'desk-BY', { type: 'CLOSE' }, 200);
    await untilSettled('the close and its effects');
  };
  await lifecycle();
  expectBudget(await counter.count(lifecycle), HANDOFF_LIFECYCLE);
});

it('creations asked for in one tick: one script call for the group, each commit as alone', async () => {
  const { runtime } = await startLotse(defaultTopology, {}, []);
  const desk = { orgId: 'desk-BY', role: 'desk' as const, land: 'BY' as const };
  // As the intake worker creates (no pending record: the job id is the key).
  const create = (n: number) => Promise.all(Array.from({ length: n }, () => runtime.engine.createParsedTicket(desk, CreateTicketSchema.parse(ticketBody()), { reserve: false })));
  await create(4);
  await create(1);
  expectBudget(await counter.count(async () => void (await create(1))), CREATION_COMMIT);
  expectBudget(await counter.count(async () => void (await create(4))), GROUP_OF_FOUR);
});

it('one SLA timer firing (the first-response warning), with its effects', async () => {
  // Deadlines of seconds; the resolution clock's far enough never to fire here.
  const { url } = await startLotse(fastSlaTopology({ firstResponse: 4, resolution: 3600, receipt: 3600 }));
  const gone = async (id: string, epoch: number) => (await admin.exists(`${prefix}:sla:timer-${id}-${epoch}`)) === 0;
  const armed = async (id: string, epoch: number) => (await admin.zscore(`${prefix}:sla:delayed`, `timer-${id}-${epoch}`)) !== null;
  // Warm-up: a ticket whose warning and breach both fire before the counted one is created, so nothing of it falls in the window.
  const warm = await createOverHttp(url);
  await untilSettled('the warm-up timers', async () => (await gone(warm, 1)) && (await gone(warm, 2)) && (await armed(warm, 3)));
  const id = await createOverHttp(url);
  await untilSettled('the creation', () => armed(id, 1));
  const c = await counter.count(async () => void (await untilSettled('the warning and the next timer', async () => (await gone(id, 1)) && (await armed(id, 2)))));
  expectBudget(c, SLA_TIMER);
});

it('partitions add no command: a ticket of partition 1 of 3, created over HTTP, costs what one in a single partition does', async () => {
  const { url, runtime } = await startLotse(defaultTopology, { LOTSE_PARTITIONS: '3' });
  expect(runtime.layout.count).toBe(3);
  // Hamburg is partition 1 of 3 (src/domain/partitions.ts): its keys, queues and relay are partition 1's.
  const one = async () => {
    const created = await call(url, '/v1/tickets', 'desk-HH', ticketBody({ land: 'HH' }), 201);
    expect(String(created.id)).toMatch(/-1$/);
    await untilSettled('the creation and its effects');
  };
  await one();
  expectBudget(await counter.count(one), HTTP_CREATE);
});
