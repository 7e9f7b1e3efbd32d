import { describe, expect, it } from 'vitest';
import { bearer, harnessPerTest, waitFor } from '../helpers/harness.js';
import { expectProblem } from '../helpers/http.js';

const open = harnessPerTest();

/** Keeps the event loop busy, as a flood of work would. */
function blockFor(ms: number) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy on purpose
  }
}

describe('load shedding', () => {
  it('answers 503 with Retry-After while the event loop lags past its bound, and serves again once it does not', async () => {
    const h = await open({ env: { LOTSE_MAX_EVENT_LOOP_DELAY_MS: '50' } });
    const app = await h.app();
    const list = () => app.inject({ method: 'GET', url: '/v1/tickets', headers: bearer('ops-bremen') });
    expect((await list()).statusCode).toBe(200);
    const shed = await waitFor(async () => {
      blockFor(400);
      const res = await list();
      return res.statusCode === 503 ? res : false;
    }, { timeoutMs: 20_000, what: 'a shed request' });
    const problem = expectProblem(shed, 503, /overloaded/);
    expect(problem.detail).toMatch(/event loop delay/);
    expect(shed.headers['retry-after']).toBe('5');
    await waitFor(async () => (await list()).statusCode === 200, { timeoutMs: 20_000, what: 'requests served again' });
  });
});
