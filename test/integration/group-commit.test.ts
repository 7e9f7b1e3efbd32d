import { Queue, QueueEvents } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { CreateTicketSchema, type CreateTicket } from '../../src/domain/ticket.js';
import { idempotencyDigest } from '../../src/engine/idempotency-keys.js';
import { dev, harnessPerTest, redisUrl, ticketBody, waitFor, type Harness } from '../helpers/harness.js';

/**
 * Group commit (src/store/group-commit.ts): the commits asked for in one
 * turn of the event loop go to Redis as one COMMIT_MANY. Each is still
 * exactly once and answers for itself: a key used with another body is
 * refused, a retried creation finds its ticket, a commit that fails in Redis
 * fails alone. (How many script calls a group costs: command-budget.test.ts.)
 */
const open = harnessPerTest();
const desk = dev('desk-BY');
const body = (overrides: Record<string, unknown> = {}) => CreateTicketSchema.parse(ticketBody({ land: 'BY', service: 'uvo', ...overrides }));
const ticketsIn = (h: Harness) => h.redis.zcard(h.runtime.keys.index('all'));

describe('creations committed in one group', () => {
  it('each is created once; a key used with another body is refused, a key used with the same body finds its ticket, a commit Redis refuses fails alone', async () => {
    const h = await open({ roles: [] });
    const { engine } = h.runtime;
    // Before the group: two keys already used, as by a first run of a job that crashed before it completed.
    const reused = body();
    const first = await engine.createParsedTicket(desk, reused, { idempotencyKey: 'job-reused', reserve: false });
    await engine.createParsedTicket(desk, body(), { idempotencyKey: 'job-other-body', reserve: false });
    // A key whose record Redis cannot read (a hash where a string belongs): that commit's GET fails inside the group.
    await h.redis.hset(h.runtime.keys.idempotency(desk.orgId, idempotencyDigest('job-broken')), 'x', '1');
    expect(await ticketsIn(h)).toBe(2);

    const twice = body();
    const calls: [CreateTicket, string][] = [
      [body(), 'job-a'], [body(), 'job-b'], [reused, 'job-reused'], [body(), 'job-other-body'],
      [twice, 'job-twice'], [twice, 'job-twice'], [body(), 'job-broken'], [body(), 'job-c'],
    ];
    // Started in one tick: every commit is asked for before the turn ends, so they go as one group.
    const settled = await Promise.allSettled(calls.map(([b, key]) => engine.createParsedTicket(desk, b, { idempotencyKey: key, reserve: false })));
    const outcome = settled.map((s) => (s.status === 'fulfilled' ? { id: s.value.record.id, replayed: s.value.replayed } : { error: String((s.reason as Error).message) }));

    expect(outcome[0]).toMatchObject({ replayed: false });
    expect(outcome[1]).toMatchObject({ replayed: false });
    expect(outcome[2]).toEqual({ id: first.record.id, replayed: true });
    expect(outcome[3]).toEqual({ error: 'This idempotency key was used with a different body' });
    // One key twice in one group: the first creates, the second finds what the first wrote.
    expect(outcome[4]).toMatchObject({ replayed: false });
    expect(outcome[5]).toEqual({ id: (outcome[4] as { id: string }).id, replayed: true });
    expect((outcome[6] as { error: string }).error).toMatch(/WRONGTYPE/);
    expect(outcome[7]).toMatchObject({ replayed: false });
    // New: a, b, twice, c. Nothing of the broken one was written.
    expect(await ticketsIn(h)).toBe(2 + 4);
    for (const o of [outcome[0], outcome[1], outcome[4], outcome[7]] as { id: string }[]) expect((await engine.findTicket(o.id))?.version).toBe(1);
  });
});

describe('the intake worker holding several jobs at once', () => {
  it('creates one ticket per job, fails only the bad jobs with their reasons, and a job run again after a crash creates no second ticket', async () => {
    const h = await open({ roles: [], env: { LOTSE_WORKER_CONCURRENCY: '8' } });
    const connection = { url: redisUrl() };
    const intake = new Queue('intake', { connection, prefix: h.prefix });
    const events = new QueueEvents('intake', { connection, prefix: h.prefix });
    try {
      await events.waitUntilReady();
      // The jobs wait together, so the worker takes several at once when it starts.
      await intake.pause();
      const crashed = { orgId: 'desk-BY', ...ticketBody({ land: 'BY', service: 'uvo' }) };
      // A first run of `job-crashed` committed its ticket, then its worker died before completing the job.
      const { orgId: _org, ...crashedBody } = crashed;
      const before = await h.runtime.engine.createParsedTicket(desk, CreateTicketSchema.parse(crashedBody), { idempotencyKey: 'job-crashed', reserve: false, intakeJobId: 'job-crashed' });
      await h.runtime.engine.createParsedTicket(desk, body(), { idempotencyKey: 'job-reused', reserve: false });
      const good = Array.from({ length: 10 }, (_, i) => ({ name: 'create', data: { orgId: 'desk-BY', ...ticketBody({ land: 'BY', service: 'uvo' }) }, opts: { jobId: `job-good-${i}` } }));
      await intake.addBulk([
        ...good.slice(0, 5),
        { name: 'create', data: { orgId: 'desk-BY', ...ticketBody({ land: 'BY', service: 'uvo', impact: 'enormous' }) }, opts: { jobId: 'job-invalid' } },
        { name: 'create', data: crashed, opts: { jobId: 'job-crashed' } },
        { name: 'create', data: { orgId: 'desk-BY', ...ticketBody({ land: 'BY', service: 'uvo' }) }, opts: { jobId: 'job-reused' } },
        ...good.slice(5),
      ]);
      await h.runtime.startWorkers(['intake']);
      await intake.resume();
      await waitFor(async () => {
        const c = await intake.getJobCounts('completed', 'failed');
        return (c.completed ?? 0) + (c.failed ?? 0) === 13;
      }, { what: 'all 13 intake jobs to finish' });

      const failed = await intake.getFailed();
      expect(Object.fromEntries(failed.map((j) => [j.id, j.failedReason]))).toEqual({
        'job-invalid': expect.stringMatching(/^VALIDATION_FAILED: .*impact/),
        'job-reused': 'IDEMPOTENCY_KEY_REUSED: This idempotency key was used with a different body',
      });
      const completed = await intake.getCompleted();
      expect(completed).toHaveLength(11);
      expect(completed.find((j) => j.id === 'job-crashed')?.returnvalue).toEqual({ ticketId: before.record.id });
      const ids = new Set(completed.map((j) => (j.returnvalue as { ticketId: string }).ticketId));
      expect(ids.size).toBe(11);
      // The two made before, and one per good job: none twice.
      expect(await ticketsIn(h)).toBe(2 + 10);
    } finally {
      await events.close();
      await intake.close();
    }
  });
});
