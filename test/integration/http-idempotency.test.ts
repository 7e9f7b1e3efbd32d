import type { LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/http/app.js';
import { idempotencyDigest } from '../../src/engine/idempotency-keys.js';
import { createIdempotencyStore, parseRecord } from '../../src/store/idempotency.js';
import { bearer, harnessPerTest, ticketBody, type Harness } from '../helpers/harness.js';
import { expectProblem as expectAnyProblem } from '../helpers/http.js';

const startHarness = harnessPerTest();
async function setup(): Promise<{ app: App; h: Harness }> {
  const h = await startHarness();
  return { app: await h.app(), h };
}

const post = (app: App, orgId: string, payload: Record<string, unknown>, key?: string) =>
  app.inject({ method: 'POST', url: '/v1/tickets', headers: { ...bearer(orgId), ...(key !== undefined ? { 'idempotency-key': key } : {}) }, payload });

/** A problem of this type, never marked as a replay. */
function expectProblem(res: LightMyRequestResponse, status: number, type: RegExp) {
  expectAnyProblem(res, status, type);
  expect(res.headers['idempotent-replayed']).toBeUndefined();
}

const ticketIds = async (app: App) =>
  ((await app.inject({ method: 'GET', url: '/v1/tickets', headers: bearer('ops-bremen') })).json().items as { id: string }[]).map((t) => t.id);

/** The key the engine keeps a request's idempotency record under (see engine.createTicket). */
const recordKey = (harness: Harness, orgId: string, key: string) =>
  harness.runtime.keys.idempotency(orgId, idempotencyDigest(key));

describe('Idempotency-Key', () => {
  it('the same key and body answer 200 with the same ticket, marked as replayed', async () => {
    const { app } = await setup();
    const body = ticketBody();
    const first = await post(app, 'desk-BY', body, 'req-1');
    expect(first.statusCode, first.body).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(first.headers.location).toBe(`/v1/tickets/${first.json().id}`);

    // The same body with its keys in another order is the same body.
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    for (const payload of [body, reordered]) {
      const again = await post(app, 'desk-BY', payload, 'req-1');
      expect(again.statusCode, again.body).toBe(200);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.json()).toEqual(first.json());
      expect(again.headers.location).toBe(first.headers.location);
    }
    expect(await ticketIds(app)).toEqual([first.json().id]);
  });

  it('the same key with another body → 422, and the first ticket stays as it was', async () => {
    const { app } = await setup();
    const body = ticketBody();
    const first = await post(app, 'desk-BY', body, 'req-2');
    expect(first.statusCode).toBe(201);
    for (const other of [{ ...body, subject: 'Anderer Betreff' }, { ...body, urgency: 'high' }, { ...body, reporter: { name: 'Neu' } }]) {
      expectProblem(await post(app, 'desk-BY', other, 'req-2'), 422, /idempotency-key-reused$/);
    }
    expect(await ticketIds(app)).toEqual([first.json().id]);
  });

  it('without the header, externalRef is the key', async () => {
    const { app } = await setup();
    const body = ticketBody({ externalRef: 'BY-2026-000123' });
    const first = await post(app, 'desk-BY', body);
    expect(first.statusCode).toBe(201);
    const again = await post(app, 'desk-BY', body);
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json().id).toBe(first.json().id);
    expectProblem(await post(app, 'desk-BY', { ...body, subject: 'anders' }), 422, /idempotency-key-reused$/);
    // A header key of its own makes it a new request, though externalRef repeats.
    const keyed = await post(app, 'desk-BY', body, 'another-key');
    expect(keyed.statusCode).toBe(201);
    expect(keyed.json().id).not.toBe(first.json().id);
  });

  it('keys are scoped to the organisation: the same key from another desk creates its own ticket', async () => {
    const { app } = await setup();
    const body = ticketBody({ land: 'BY' });
    const fromBY = await post(app, 'desk-BY', body, 'shared-key');
    const fromHB = await post(app, 'desk-HB', body, 'shared-key');
    const fromOps = await post(app, 'ops-bremen', body, 'shared-key');
    for (const res of [fromBY, fromHB, fromOps]) {
      expect(res.statusCode, res.body).toBe(201);
      expect(res.headers['idempotent-replayed']).toBeUndefined();
    }
    expect(new Set([fromBY.json().id, fromHB.json().id, fromOps.json().id]).size).toBe(3);
    expect(fromHB.json().createdBy).toBe('desk-HB');
    // And each organisation's replay finds its own.
    expect((await post(app, 'desk-HB', body, 'shared-key')).json().id).toBe(fromHB.json().id);
  });

  it('a quoted structured-field key "abc" is the key abc', async () => {
    const { app } = await setup();
    const body = ticketBody();
    const first = await post(app, 'desk-BY', body, '"abc"');
    expect(first.statusCode).toBe(201);
    const plain = await post(app, 'desk-BY', body, 'abc');
    expect(plain.statusCode).toBe(200);
    expect(plain.json().id).toBe(first.json().id);
    expect((await post(app, 'desk-BY', body, '"abc"')).json().id).toBe(first.json().id);
  });

  it.each([
    ['empty', ''],
    ['an empty quoted string', '""'],
    ['longer than 255', 'k'.repeat(256)],
    ['with a space', 'a b'],
    ['with non-ASCII', 'schlüssel'],
  ])('a malformed key (%s) → 400 naming the header, nothing created', async (_label, key) => {
    const { app } = await setup();
    const res = await post(app, 'desk-BY', ticketBody(), key);
    expect(res.statusCode, res.body).toBe(400);
    expect([...new Set(res.json().errors.map((e: { path: string }) => e.path))]).toEqual([expect.stringMatching(/idempotency-key$/)]);
    expect(await ticketIds(app)).toEqual([]);
  });
});

