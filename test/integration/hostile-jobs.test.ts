import { Queue, type Job } from 'bullmq';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE } from '../../src/queue/names.js';
import { makeEventsProcessor, type EventsJobResult } from '../../workers/events.worker.js';
import { makeWorker } from '../../workers/worker-kit.js';
import { createHarness, dev, redisUrl, ticketBody, waitFor, type Harness } from '../helpers/harness.js';

/**
 * Generated intake and events jobs, added the way a desk's own producer adds
 * them (attempts to spare, no options of Lotse's): every bad one fails at once
 * (one attempt), its reason names the field, and no stack trace is kept.
 */
let h: Harness;
let connection: Redis;
let ticketId: string;

beforeAll(async () => {
  h = await createHarness({ roles: ['intake', 'events'] });
  connection = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  ticketId = (await h.runtime.engine.createTicket(dev('desk-BY'), ticketBody())).record.id;
});
afterAll(async () => {
  connection.disconnect();
  await h.close();
});

const nest = (depth: number): unknown => (depth === 0 ? 'x' : depth % 2 ? [nest(depth - 1)] : { a: nest(depth - 1) });
const hostile = fc.oneof(
  fc.anything({ maxDepth: 3 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', '\u0000', 'a\u001bb', 'x\u0085y', 'Zeile\r\n', 'halb\ud800', 'T-1', 'desk-XX', '12345'),
  fc.integer({ min: 190, max: 30_000 }).map((n) => 'ä'.repeat(n)),
  fc.integer({ min: 3, max: 40 }).map(nest),
  fc.constantFrom(-1, 0, 1.5, 1e308, true, null, [], {}),
);
const unknownKey = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', 'id', 'version'), fc.string({ minLength: 1, maxLength: 12 }));
type Mutation = { kind: 'set' | 'drop' | 'add'; field: string; value?: unknown };
const mutation = (fields: string[]) =>
  fc.oneof(
    fc.record({ kind: fc.constant('set' as const), field: fc.constantFrom(...fields), value: hostile }),
    fc.record({ kind: fc.constant('drop' as const), field: fc.constantFrom(...fields) }),
    fc.record({ kind: fc.constant('add' as const), field: unknownKey, value: hostile }),
  );

/** Through JSON text, so `__proto__` becomes an own key of the job data as a producer in any language would send it. */
function apply(base: Record<string, unknown>, m: Mutation): Record<string, unknown> {
  const entries = Object.entries(base).filter(([k]) => k !== m.field);
  if (m.kind !== 'drop') entries.push([m.field, m.value]);
  return JSON.parse(`{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`).join(',')}}`) as Record<string, unknown>;
}

async function runAll(name: string, datas: Record<string, unknown>[]): Promise<Job[]> {
  const queue = new Queue(name, { connection, prefix: h.prefix });
  try {
    const jobs = await queue.addBulk(datas.map((data, i) => ({ name: 'hostile', data, opts: { jobId: `hostile-${name}-${i}`, attempts: 5, backoff: 60_000 } })));
    await waitFor(async () => {
      const c = await queue.getJobCounts('completed', 'failed', 'delayed');
      // A retried job would wait out its backoff as delayed: none may.
      expect(c.delayed).toBe(0);
      return (c.completed ?? 0) + (c.failed ?? 0) === jobs.length;
    }, { timeoutMs: 120_000, what: `${name} jobs to finish` });
    return Promise.all(jobs.map(async (j) => (await queue.getJob(j.id!))!));
  } finally {
    await queue.close();
  }
}

function expectFailedAtOnce(job: Job, names: RegExp) {
  expect(job.finishedOn, job.id).toBeDefined();
  if (!job.failedReason) return; // a valid job: done
  expect(job.attemptsMade, job.failedReason).toBe(1);
  expect(job.failedReason).toMatch(names);
  expect(job.stacktrace ?? []).toEqual([]);
  expect(job.failedReason).not.toMatch(/\bat .+\.(ts|js):\d+|node_modules/);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('generated hostile jobs', () => {
  it('intake jobs: every bad one failed at once, naming the field', { timeout: 180_000 }, async () => {
    const fields = ['externalRef', 'channel', 'land', 'service', 'category', 'impact', 'urgency', 'subject', 'description', 'reporter', 'attachments', 'receivedAt', 'orgId'];
    const mutations = fc.sample(mutation(fields), { numRuns: 300, seed: 11 });
    const jobs = await runAll(QUEUE.intake, mutations.map((m) => apply({ ...ticketBody(), orgId: 'desk-BY' }, m)));
    let failed = 0;
    jobs.forEach((job, i) => {
      const m = mutations[i]!;
      const alternatives = m.field === 'land' ? '|ars' : '';
      expectFailedAtOnce(job, new RegExp(`(^|; )(${escape(m.field)}${alternatives})(\\.[^:]*)?: `));
      if (job.failedReason) failed++;
    });
    expect(failed).toBeGreaterThan(200);
  });

  it('events jobs: every bad one failed at once, naming the field', { timeout: 180_000 }, async () => {
    const top = fc.sample(mutation(['ticketId', 'orgId', 'event', 'ifMatch']), { numRuns: 150, seed: 12 });
    const inner = fc.sample(mutation(['type', 'impact', 'urgency', 'reason']), { numRuns: 150, seed: 13 });
    const base = () => ({ ticketId, orgId: 'desk-BY', event: { type: 'CHANGE_PRIORITY', impact: 'high', urgency: 'low', reason: 'x' }, ifMatch: 999_999 });
    const datas = [...top.map((m) => apply(base(), m)), ...inner.map((m) => ({ ...base(), event: apply(base().event, m) }))];
    const jobs = await runAll(QUEUE.events, datas);
    jobs.forEach((job, i) => {
      const m = i < top.length ? top[i]! : inner[i - top.length]!;
      // A ticket id of the right shape that names no ticket is refused as not found; a valid job meets a stale If-Match.
      const extra = m.field === 'ticketId' ? '|TICKET_NOT_FOUND' : m.field === 'ifMatch' && m.kind === 'drop' ? '|INVALID_TRANSITION' : '';
      expectFailedAtOnce(job, new RegExp(`(^|; |event\\.)${escape(m.field)}(\\.[^:]*)?: |PRECONDITION_FAILED${extra}`));
    });
    expect((await h.runtime.engine.getTicket(dev('desk-BY'), ticketId)).version).toBeLessThanOrEqual(1 + jobs.length);
  });

  /**
   * On a starved machine a worker's timers do not run, so a job's lock can
   * expire while it runs: BullMQ then cannot record the failure ("Missing
   * lock") and hands the job out again. An events job drops its texts when
   * it is refused; its second run once failed with a check of those dropped
   * texts (`impact`, `urgency`, `reason` missing) instead of its refusal.
   */
  it('an events job refused for good whose lock was lost before the failure was recorded fails again with the same reason', { timeout: 60_000 }, async () => {
    const name = 'events-lost-lock';
    const processor = makeEventsProcessor({ engine: h.runtime.engine, principals: h.runtime.principals });
    const runs: unknown[] = [];
    const worker = makeWorker<unknown, EventsJobResult>(name, async (job, log) => {
      runs.push(job.data);
      try {
        return await processor(job, log);
      } catch (err) {
        // What an expired lock leaves: the failure of this run cannot be recorded.
        if (runs.length === 1) await connection.del(`${h.prefix}:${name}:${job.id}:lock`);
        throw err;
      }
    }, { connection: { url: redisUrl() }, prefix: h.prefix, logger: pino({ level: 'silent' }) });
    const queue = new Queue(name, { connection, prefix: h.prefix });
    try {
      const event = { type: 'CHANGE_PRIORITY', impact: 'high', urgency: 'low', reason: 'Text der Meldestelle' };
      await queue.add('lost-lock', { ticketId, orgId: 'desk-BY', event, ifMatch: 999_999 }, { jobId: 'lost-lock', attempts: 5, backoff: 60_000 });
      const job = await waitFor(async () => ((await queue.getJob('lost-lock'))?.finishedOn ? queue.getJob('lost-lock') : null), { timeoutMs: 45_000, what: 'the job to fail' });
      expect(runs, 'the job ran again').toHaveLength(2);
      expect(job!.attemptsMade).toBe(1);
      expect(job!.failedReason).toMatch(/^PRECONDITION_FAILED: /);
      expect(JSON.stringify(job!.data)).not.toContain('Text der Meldestelle');
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('a desk producer that keeps everything and stack traces gets neither: no trace on the failed job', { timeout: 60_000 }, async () => {
    const queue = new Queue(QUEUE.intake, { connection, prefix: h.prefix });
    try {
      const job = await queue.add('raw', { orgId: 'desk-BY', subject: 5 }, { jobId: 'raw-desk-job', attempts: 3, removeOnFail: false, stackTraceLimit: 10 });
      await waitFor(async () => (await job.getState()) === 'failed', { what: 'the raw job to fail' });
      const failed = (await queue.getJob('raw-desk-job'))!;
      expect(failed.attemptsMade).toBe(1);
      expect(failed.failedReason).toMatch(/subject: /);
      expect(failed.stacktrace).toEqual([]);
    } finally {
      await queue.close();
    }
  });
});
