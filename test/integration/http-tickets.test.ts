import { describe, expect, it } from 'vitest';
import { USER_EVENT_TYPES } from '../../src/domain/ticket.js';
import type { App } from '../../src/http/app.js';
import { bearer, harnessPerTest, ticketBody } from '../helpers/harness.js';
import { expectProblem } from '../helpers/http.js';

const harness = harnessPerTest();
const setup = async (): Promise<App> => (await harness()).app();

async function create(app: App, overrides: Record<string, unknown> = {}, orgId = 'desk-BY'): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/v1/tickets', headers: bearer(orgId), payload: ticketBody(overrides) });
  expect(res.statusCode, res.body).toBe(201);
  expect(res.json().version).toBe(1);
  expect(res.headers.etag).toBe('"1"');
  return res.json().id;
}

const send = (app: App, orgId: string, id: string, payload: Record<string, unknown>, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: `/v1/tickets/${id}/events`, headers: { ...bearer(orgId), ...headers }, payload });

const read = async (app: App, id: string, orgId = 'desk-BY') => {
  const res = await app.inject({ method: 'GET', url: `/v1/tickets/${id}`, headers: bearer(orgId) });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers.etag).toBe(`"${res.json().version}"`);
  return res.json();
};

/** A well-formed event of each type, to try every one. */
const SAMPLE: Record<string, Record<string, unknown>> = {
  ACCEPT: { type: 'ACCEPT' },
  NOTE: { type: 'NOTE', text: 'Rückruf für morgen 10 Uhr vereinbart' },
  REQUEST_INFO: { type: 'REQUEST_INFO', question: 'Welche Browserversion?' },
  INFO_RECEIVED: { type: 'INFO_RECEIVED', info: 'Firefox 140' },
  ESCALATE: { type: 'ESCALATE', reason: 'Fehler im Verfahren' },
  RETURN: { type: 'RETURN', answer: 'Behoben' },
  REJECT_HANDOFF: { type: 'REJECT_HANDOFF', reason: 'nicht zuständig' },
  RESOLVE: { type: 'RESOLVE', resolution: 'erledigt' },
  REOPEN: { type: 'REOPEN', reason: 'tritt wieder auf' },
  CLOSE: { type: 'CLOSE' },
  SUGGEST_IMPROVEMENT: { type: 'SUGGEST_IMPROVEMENT', title: 'Bessere Fehlermeldung' },
  ASSIGN: { type: 'ASSIGN', assignee: 'desk-HB', reason: 'Umzug' },
  CHANGE_PRIORITY: { type: 'CHANGE_PRIORITY', impact: 'high', urgency: 'high', reason: 'viele Betroffene' },
};