describe('a request still in flight', () => {
  it('answers 409 while the first request holds the key, and proceeds once it is free', async () => {
    const { app, h: harness } = await setup();
    const body = ticketBody();
    // Learn the body's fingerprint the honest way: from the record a finished request leaves.
    const done = await post(app, 'desk-BY', body, 'probe');
    expect(done.statusCode).toBe(201);
    const record = parseRecord((await harness.redis.get(recordKey(harness, 'desk-BY', 'probe')))!);
    expect(record).toEqual({ state: 'done', fp: expect.any(String), ticketId: done.json().id });

    // A first request with key "held" has reserved it, exactly as engine.createTicket does, and not committed yet.
    const store = createIdempotencyStore(harness.redis, harness.runtime.keys);
    const heldKey = recordKey(harness, 'desk-BY', 'held');
    expect(await store.reserve(heldKey, record.fp, 60_000)).toEqual({ reserved: true });

    const retry = await post(app, 'desk-BY', body, 'held');
    expectProblem(retry, 409, /idempotency-in-flight$/);
    // Asked to come back soon: the first request usually answers within the second.
    expect(retry.headers['retry-after']).toBe('1');
    // Another body under the same key is still a misuse of the key.
    expectProblem(await post(app, 'desk-BY', { ...body, subject: 'anders' }, 'held'), 422, /idempotency-key-reused$/);
    // Other organisations are not held up by it.
    expect((await post(app, 'desk-HB', body, 'held')).statusCode).toBe(201);

    // The first request fails and frees the key: the retry goes through.
    await store.release(heldKey, record.fp);
    const after = await post(app, 'desk-BY', body, 'held');
    expect(after.statusCode, after.body).toBe(201);
    expect(after.json().id).not.toBe(done.json().id);
    expect(parseRecord((await harness.redis.get(heldKey))!)).toEqual({ state: 'done', fp: record.fp, ticketId: after.json().id });
  });

  it('concurrent requests with one key create exactly one ticket; the others replay it or are told it is in flight', async () => {
    const { app } = await setup();
    const body = ticketBody();
    const answers = await Promise.all(Array.from({ length: 8 }, () => post(app, 'desk-BY', body, 'race')));
    const created = answers.filter((r) => r.statusCode === 201);
    expect(created).toHaveLength(1);
    const id = created[0]!.json().id as string;
    for (const res of answers) {
      expect([200, 201, 409], res.body).toContain(res.statusCode);
      if (res.statusCode === 200) expect(res.json().id).toBe(id);
      if (res.statusCode === 409) expect(res.json().type).toMatch(/idempotency-in-flight$/);
    }
    expect(await ticketIds(app)).toEqual([id]);
  });
});

