import { afterEach, expect, it } from 'vitest';
import { bearer, createHarness, openConnections, ticketBody, waitFor, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());

it('creates a ticket over HTTP and publishes it on the event stream', async () => {
  h = await createHarness({ roles: ['relay', 'intake', 'events', 'sla'] });
  const app = await h.app();
  const res = await app.inject({ method: 'POST', url: '/v1/tickets', headers: bearer('desk-BY'), payload: ticketBody() });
  expect(res.statusCode).toBe(201);
  console.log(await openConnections(h.redis, h.prefix));
  await waitFor(async () => (await h.redis.xlen(`${h.prefix}:events`)) === 1);
});