describe('a ticket through its life', () => {
  it('every event answers 200 with the new view and etag; versions go 1, 2, 3…; history has who, what, when, from, to', async () => {
    const app = await setup();
    const id = await create(app, { service: 'uvo', land: 'BY' });
    const steps: [string, Record<string, unknown>, Record<string, unknown>][] = [
      ['desk-BY', SAMPLE.ACCEPT!, { state: 'level1.open', status: 'open', level: 1, assignee: 'desk-BY' }],
      ['desk-BY', SAMPLE.REQUEST_INFO!, { state: 'level1.waiting', status: 'waiting', sla: expect.objectContaining({ paused: true }) }],
      ['desk-BY', SAMPLE.INFO_RECEIVED!, { state: 'level1.open', status: 'open', sla: expect.objectContaining({ paused: false }) }],
      ['desk-BY', SAMPLE.ESCALATE!, { state: 'level2.handoffPending', status: 'handoff-pending', level: 2, assignee: 'dataport' }],
      ['dataport', SAMPLE.ACCEPT!, { state: 'level2.open', status: 'open', level: 2, assignee: 'dataport' }],
      ['dataport', SAMPLE.RETURN!, { state: 'level1.open', status: 'open', level: 1, assignee: 'desk-BY' }],
      ['desk-BY', SAMPLE.RESOLVE!, { state: 'resolved', status: 'resolved', level: null, assignee: null, resolvedAt: expect.any(String) }],
      ['desk-BY', SAMPLE.REOPEN!, { state: 'level1.open', status: 'open', level: 1, resolvedAt: null }],
      ['desk-BY', SAMPLE.RESOLVE!, { state: 'resolved', status: 'resolved' }],
      ['desk-BY', SAMPLE.CLOSE!, { state: 'closed', status: 'closed', closedAt: expect.any(String) }],
    ];
    let previous = 'level1.new';
    const expected: Record<string, unknown>[] = [{ version: 1, type: 'CREATED', from: null, to: 'level1.new', actor: { orgId: 'desk-BY', role: 'desk' } }];
    for (const [i, [orgId, event, view]] of steps.entries()) {
      const res = await send(app, orgId, id, event);
      expect(res.statusCode, `${event.type}: ${res.body}`).toBe(200);
      const version = i + 2;
      expect(res.json()).toMatchObject({ id, version, ...view });
      expect(res.headers.etag).toBe(`"${version}"`);
      expect(await read(app, id)).toEqual(res.json());
      const to = res.json().state as string;
      expected.push({ version, type: event.type, from: previous, to, actor: { orgId, role: orgId === 'dataport' ? 'provider' : 'desk' } });
      previous = to;
    }

    const history = await app.inject({ method: 'GET', url: `/v1/tickets/${id}/history`, headers: bearer('desk-BY') });
    expect(history.statusCode).toBe(200);
    const items = history.json().items as { at: string; version: number; details?: Record<string, unknown> }[];
    expect(items).toHaveLength(expected.length);
    items.forEach((item, i) => {
      expect(item).toMatchObject(expected[i]!);
      expect(new Date(item.at).toISOString()).toBe(item.at);
      if (i > 0) expect(Date.parse(item.at)).toBeGreaterThanOrEqual(Date.parse(items[i - 1]!.at));
    });
    // What was said travels with the event.
    expect(items[4]!.details).toMatchObject({ reason: 'Fehler im Verfahren' });
    expect(items[6]!.details).toMatchObject({ answer: 'Behoben' });
  });
});