describe('Idempotency-Key on POST /v1/tickets/{id}/events', () => {
  const send = (app: App, orgId: string, id: string, payload: Record<string, unknown>, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: `/v1/tickets/${id}/events`, headers: { ...bearer(orgId), ...headers }, payload });
  const historyTypes = async (app: App, id: string) =>
    ((await app.inject({ method: 'GET', url: `/v1/tickets/${id}/history`, headers: bearer('ops-bremen') })).json().items as { type: string }[]).map((e) => e.type);
  /** A uvo ticket escalated to dataport, waiting for its receipt. */
  async function handedToDataport(app: App): Promise<string> {
    const id = (await post(app, 'desk-BY', ticketBody())).json().id as string;
    expect((await send(app, 'desk-BY', id, { type: 'ACCEPT' })).statusCode).toBe(200);
    expect((await send(app, 'desk-BY', id, { type: 'ESCALATE', reason: 'Fehler im Verfahren' })).statusCode).toBe(200);
    return id;
  }

  it('a repeated event with its key applies once and answers 200 with the ticket as it is, marked as replayed', async () => {
    const { app } = await setup();
    const id = await handedToDataport(app);
    const first = await send(app, 'dataport', id, { type: 'ACCEPT' }, { 'idempotency-key': 'receipt-1' });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(first.json()).toMatchObject({ status: 'open', version: 4 });

    // Without the key the same ACCEPT is refused: the ticket no longer waits for a receipt.
    expectProblem(await send(app, 'dataport', id, { type: 'ACCEPT' }), 409, /invalid-transition$/);
    // With it, the repeat is answered as the first was, and nothing is applied again.
    const again = await send(app, 'dataport', id, { type: 'ACCEPT' }, { 'idempotency-key': 'receipt-1' });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expect(again.headers.etag).toBe('"4"');
    expect(await historyTypes(app, id)).toEqual(['CREATED', 'ACCEPT', 'ESCALATE', 'ACCEPT']);

    // Later changes show in a replay: it answers with the ticket as it is now.
    expect((await send(app, 'dataport', id, { type: 'RESOLVE', resolution: 'behoben' }, { 'idempotency-key': 'resolve-1' })).statusCode).toBe(200);
    const late = await send(app, 'dataport', id, { type: 'ACCEPT' }, { 'idempotency-key': 'receipt-1' });
    expect(late.statusCode).toBe(200);
    expect(late.json()).toMatchObject({ status: 'resolved', version: 5 });
    expect(await historyTypes(app, id)).toEqual(['CREATED', 'ACCEPT', 'ESCALATE', 'ACCEPT', 'RESOLVE']);
  });

  it('the same key with another event → 422, nothing applied', async () => {
    const { app } = await setup();
    const id = await handedToDataport(app);
    expect((await send(app, 'dataport', id, { type: 'ACCEPT', note: 'übernommen' }, { 'idempotency-key': 'k' })).statusCode).toBe(200);
    expectProblem(await send(app, 'dataport', id, { type: 'ACCEPT', note: 'anders' }, { 'idempotency-key': 'k' }), 422, /idempotency-key-reused$/);
    expectProblem(await send(app, 'dataport', id, { type: 'RESOLVE', resolution: 'x' }, { 'idempotency-key': 'k' }), 422, /idempotency-key-reused$/);
    expect(await historyTypes(app, id)).toEqual(['CREATED', 'ACCEPT', 'ESCALATE', 'ACCEPT']);
  });

  it('keys are scoped to the caller and the ticket; the record expires after a week', async () => {
    const { app, h } = await setup();
    const a = await handedToDataport(app);
    const b = await handedToDataport(app);
    for (const id of [a, b]) {
      const res = await send(app, 'dataport', id, { type: 'ACCEPT' }, { 'idempotency-key': 'same' });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['idempotent-replayed']).toBeUndefined();
    }
    // The operator's key of the same name is its own: its event applies.
    const byOps = await send(app, 'ops-bremen', a, { type: 'ASSIGN', assignee: 'it-BY', reason: 'Zuständigkeit' }, { 'idempotency-key': 'same' });
    expect(byOps.statusCode, byOps.body).toBe(200);
    expect(byOps.headers['idempotent-replayed']).toBeUndefined();

    // The engine keys an event's record by caller, ticket and key (see engine.applyEventOnce).
    const key = recordKey(h, 'dataport', `event\n${a}\nsame`);
    const ttl = await h.redis.ttl(key);
    expect(ttl).toBeGreaterThan(6 * 86_400);
    expect(ttl).toBeLessThanOrEqual(7 * 86_400);
  });

  it('a replay still answers 404 outside the caller\'s reach, and a key is checked before If-Match', async () => {
    const { app } = await setup();
    const id = await handedToDataport(app);
    expect((await send(app, 'dataport', id, { type: 'ACCEPT' }, { 'idempotency-key': 'r', 'if-match': '3' })).statusCode).toBe(200);
    // The same request again: its If-Match is stale now, yet it is a replay of what was applied.
    const again = await send(app, 'dataport', id, { type: 'ACCEPT' }, { 'idempotency-key': 'r', 'if-match': '3' });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    // Another provider, whose key of the same name was never used, never learns of the ticket.
    expectProblem(await send(app, 'it-HB', id, { type: 'ACCEPT' }, { 'idempotency-key': 'r' }), 404, /ticket-not-found$/);
  });

  it('concurrent repeats of one keyed event apply it exactly once', async () => {
    const { app } = await setup();
    const id = await handedToDataport(app);
    const answers = await Promise.all(Array.from({ length: 8 }, () => send(app, 'dataport', id, { type: 'ACCEPT' }, { 'idempotency-key': 'race' })));
    for (const res of answers) expect(res.statusCode, res.body).toBe(200);
    expect(answers.filter((r) => r.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
    expect(new Set(answers.map((r) => r.json().version))).toEqual(new Set([4]));
    expect(await historyTypes(app, id)).toEqual(['CREATED', 'ACCEPT', 'ESCALATE', 'ACCEPT']);
  });

  it('a malformed key → 400 naming the header', async () => {
    const { app } = await setup();
    const id = await handedToDataport(app);
    const res = await send(app, 'dataport', id, { type: 'ACCEPT' }, { 'idempotency-key': 'a b' });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().errors.map((e: { path: string }) => e.path)).toEqual([expect.stringMatching(/idempotency-key$/)]);
    expect(await historyTypes(app, id)).toEqual(['CREATED', 'ACCEPT', 'ESCALATE']);
  });
});
