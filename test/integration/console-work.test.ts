/**
 * What the console's pages rely on the API for, over real HTTP and Redis:
 * the word search, the breached count that is the length of its list, the
 * steering committee's refusals and the linked tickets it may read, a
 * decision's comment, and why a ticket was linked, in words.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SEARCH_SCAN_MAX } from '../../src/engine/ticket/index.js';
import type { App } from '../../src/http/app.js';
import { bearer, createHarness, dev, ticketBody, waitFor, type Harness } from '../helpers/harness.js';
import { expectProblem } from '../helpers/http.js';

let h: Harness | undefined;
let app: App;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

function steppingClock() {
  let t = Date.now();
  const now = () => (t += 1000);
  now.jumpTo = (at: number) => void (t = Math.max(t, at));
  return now;
}

async function open(opts: Parameters<typeof createHarness>[0] = {}) {
  h = await createHarness(opts);
  app = await h.app();
}

async function create(orgId: string, overrides: Record<string, unknown>): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/v1/tickets', headers: bearer(orgId), payload: ticketBody(overrides) });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

async function send(orgId: string, id: string, event: Record<string, unknown>) {
  return app.inject({ method: 'POST', url: `/v1/tickets/${id}/events`, headers: bearer(orgId), payload: event });
}

async function get(orgId: string, url: string) {
  return app.inject({ method: 'GET', url, headers: bearer(orgId) });
}

type Item = { id: string; description: string; tickets: string[]; why: { ticketId: string; score: number; shared: string[]; words: string[]; identical: boolean }[]; history?: { type: string; details?: Record<string, unknown> }[] };

async function items(who = 'ops-bremen'): Promise<Item[]> {
  const res = await get(who, '/v1/backlog');
  expect(res.statusCode, res.body).toBe(200);
  return res.json().items;
}

const settled = () => waitFor(async () => {
  const counts = await h!.runtime.queues.queue('backlog').getJobCounts('waiting', 'active', 'delayed');
  return (counts.waiting ?? 0) + (counts.active ?? 0) + (counts.delayed ?? 0) === 0;
}, { timeoutMs: 20_000, what: 'the backlog queue to drain' });

describe('the ticket list: search by words of the subject', () => {
  it('finds every word in the subject, case and umlaut spelling aside, in reach, page by page, and says how many it read', async () => {
    await open();
    const upload = await create('desk-BY', { land: 'BY', service: 'uvo', subject: 'Nachweis lässt sich nicht hochladen' });
    const upload2 = await create('desk-NW', { land: 'NW', service: 'elfe', subject: 'Hochladen des Nachweises bricht ab' });
    await create('desk-BY', { land: 'BY', service: 'uvo', subject: 'Bescheid kam nicht an' });
    const search = async (who: string, query: string) => {
      const res = await get(who, `/v1/tickets?${query}`);
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as { items: { id: string }[]; next: string | null; searched: number };
    };
    const all = await search('ops-bremen', 'q=hochladen%20nachweis');
    expect(all.items.map((v) => v.id)).toEqual([upload2, upload]);
    // The filtered set is three tickets: all of them were read, and the search says so.
    expect(all.searched).toBe(3);
    expect(all.next).toBeNull();
    expect((await search('ops-bremen', 'q=LAESST')).items.map((v) => v.id)).toEqual([upload]);
    expect((await search('ops-bremen', 'q=l%C3%A4sst')).items.map((v) => v.id)).toEqual([upload]);
    // Words and filters together; a desk finds only what it reaches.
    expect((await search('ops-bremen', 'q=hochladen&land=NW')).items.map((v) => v.id)).toEqual([upload2]);
    expect((await search('desk-BY', 'q=hochladen')).items.map((v) => v.id)).toEqual([upload]);
    // One hit per page: the cursor goes on after the last ticket read, each hit once.
    const first = await search('ops-bremen', 'q=hochladen&limit=1');
    expect(first.items.map((v) => v.id)).toEqual([upload2]);
    const second = await search('ops-bremen', `q=hochladen&limit=1&cursor=${first.next}`);
    expect(second.items.map((v) => v.id)).toEqual([upload]);
    expect(first.searched + second.searched).toBeLessThanOrEqual(3 + 1);
    expect(SEARCH_SCAN_MAX).toBe(2000);
    // Without q the answer has no `searched`.
    expect((await get('ops-bremen', '/v1/tickets')).json()).not.toHaveProperty('searched');
  });

  it('refuses a search without two letters or digits in a row, or too long, naming the field', async () => {
    await open();
    for (const q of ['a', '%20%20', '-.-', 'x'.repeat(101)]) {
      const res = await get('ops-bremen', `/v1/tickets?q=${q}`);
      expectProblem(res, 400);
      expect(res.json().errors.map((e: { path: string }) => e.path)).toEqual(['querystring.q']);
    }
  });
});

describe('the ticket list: sorted over the filtered set', () => {
  it('sorts by names, lifecycle and time over the whole filtered set, pages through it, and says over how many', async () => {
    await open();
    // Created oldest first: Sachsen, Bayern, Berlin, Baden-Württemberg.
    const sn = await create('desk-SN', { land: 'SN', service: 'uvo', subject: 'Zahlung fehlt' });
    const by = await create('desk-BY', { land: 'BY', service: 'uvo', subject: 'antrag weg' });
    const be = await create('desk-BE', { land: 'BE', service: 'uvo', subject: 'Bescheid fehlt' });
    const bw = await create('desk-BW', { land: 'BW', service: 'uvo', subject: 'Ärger mit dem Upload' });
    const list = async (query: string) => {
      const res = await get('ops-bremen', `/v1/tickets?${query}`);
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as { items: { id: string }[]; next: string | null; sorted: { by: string; order: string; over: number; complete: boolean } };
    };
    const ids = (page: { items: { id: string }[] }) => page.items.map((v) => v.id);
    // By the Land's name (Baden-Württemberg, Bayern, Berlin, Sachsen), not its code (BE, BW, BY, SN).
    const byLand = await list('sort=land');
    expect(ids(byLand)).toEqual([bw, by, be, sn]);
    expect(byLand.sorted).toEqual({ by: 'land', order: 'asc', over: 4, complete: true });
    expect(ids(await list('sort=land&order=desc'))).toEqual([sn, be, by, bw]);
    // German order of subjects: Ä with A, case aside.
    expect(ids(await list('sort=subject'))).toEqual([by, bw, be, sn]);
    expect(ids(await list('sort=createdAt'))).toEqual([sn, by, be, bw]);
    // Paged by position: two pages of two, each ticket once.
    const first = await list('sort=land&limit=2');
    expect(ids(first)).toEqual([bw, by]);
    expect(first.next).toBe('s2');
    const second = await list(`sort=land&limit=2&cursor=${first.next}`);
    expect(ids(second)).toEqual([be, sn]);
    expect(second.next).toBeNull();
    // With words and filters: the sort is over what they leave.
    expect(ids(await list('sort=land&q=fehlt'))).toEqual([be, sn]);
    expect(ids(await list('sort=subject&land=BY'))).toEqual([by]);
    const bad = await get('ops-bremen', '/v1/tickets?sort=reporter');
    expectProblem(bad, 400);
    expect(bad.json().errors.map((e: { path: string }) => e.path)).toEqual(['querystring.sort']);
  });
});

describe('the breached count', () => {
  it('counts only tickets still at a level: a resolved one leaves it, and the count is the length of its list', async () => {
    const clock = steppingClock();
    await open({ now: clock });
    const id = await create('desk-BY', { land: 'BY', service: 'uvo', impact: 'high', urgency: 'high', category: 'technical' });
    for (let i = 0; i < 5; i++) {
      const record = await h!.runtime.engine.getTicket(dev('ops-bremen'), id);
      if (record.state.context.sla.breaches.length > 0) break;
      clock.jumpTo(record.state.context.timer!.at);
      await h!.runtime.engine.fireTimer(id, record.state.context.timer!.epoch);
    }
    const stats = async () => (await get('ops-bremen', '/v1/stats')).json().tickets.sla.breached as { count: number; list: string };
    const count = async () => (await stats()).count;
    // The count's own list query, as the board links it.
    const list = async () => (await get('ops-bremen', `${(await stats()).list}&limit=200`)).json().items.map((v: { id: string }) => v.id);
    expect((await stats()).list).toMatch(/^\/v1\/tickets\?sla=breached/);
    expect(await list()).toEqual([id]);
    expect(await count()).toBe(1);
    // The breach escalated it: the holder now is the one the list and the board show.
    const now = (await get('ops-bremen', `/v1/tickets/${id}`)).json();
    expect(now.assignee).toBe('dataport');
    expect((await send('ops-bremen', id, { type: 'ASSIGN', assignee: 'ops-bremen', reason: 'Übernahme' })).statusCode).toBe(200);
    expect((await send('ops-bremen', id, { type: 'RESOLVE', resolution: 'Behoben' })).statusCode).toBe(200);
    expect(await list()).toEqual([]);
    expect(await count()).toBe(0);
    // Reopened, it is breached and open again.
    expect((await send('desk-BY', id, { type: 'REOPEN', reason: 'Wieder da' })).statusCode).toBe(200);
    expect(await list()).toEqual([id]);
    expect(await count()).toBe(1);
  });
});

describe('the steering committee and tickets', () => {
  it('is refused every ticket read (403 problem documents) and assigning a ticket to it is refused naming the field', async () => {
    await open();
    const id = await create('desk-BY', { land: 'BY', service: 'uvo' });
    for (const url of ['/v1/tickets', `/v1/tickets/${id}`, `/v1/tickets/${id}/history`, `/v1/tickets/${id}/sla`, '/v1/tickets?q=antrag']) {
      const res = await get('steuerungskreis', url);
      expectProblem(res, 403);
    }
    const res = await send('ops-bremen', id, { type: 'ASSIGN', assignee: 'steuerungskreis', reason: 'Bitte entscheiden' });
    expectProblem(res, 422);
    expect(res.json().errors).toEqual([{ path: 'assignee', message: 'the steering committee holds no tickets' }]);
  });

  it('reads the linked tickets of a backlog item: subject, Land, date, status; never the reporter or the description', async () => {
    await open({ roles: ['relay', 'backlog'] });
    const a = await create('desk-HB', { land: 'HB', service: 'elfe', subject: 'Antrag hochladen', description: 'Ruf mich an: Erika 0301234567', reporter: { name: 'Erika Mustermann', email: 'erika@example.org' } });
    const b = await create('desk-BY', { land: 'BY', service: 'elfe' });
    expect((await send('desk-HB', a, { type: 'SUGGEST_IMPROVEMENT', title: 'Wohngeldantrag online hochladen', description: 'Upload von Nachweisen' })).statusCode).toBe(200);
    expect((await send('desk-BY', b, { type: 'SUGGEST_IMPROVEMENT', title: 'Antrag auf Wohngeld: Nachweise hochladen', description: 'Nachweise hochladen' })).statusCode).toBe(200);
    await settled();
    const [item] = await items('steuerungskreis');
    expect(item!.tickets.sort()).toEqual([a, b].sort());
    const res = await get('steuerungskreis', `/v1/backlog/${item!.id}/tickets`);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.items.map((v: { id: string }) => v.id).sort()).toEqual([a, b].sort());
    expect(body.items.find((v: { id: string }) => v.id === a)).toEqual({ id: a, subject: 'Antrag hochladen', land: 'HB', service: 'elfe', priority: expect.stringMatching(/^P\d$/), status: 'new', createdAt: expect.any(String) });
    expect(res.body).not.toMatch(/Erika|erika@|0301234567/);
    expect(body.removed).toEqual([]);
    // Paged; a desk reads only its own Land's linked tickets.
    const one = (await get('steuerungskreis', `/v1/backlog/${item!.id}/tickets?limit=1`)).json();
    expect(one.items).toHaveLength(1);
    expect(one.next).toBe('1');
    expect((await get('desk-BY', `/v1/backlog/${item!.id}/tickets`)).json().items.map((v: { id: string }) => v.id)).toEqual([b]);
    // The items a Land's tickets ask for, per service too: what the ticket page reads for its backlog links.
    const ids = async (query: string) => (await get('ops-bremen', `/v1/backlog?${query}`)).json().items.map((i: { id: string }) => i.id);
    expect(await ids('land=BY')).toEqual([item!.id]);
    expect(await ids('service=elfe&land=HB')).toEqual([item!.id]);
    expect(await ids('service=uvo&land=HB')).toEqual([]);
    expect(await ids('land=SL')).toEqual([]);
    expectProblem(await get('ops-bremen', '/v1/backlog?land=XX'), 400);
    expectProblem(await get('steuerungskreis', '/v1/backlog/nope/tickets'), 404);
    expectProblem(await get('steuerungskreis', `/v1/backlog/${item!.id}/tickets?cursor=x`), 400);
  });
});

describe('backlog items', () => {
  it('say why each ticket is linked in words, and keep a decision\'s comment in the history', async () => {
    await open({ roles: ['relay', 'backlog'] });
    const a = await create('desk-HB', { land: 'HB', service: 'elfe' });
    const b = await create('desk-BY', { land: 'BY', service: 'elfe' });
    await send('desk-HB', a, { type: 'SUGGEST_IMPROVEMENT', title: 'Wohngeldantrag online hochladen', description: 'Bitte den Upload von Nachweisen im Antrag erlauben' });
    await waitFor(async () => (await items()).length === 1, { what: 'the first item' });
    await send('desk-BY', b, { type: 'SUGGEST_IMPROVEMENT', title: 'Antrag auf Wohngeld: Nachweise hochladen', description: 'Nachweise sollten sich beim Antrag hochladen lassen' });
    await settled();
    const [item] = await items();
    const origin = item!.why.find((w) => w.ticketId === a)!;
    const joined = item!.why.find((w) => w.ticketId === b)!;
    // Alike in full is said so, and still names its words: no link is "1" with nothing shared.
    expect(origin).toMatchObject({ score: 1, identical: true });
    expect(origin.shared.length).toBeGreaterThan(0);
    expect(joined.identical).toBe(false);
    expect(joined.shared.length).toBeGreaterThan(0);
    // The shared terms as the item writes them: "Hochladen", not the stem "hochlad".
    expect(joined.words).toEqual(expect.arrayContaining(['hochladen']));
    expect(joined.words.join(' ')).not.toMatch(/\bhochlad\b/);
    for (const w of item!.why) expect(w.score === 1 && w.shared.length === 0, w.ticketId).toBe(false);

    const decided = await app.inject({ method: 'POST', url: `/v1/backlog/${item!.id}/events`, headers: bearer('ops-bremen'), payload: { type: 'PRIORITIZE', rank: 2, comment: 'Viele Länder fragen danach' } });
    expect(decided.statusCode, decided.body).toBe(200);
    const read = (await get('steuerungskreis', `/v1/backlog/${item!.id}`)).json() as Item;
    expect(read.history!.at(-1)).toMatchObject({ type: 'PRIORITIZE', details: { rank: 2, comment: 'Viele Länder fragen danach' } });
    const bad = await app.inject({ method: 'POST', url: `/v1/backlog/${item!.id}/events`, headers: bearer('steuerungskreis'), payload: { type: 'ACCEPT', comment: '' } });
    expectProblem(bad, 422);
    expect(bad.json().errors.map((e: { path: string }) => e.path)).toEqual(['comment']);
  });

  it('a recurring problem: every link compared with the item, and the description counts the tickets and Länder as they join', async () => {
    await open({ roles: ['relay', 'backlog'] });
    const subjects = ['Upload der Geburtsurkunde schlägt fehl', 'Geburtsurkunde lässt sich nicht hochladen', 'Fehler beim Hochladen der Geburtsurkunde', 'Upload Geburtsurkunde geht nicht'];
    for (const s of subjects) await create('desk-HB', { land: 'HB', service: 'elfe', category: 'technical', subject: s });
    await create('desk-SH', { land: 'SH', service: 'elfe', category: 'technical', subject: 'Geburtsurkunde Upload Fehler' });
    await waitFor(async () => (await items()).length === 1, { what: 'the recurring problem' });
    await settled();
    expect((await items())[0]!.description).toBe('5 technische Tickets aus 2 Ländern innerhalb von 7 Tagen melden dasselbe.');
    const sixth = await create('desk-BY', { land: 'BY', service: 'elfe', category: 'technical', subject: 'Hochladen der Geburtsurkunde scheitert' });
    await waitFor(async () => (await items())[0]!.tickets.includes(sixth), { what: 'the sixth ticket linked' });
    const [item] = await items();
    expect(item!.description).toBe('6 technische Tickets aus 3 Ländern innerhalb von 7 Tagen melden dasselbe.');
    // Alike the item in full ("same subject") or not, every link names what it shares.
    for (const w of item!.why) {
      expect(w.shared.length, w.ticketId).toBeGreaterThan(0);
      expect(w.identical, w.ticketId).toBe(w.score >= 1);
    }
    for (const w of item!.why) expect(w.words.length, w.ticketId).toBeGreaterThan(0);
    expect(item!.why.find((w) => w.ticketId === sixth)!.words).toEqual(expect.arrayContaining(['Geburtsurkunde']));
  });
});