describe('refused events', () => {
  it('409 invalid-transition names exactly the events the caller may send now', async () => {
    const app = await setup();
    const id = await create(app);
    expect((await send(app, 'desk-BY', id, SAMPLE.ACCEPT!)).statusCode).toBe(200);

    const refused = expectProblem(await send(app, 'desk-BY', id, SAMPLE.REOPEN!), 409, /invalid-transition$/);
    const allowed = refused.allowedEvents ?? [];
    expect([...allowed].sort()).toEqual(['CHANGE_PRIORITY', 'ESCALATE', 'NOTE', 'REQUEST_INFO', 'RESOLVE', 'SUGGEST_IMPROVEMENT']);
    expect(refused.detail).toContain('REOPEN');

    // Every other event is refused too, and none of them moves the ticket.
    for (const type of USER_EVENT_TYPES.filter((t) => !allowed.includes(t))) {
      const res = await send(app, 'desk-BY', id, SAMPLE[type]!);
      expect([403, 409], `${type}: ${res.body}`).toContain(res.statusCode);
    }
    expect((await read(app, id)).version).toBe(2);
    // And what it names is really possible.
    expect((await send(app, 'desk-BY', id, SAMPLE.SUGGEST_IMPROVEMENT!)).statusCode).toBe(200);
    expect((await send(app, 'desk-BY', id, SAMPLE.REQUEST_INFO!)).statusCode).toBe(200);
  });

  it('a closed ticket takes nothing: 409 with no allowed events', async () => {
    const app = await setup();
    const id = await create(app);
    for (const e of [SAMPLE.RESOLVE!, SAMPLE.CLOSE!]) expect((await send(app, 'desk-BY', id, e)).statusCode).toBe(200);
    const refused = expectProblem(await send(app, 'desk-BY', id, SAMPLE.REOPEN!), 409, /invalid-transition$/);
    expect(refused.allowedEvents).toEqual([]);
  });

  it('403 when another party, the holder, could send it', async () => {
    const app = await setup();
    const id = await create(app, { service: 'uvo' });
    expect((await send(app, 'desk-BY', id, SAMPLE.ESCALATE!)).json().assignee).toBe('dataport');

    // The desk may not accept dataport's handoff.
    const refused = expectProblem(await send(app, 'desk-BY', id, SAMPLE.ACCEPT!), 403, /forbidden$/);
    expect(refused.detail).toContain('dataport');
    expect([...(refused.allowedEvents ?? [])].sort()).toEqual(['CHANGE_PRIORITY', 'NOTE', 'SUGGEST_IMPROVEMENT']);
    // Nor may the operator; but the holder may.
    expectProblem(await send(app, 'ops-bremen', id, SAMPLE.ACCEPT!), 403);
    expect((await send(app, 'dataport', id, SAMPLE.ACCEPT!)).statusCode).toBe(200);

    // Back at level 1, dataport may still read but no longer resolve it.
    expect((await send(app, 'dataport', id, SAMPLE.RETURN!)).statusCode).toBe(200);
    expect(expectProblem(await send(app, 'dataport', id, SAMPLE.RESOLVE!), 403).detail).toContain('desk-BY');
    expect((await read(app, id)).version).toBe(4);
  });

  it.each([
    ['an unknown type', { type: 'DELETE' }, ['type']],
    ['no type', { reason: 'x' }, ['type']],
    ['a required field missing', { type: 'ESCALATE' }, ['reason']],
    ['an empty required field', { type: 'RESOLVE', resolution: '' }, ['resolution']],
    ['an unknown field', { type: 'ACCEPT', note: 'ok', at: 0, actor: { type: 'system' } }, ['actor', 'at']],
    ['a system event', { type: 'SLA_BREACHED', clock: 'resolution', epoch: 1 }, ['type']],
  ])('a malformed event (%s) → 422 naming the field, nothing applied', async (_label, payload, fields) => {
    const app = await setup();
    const id = await create(app);
    const body = expectProblem(await send(app, 'desk-BY', id, payload), 422, /validation-failed$/);
    expect([...new Set((body.errors ?? []).map((e) => e.path))].sort()).toEqual(fields);
    expect((await read(app, id)).version).toBe(1);
  });
});

describe('who may send what', () => {
  it('a note goes into the history with its author and changes nothing else; a stranger may not write one', async () => {
    const app = await setup();
    const id = await create(app, { service: 'uvo' });
    const before = await read(app, id);
    const noted = await send(app, 'ops-bremen', id, SAMPLE.NOTE!);
    expect(noted.statusCode, noted.body).toBe(200);
    expect(noted.json()).toMatchObject({ state: before.state, status: before.status, assignee: before.assignee, version: before.version + 1 });
    const history = (await app.inject({ method: 'GET', url: `/v1/tickets/${id}/history`, headers: bearer('desk-BY') })).json();
    const entries = Array.isArray(history) ? history : history.items ?? history.history;
    expect(entries.at(-1)).toMatchObject({ type: 'NOTE', actor: { orgId: 'ops-bremen' }, details: { text: SAMPLE.NOTE!.text } });
    expect((await send(app, 'desk-BY', id, { type: 'NOTE', text: 'die Bürgerin ruft zurück' })).statusCode).toBe(200);
    expectProblem(await send(app, 'it-SL', id, SAMPLE.NOTE!), 404); // out of its reach: not even the ticket's existence
    const empty = expectProblem(await send(app, 'desk-BY', id, { type: 'NOTE', text: '' }), 422);
    expect(empty.errors?.map((e) => e.path)).toEqual(['text']);
  });

  it('the operator escalates any ticket; a desk answers for the citizen; a provider hands a ticket back to operations', async () => {
    const app = await setup();
    const id = await create(app, { service: 'uvo' });
    const escalated = await send(app, 'ops-bremen', id, SAMPLE.ESCALATE!);
    expect(escalated.statusCode, escalated.body).toBe(200);
    expect(escalated.json()).toMatchObject({ level: 2, assignee: 'dataport', status: 'handoff-pending' });
    expect((await send(app, 'dataport', id, SAMPLE.ACCEPT!)).statusCode).toBe(200);
    expect((await send(app, 'dataport', id, SAMPLE.REQUEST_INFO!)).json()).toMatchObject({ status: 'waiting' });
    // The citizen called the desk back: the desk may pass the answer on, though dataport holds the ticket.
    const info = await send(app, 'desk-BY', id, SAMPLE.INFO_RECEIVED!);
    expect(info.statusCode, info.body).toBe(200);
    expect(info.json()).toMatchObject({ status: 'open', assignee: 'dataport' });

    const other = await create(app, { service: 'uvo' });
    expect((await send(app, 'desk-BY', other, SAMPLE.ESCALATE!)).statusCode).toBe(200);
    const rejected = await send(app, 'dataport', other, SAMPLE.REJECT_HANDOFF!);
    expect(rejected.statusCode, rejected.body).toBe(200);
    expect(rejected.json()).toMatchObject({ assignee: 'ops-bremen', status: 'open' });
  });
});

