import { Queue, QueueEvents } from 'bullmq';
import { afterEach, expect, it } from 'vitest';
import { bearer, createHarness, redisUrl, ticketBody, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());

const mixed = () =>
  ticketBody({
    land: undefined,
    ars: '991234', // no Land has the prefix 99
    service: 'steuer-online', // not in the topology
    reporter: { email: 'not-an-address' }, // malformed
    channel: 'fax', // malformed
    receivedAt: new Date(Date.now() + 3_600_000).toISOString(), // in the future
  });

it('names shape and topology errors together in one answer over HTTP', async () => {
  h = await createHarness();
  const app = await h.app();
  const res = await app.inject({ method: 'POST', url: '/v1/tickets', headers: bearer('desk-BY'), payload: mixed() });
  expect(res.statusCode).toBe(422);
  const paths = (res.json().errors as { path: string }[]).map((e) => e.path).sort();
  expect(paths).toEqual(['ars', 'channel', 'receivedAt', 'reporter.email', 'service']);
  // A bad header is still named even when the body is wrong too.
  const both = await app.inject({ method: 'POST', url: '/v1/tickets', headers: { ...bearer('desk-BY'), 'idempotency-key': 'with space' }, payload: mixed() });
  expect(both.statusCode).toBe(400);
  expect(both.json().errors).toEqual([expect.objectContaining({ path: 'headers.idempotency-key' })]);
});

it('names them together in the reason of a failed intake job', async () => {
  h = await createHarness({ roles: ['intake'] });
  const connection = { url: redisUrl() };
  const intake = new Queue('intake', { connection, prefix: h.prefix });
  const events = new QueueEvents('intake', { connection, prefix: h.prefix });
  try {
    await events.waitUntilReady();
    const job = await intake.add('ticket', { ...mixed(), orgId: 'desk-BY' }, { attempts: 3 });
    const reason = await job.waitUntilFinished(events, 10_000).then(
      () => '',
      (err: Error) => err.message,
    );
    for (const path of ['ars', 'channel', 'receivedAt', 'reporter.email', 'service']) expect(reason).toContain(`${path}:`);
    expect((await intake.getJob(job.id!))?.attemptsMade).toBe(1);
  } finally {
    await Promise.all([intake.close(), events.close()]);
  }
});
