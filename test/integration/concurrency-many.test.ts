import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { parseTopology } from '../../src/config/topology-file.js';
import type { TopologyInput } from '../../src/domain/topology.js';
import type { App } from '../../src/http/app.js';
import { bearer, createHarness, ticketBody, type Harness } from '../helpers/harness.js';
import type { Problem } from '../helpers/http.js';

/** Limits high enough for the burst: this test is about versions, not about rate limits. */
const topology = parseTopology(
  { ...(structuredClone(DEFAULT_TOPOLOGY) as TopologyInput), limits: { rate: { desk: { max: 1_000_000, windowSeconds: 60 }, operator: { max: 1_000_000, windowSeconds: 60 } } } },
  'unlimited topology',
);

const TICKETS = 100;
const AT_ONCE = 64;
const WAVE = 10; // tickets raced at the same time: 640 requests in flight
const desk = bearer('desk-BY');

/** Mixed events a desk may send to a new ticket, and some it may not (CLOSE, REOPEN, INFO_RECEIVED). */
const EVENTS = [
  { type: 'ACCEPT' },
  { type: 'CHANGE_PRIORITY', impact: 'high', urgency: 'high', reason: 'Ausfall' },
  { type: 'CHANGE_PRIORITY', impact: 'low', urgency: 'low', reason: 'doch nicht' },
  { type: 'RESOLVE', resolution: 'erledigt' },
  { type: 'ESCALATE', reason: 'braucht Dataport' },
  { type: 'REQUEST_INFO', question: 'Welche Fehlermeldung?' },
  { type: 'CLOSE' },
  { type: 'REOPEN', reason: 'noch offen' },
  { type: 'INFO_RECEIVED', info: 'x' },
];

let h: Harness;
let app: App;
beforeAll(async () => {
  // No load shedding either: 640 requests in flight in one process lag its event loop on purpose.
  h = await createHarness({ topology, env: { LOTSE_MAX_EVENT_LOOP_DELAY_MS: '0' } });
  app = await h.app();
});
afterAll(async () => h.close());

type Answer = { status: number; body: Problem & { version?: number } };

async function race(id: string, ifMatch: number | undefined, events: object[]): Promise<Answer[]> {
  const answers = await Promise.all(
    events.map((event) =>
      app.inject({
        method: 'POST',
        url: `/v1/tickets/${id}/events`,
        headers: { ...desk, ...(ifMatch === undefined ? {} : { 'if-match': `"${ifMatch}"` }) },
        payload: event,
      }),
    ),
  );
  return answers.map((r) => ({ status: r.statusCode, body: r.json() }));
}

/** Every loser is told why: 412 naming the current version, or 409 naming what is allowed now (or that it kept changing). */
function expectToldWhy(a: Answer, pinned: number | undefined) {
  if (a.status === 412) {
    expect(a.body.type).toMatch(/precondition-failed$/);
    expect(a.body.version).toBeGreaterThan(pinned!);
  } else if (a.status === 409 && /invalid-transition$/.test(a.body.type)) {
    expect(a.body.allowedEvents).toEqual(expect.any(Array));
  } else {
    expect([409, 'version-conflict'], JSON.stringify(a)).toEqual([a.status, a.body.type.split('/').pop()]);
  }
}

async function checkHistory(id: string): Promise<number> {
  const ticket = (await app.inject({ method: 'GET', url: `/v1/tickets/${id}`, headers: desk })).json() as { version: number; state: string };
  const history = (await app.inject({ method: 'GET', url: `/v1/tickets/${id}/history`, headers: desk })).json().items as { version: number; from: string | null; to: string }[];
  // One entry per version, 1..n with no gaps, each starting where the previous one ended.
  expect(history.map((e) => e.version)).toEqual(Array.from({ length: ticket.version }, (_, i) => i + 1));
  history.forEach((e, i) => expect(e.from).toBe(i === 0 ? null : history[i - 1]!.to));
  expect(history.at(-1)!.to).toBe(ticket.state);
  return ticket.version;
}

describe(`${AT_ONCE} conflicting events at once on each of ${TICKETS} tickets`, () => {
  it('pinned to one version: exactly one winner per ticket, every loser told why, history consistent', { timeout: 180_000 }, async () => {
    const ids: string[] = [];
    for (let i = 0; i < TICKETS; i++) {
      const res = await app.inject({ method: 'POST', url: '/v1/tickets', headers: desk, payload: ticketBody() });
      expect(res.statusCode, res.body).toBe(201);
      ids.push(res.json().id as string);
    }
    const statuses = new Map<number, number>();
    for (let w = 0; w < TICKETS; w += WAVE) {
      await Promise.all(
        ids.slice(w, w + WAVE).map(async (id, t) => {
          const events = Array.from({ length: AT_ONCE }, (_, i) => EVENTS[(i + t) % EVENTS.length]!);
          const answers = await race(id, 1, events);
          answers.forEach((a) => statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1));
          const winners = answers.filter((a) => a.status === 200);
          expect(winners).toHaveLength(1);
          expect(winners[0]!.body.version).toBe(2);
          for (const a of answers) if (a.status !== 200) expectToldWhy(a, 1);
          expect(await checkHistory(id)).toBe(2);
        }),
      );
    }
    expect([...statuses.keys()].sort()).toEqual([200, 409, 412]);
    expect(statuses.get(200)).toBe(TICKETS);
  });

  it('unpinned: every win a new version, contiguous, and the count of wins is the count of new versions', { timeout: 180_000 }, async () => {
    const ids: string[] = [];
    for (let i = 0; i < TICKETS; i++) ids.push((await app.inject({ method: 'POST', url: '/v1/tickets', headers: desk, payload: ticketBody() })).json().id as string);
    for (let w = 0; w < TICKETS; w += WAVE) {
      await Promise.all(
        ids.slice(w, w + WAVE).map(async (id) => {
          // Changes of priority never exclude each other: each may win, one after another.
          const events = Array.from({ length: AT_ONCE }, (_, i) => ({ type: 'CHANGE_PRIORITY', impact: i % 2 ? 'high' : 'low', urgency: 'medium', reason: `r${i}` }));
          const answers = await race(id, undefined, events);
          const wins = answers.filter((a) => a.status === 200);
          for (const a of answers) if (a.status !== 200) expectToldWhy(a, undefined);
          // Each winner saw its own version: no two wins share one.
          expect(new Set(wins.map((a) => a.body.version)).size).toBe(wins.length);
          expect(await checkHistory(id)).toBe(1 + wins.length);
        }),
      );
    }
  });
});