describe('If-Match', () => {
  it('of two concurrent changes from the same version, exactly one wins; the other is told 412', async () => {
    const app = await setup();
    const id = await create(app);
    const change = (impact: string) => send(app, 'desk-BY', id, { ...SAMPLE.CHANGE_PRIORITY!, impact }, { 'if-match': '"1"' });
    const answers = await Promise.all([change('high'), change('low'), change('medium')]);
    expect(answers.map((r) => r.statusCode).sort()).toEqual([200, 412, 412]);
    expect((await read(app, id)).version).toBe(2);
  });

  it('412 on a stale version in any form, 200 on the current one', async () => {
    const app = await setup();
    const id = await create(app);
    expect((await send(app, 'desk-BY', id, SAMPLE.ACCEPT!, { 'if-match': '"1"' })).statusCode).toBe(200);

    for (const stale of ['1', '"1"', 'W/"1"', ' "1" ', '"3"']) {
      const res = await send(app, 'desk-BY', id, SAMPLE.REQUEST_INFO!, { 'if-match': stale });
      expect(expectProblem(res, 412, /precondition-failed$/).detail, stale).toContain('2');
    }
    expect((await read(app, id)).version).toBe(2);

    const current = ['2', '"3"', 'W/"4"'];
    for (const [i, tag] of current.entries()) {
      const res = await send(app, 'desk-BY', id, i % 2 === 0 ? SAMPLE.REQUEST_INFO! : SAMPLE.INFO_RECEIVED!, { 'if-match': tag });
      expect(res.statusCode, `${tag}: ${res.body}`).toBe(200);
      expect(res.headers.etag).toBe(`"${i + 3}"`);
    }
  });

  it('If-Match: * matches any current version', async () => {
    const app = await setup();
    const id = await create(app);
    const res = await send(app, 'desk-BY', id, SAMPLE.ACCEPT!, { 'if-match': '*' });
    expect(res.statusCode, res.body).toBe(200);
  });

  it('a stale If-Match is checked before the transition: a refused event with a stale tag is 412', async () => {
    const app = await setup();
    const id = await create(app);
    expect((await send(app, 'desk-BY', id, SAMPLE.ACCEPT!)).statusCode).toBe(200);
    expectProblem(await send(app, 'desk-BY', id, SAMPLE.ACCEPT!, { 'if-match': '"1"' }), 412);
  });

  it.each(['abc', '"x"', 'W/', '-1', '1.5', '"2', 'W/2'])('a malformed If-Match (%s) → 400 naming the header', async (tag) => {
    const app = await setup();
    const id = await create(app);
    const body = expectProblem(await send(app, 'desk-BY', id, SAMPLE.ACCEPT!, { 'if-match': tag }), 400);
    expect([...new Set((body.errors ?? []).map((e) => e.path))]).toEqual([expect.stringMatching(/if-match$/)]);
    expect((await read(app, id)).version).toBe(1);
  });
});
