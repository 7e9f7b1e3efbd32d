import { afterEach, beforeEach, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import type { AppError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { createHarness, defaultTopology, dev, redisUrl, ticketBody, type Harness } from '../helpers/harness.js';

let h: Harness;
let other: Runtime;

beforeEach(async () => {
  h = await createHarness();
  // A second process's worth of Lotse on the same keys, over its own connection.
  other = await createRuntime({
    config: loadConfig({ LOTSE_PREFIX: h.prefix, LOTSE_MAX_EVENT_LOOP_DELAY_MS: '0' }),
    redisUrl: redisUrl(),
    topology: defaultTopology,
    logger: createLogger('silent'),
    env: {},
  });
});

afterEach(async () => {
  await other.close();
  await h.close();
});

const codeOf = (r: PromiseSettledResult<unknown>) => (r.status === 'rejected' ? (r.reason as AppError).code : 'OK');

it('lets exactly one of two concurrent events on one ticket win', async () => {
  const desk = dev('desk-BY');
  for (let round = 0; round < 25; round++) {
    const { record } = await h.runtime.engine.createTicket(desk, ticketBody());
    const results = await Promise.allSettled([
      h.runtime.engine.applyEvent(desk, record.id, { type: 'ACCEPT' }),
      other.engine.applyEvent(desk, record.id, { type: 'ACCEPT' }),
    ]);
    expect(results.map(codeOf).sort()).toEqual(['INVALID_TRANSITION', 'OK']);
    const history = await h.runtime.engine.history(desk, record.id);
    expect(history.map((e) => e.type)).toEqual(['CREATED', 'ACCEPT']);
    expect((await h.runtime.engine.getTicket(desk, record.id)).version).toBe(2);
  }
});

it('lets one of two different concurrent events win and re-checks the loser against the new state', async () => {
  const desk = dev('desk-BY');
  for (let round = 0; round < 15; round++) {
    const { record } = await h.runtime.engine.createTicket(desk, ticketBody());
    await h.runtime.engine.applyEvent(desk, record.id, { type: 'ACCEPT' });
    const results = await Promise.allSettled([
      h.runtime.engine.applyEvent(desk, record.id, { type: 'RESOLVE', resolution: 'done' }),
      other.engine.applyEvent(desk, record.id, { type: 'ESCALATE', reason: 'needs dataport' }),
    ]);
    const after = await h.runtime.engine.getTicket(desk, record.id);
    const history = (await h.runtime.engine.history(desk, record.id)).map((e) => e.type);
    if (results[0]!.status === 'fulfilled' && results[1]!.status === 'rejected') {
      expect(history).toEqual(['CREATED', 'ACCEPT', 'RESOLVE']);
      expect(after.state.value).toBe('resolved');
    } else if (results[1]!.status === 'fulfilled' && results[0]!.status === 'rejected') {
      // The escalation won: uvo's level 2 is dataport, so the ticket waits for
      // the handoff's receipt, and nobody may resolve it in that state.
      expect(codeOf(results[0]!)).toBe('INVALID_TRANSITION');
      expect(after.state.value).toEqual({ level2: 'handoffPending' });
      expect(history).toEqual(['CREATED', 'ACCEPT', 'ESCALATE']);
    } else {
      // Both may succeed in sequence only when neither excludes the other; these two do.
      throw new Error(`expected exactly one winner, got ${results.map(codeOf).join(', ')}`);
    }
  }
});

it('answers 412 to the loser when both pinned the same version', async () => {
  const desk = dev('desk-BY');
  const { record } = await h.runtime.engine.createTicket(desk, ticketBody());
  const results = await Promise.allSettled([
    h.runtime.engine.applyEvent(desk, record.id, { type: 'CHANGE_PRIORITY', impact: 'high', urgency: 'high', reason: 'a' }, { ifMatch: 1 }),
    other.engine.applyEvent(desk, record.id, { type: 'CHANGE_PRIORITY', impact: 'low', urgency: 'low', reason: 'b' }, { ifMatch: 1 }),
  ]);
  expect(results.map(codeOf).sort()).toEqual(['OK', 'PRECONDITION_FAILED']);
  expect((await h.runtime.engine.getTicket(desk, record.id)).version).toBe(2);
});
