import { describe, expect, it } from 'vitest';
import type { BacklogJob } from '../../src/queue/jobs.js';
import { createBacklogFeed } from '../../src/engine/backlog/index.js';
import { makeCandidateFinder } from '../../src/store/backlog-index.js';
import { makeLocks } from '../../src/store/locks.js';
import { makeRecurringWindow } from '../../src/store/recurring-window.js';
import { createLogger } from '../../src/logger.js';
import { loadConfig } from '../../src/config/env.js';
import { createRuntime } from '../../src/runtime.js';
import { bearer, defaultTopology, harnessPerTest, redisUrl, ticketBody, waitFor, type Harness } from '../helpers/harness.js';
import { expectProblem } from '../helpers/http.js';

const open = harnessPerTest();

async function createTicket(h: Harness, land: string, overrides: Record<string, unknown> = {}) {
  const app = await h.app();
  const res = await app.inject({ method: 'POST', url: '/v1/tickets', headers: bearer(`desk-${land}`), payload: ticketBody({ land, service: 'elfe', ...overrides }) });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

async function suggest(h: Harness, land: string, ticketId: string, title: string, description = '') {
  const app = await h.app();
  return app.inject({ method: 'POST', url: `/v1/tickets/${ticketId}/events`, headers: bearer(`desk-${land}`), payload: { type: 'SUGGEST_IMPROVEMENT', title, description } });
}

async function items(h: Harness, who = 'ops-bremen', query = '') {
  const app = await h.app();
  const res = await app.inject({ method: 'GET', url: `/v1/backlog${query}`, headers: bearer(who) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().items as { id: string; title: string; ticketCount: number; lands: string[]; tickets: string[]; status: string; why: { ticketId: string; score: number; shared: string[]; source: string }[] }[];
}

async function item(h: Harness, id: string, who = 'ops-bremen') {
  const app = await h.app();
  return app.inject({ method: 'GET', url: `/v1/backlog/${id}`, headers: bearer(who) });
}

async function itemEvent(h: Harness, id: string, who: string, payload: Record<string, unknown>) {
  const app = await h.app();
  return app.inject({ method: 'POST', url: `/v1/backlog/${id}/events`, headers: bearer(who), payload });
}

/** The feed of a harness's runtime, to run a job again as a re-delivery would. */
const feedOf = (h: Harness) => createBacklogFeed({ topology: defaultTopology, keys: h.runtime.keys, findCandidates: makeCandidateFinder(h.runtime.redis, h.runtime.keys.prefix), window: makeRecurringWindow(h.runtime.redis, h.runtime.keys), locks: makeLocks(h.runtime.redis), tickets: h.runtime.engine, backlog: h.runtime.backlog, now: Date.now, logger: createLogger('silent') });

const settled = (h: Harness) => waitFor(async () => {
  const counts = await h.runtime.queues.queue('backlog').getJobCounts('waiting', 'active', 'delayed');
  // The recurring-problem window's feed too: its entries are deleted once observed.
  const feed = await h.runtime.redis.xlen(h.runtime.keys.recurringFeed);
  return (counts.waiting ?? 0) + (counts.active ?? 0) + (counts.delayed ?? 0) + feed === 0;
}, { timeoutMs: 20_000, what: 'the backlog queue and the recurring-problem feed to drain' });

describe('the backlog feed', () => {
  it('turns suggestions into items, links what says the same, opens a new item for another wish, and counts a ticket once', async () => {
    const h = await open({ roles: ['relay', 'backlog'] });
    const a = await createTicket(h, 'HB');
    const b = await createTicket(h, 'BY');
    const c = await createTicket(h, 'NW');
    expect((await suggest(h, 'HB', a, 'Wohngeldantrag online hochladen', 'Bitte den Upload von Nachweisen im Antrag erlauben')).statusCode).toBe(200);
    await waitFor(async () => (await items(h)).length === 1, { what: 'the first item' });
    expect((await suggest(h, 'BY', b, 'Antrag auf Wohngeld: Nachweise hochladen', 'Nachweise sollten sich beim Antrag hochladen lassen')).statusCode).toBe(200);
    expect((await suggest(h, 'NW', c, 'Geburtsurkunde per Post zusenden', 'Die Urkunde soll zusätzlich per Post kommen')).statusCode).toBe(200);
    await settled(h);

    const all = await items(h);
    expect(all).toHaveLength(2);
    const upload = all.find((i) => i.tickets.includes(a))!;
    expect(upload.tickets.sort()).toEqual([a, b].sort());
    expect(upload.lands.sort()).toEqual(['BY', 'HB']);
    const linked = upload.why.find((w) => w.ticketId === b)!;
    expect(linked.score).toBeGreaterThan(0.5);
    expect(linked.shared.length).toBeGreaterThan(0);
    expect(all.find((i) => i.tickets.includes(c))!.ticketCount).toBe(1);

    // The same suggestion delivered again (a retried job) counts once.
    const feed = feedOf(h);
    const job: BacklogJob = { type: 'suggest', ticketId: b, version: 3, source: 'suggestion' };
    await feed.run(job);
    await feed.run(job);
    const again = (await items(h)).find((i) => i.id === upload.id)!;
    expect(again.ticketCount).toBe(2);
  });

  it('makes an improvement ticket a suggestion of its own, and bounds the suggestions one ticket makes', async () => {
    const h = await open({ roles: ['relay', 'backlog'] });
    const t = await createTicket(h, 'HB', { category: 'improvement', subject: 'Elterngeld und Kindergeld in einem Schritt beantragen', description: 'Bitte beide Anträge zusammenlegen' });
    await waitFor(async () => (await items(h)).some((i) => i.tickets.includes(t)), { what: 'the improvement as an item' });
    expect((await items(h))[0]!.why[0]!.source).toBe('improvement');
    expect((await suggest(h, 'HB', t, 'Zweiter Vorschlag')).statusCode).toBe(200);
    expect((await suggest(h, 'HB', t, 'Dritter Vorschlag')).statusCode).toBe(200);
    const refused = expectProblem(await suggest(h, 'HB', t, 'Vierter Vorschlag'), 422, /limit-reached/);
    expect(refused).toMatchObject({ limit: 'backlog.maxSuggestionsPerTicket', max: 3 });
  });

  it('finds a recurring problem: five technical tickets with matching subjects from two Länder become one item', async () => {
    const h = await open({ roles: ['relay', 'backlog'] });
    const subjects = ['Upload der Geburtsurkunde schlägt fehl', 'Geburtsurkunde lässt sich nicht hochladen', 'Fehler beim Hochladen der Geburtsurkunde', 'Upload Geburtsurkunde geht nicht', 'Geburtsurkunde Upload Fehler'];
    const ids: string[] = [];
    // Four from one Land are not enough Länder yet…
    for (const s of subjects.slice(0, 4)) ids.push(await createTicket(h, 'HB', { category: 'technical', subject: s }));
    await settled(h);
    expect(await items(h)).toHaveLength(0);
    // …the fifth, from another Land, makes the window full.
    ids.push(await createTicket(h, 'SH', { category: 'technical', subject: subjects[4] }));
    await waitFor(async () => (await items(h)).length === 1, { what: 'the recurring problem' });
    await settled(h);
    const [found] = await items(h);
    expect(found!.title).toMatch(/^Wiederkehrendes Problem: /);
    expect(found!.tickets.sort()).toEqual([...ids].sort());
    expect(found!.lands.sort()).toEqual(['HB', 'SH']);
    expect(found!.why.every((w) => w.source === 'recurring')).toBe(true);
    // A sixth matching ticket joins the item instead of opening another.
    const sixth = await createTicket(h, 'BY', { category: 'technical', subject: 'Hochladen der Geburtsurkunde scheitert' });
    await waitFor(async () => (await items(h))[0]!.tickets.includes(sixth), { what: 'the sixth ticket linked' });
    expect(await items(h)).toHaveLength(1);
  });
});

describe('a backlog item', () => {
  /** A link as the feed makes one, for a ticket of Saarland's desk. */
  const linkOf = (ticketId: string) => ({ ticketId, land: 'SL' as const, priority: 'P3' as const, score: 0.9, shared: ['wohngeld'], at: Date.now(), source: 'suggestion' as const });

  async function twoItems(h: Harness) {
    const a = await createTicket(h, 'HB');
    const b = await createTicket(h, 'BY');
    const c = await createTicket(h, 'NW');
    await suggest(h, 'HB', a, 'Wohngeldantrag online hochladen', 'Upload von Nachweisen');
    await suggest(h, 'BY', b, 'Antrag auf Wohngeld Nachweise hochladen', 'Nachweise hochladen');
    await suggest(h, 'NW', c, 'Geburtsurkunde per Post zusenden', 'Urkunde per Post');
    await settled(h);
    const all = await items(h);
    return { a, b, c, upload: all.find((i) => i.tickets.includes(a))!.id, post: all.find((i) => i.tickets.includes(c))!.id };
  }

  it('moves only by the backlog owner and the steering committee, and is read in reach', async () => {
    const h = await open({ roles: ['relay', 'backlog'] });
    const { upload } = await twoItems(h);
    expectProblem(await itemEvent(h, upload, 'desk-HB', { type: 'PRIORITIZE', rank: 1 }), 403);
    expectProblem(await itemEvent(h, upload, 'steuerungskreis', { type: 'PRIORITIZE', rank: 1 }), 403);
    expect((await itemEvent(h, upload, 'ops-bremen', { type: 'PRIORITIZE', rank: 1 })).json()).toMatchObject({ status: 'prioritized', rank: 1 });
    expectProblem(await itemEvent(h, upload, 'ops-bremen', { type: 'ACCEPT' }), 403);
    expect((await itemEvent(h, upload, 'steuerungskreis', { type: 'ACCEPT' })).json()).toMatchObject({ status: 'accepted' });
    expectProblem(await itemEvent(h, upload, 'steuerungskreis', { type: 'COMPLETE' }), 409);
    expectProblem(await itemEvent(h, upload, 'ops-bremen', { type: 'PRIORITIZE', rank: 0 }), 422);

    // A desk reads the items its Land's tickets ask for; another Land's desk does not see them at all.
    expect((await item(h, upload, 'desk-HB')).statusCode).toBe(200);
    expectProblem(await item(h, upload, 'desk-SL'), 404);
    expect(await items(h, 'desk-SL')).toHaveLength(0);
    // A provider reads the items of the services it runs.
    expect((await item(h, upload, 'dataport')).statusCode).toBe(200);
    expectProblem(await item(h, upload, 'vendor-lc'), 404);
    expect((await items(h, 'ops-bremen', '?sort=rank')).map((i) => i.id)).toEqual([upload]);
  });

  it('merges and splits by links only: nothing lost, a ticket and a Land counted once, both in the history', async () => {
    const h = await open({ roles: ['relay', 'backlog'] });
    const { a, b, c, upload, post } = await twoItems(h);
    expect((await itemEvent(h, post, 'ops-bremen', { type: 'MERGE', into: upload })).json()).toMatchObject({ status: 'merged', mergedInto: upload });
    await waitFor(async () => (await item(h, upload)).json().ticketCount === 3, { what: 'the merge absorbed' });
    const merged = (await item(h, upload)).json();
    expect(merged.tickets.sort()).toEqual([a, b, c].sort());
    expect(merged.history.map((e: { type: string }) => e.type)).toContain('ABSORB');
    expect((await item(h, post)).json().history.map((e: { type: string }) => e.type)).toContain('MERGE');
    expect((await items(h)).map((i) => i.id)).toEqual([upload]);

    expect((await itemEvent(h, upload, 'ops-bremen', { type: 'UNMERGE', tickets: [c] })).json().tickets.sort()).toEqual([a, b].sort());
    await waitFor(async () => (await items(h)).length === 2, { what: 'the split item' });
    const split = (await items(h)).find((i) => i.id !== upload)!;
    expect(split.tickets).toEqual([c]);
    expect((await item(h, split.id)).json()).toMatchObject({ splitFrom: upload });
  });

  it('links on an item loaded a moment earlier only what the latest item says: a stale record loses no link, and "linked already" is believed of the latest only', async () => {
    const h = await open({ roles: ['relay', 'backlog'] });
    const { a, b, upload } = await twoItems(h);
    const backlog = h.runtime.backlog;
    // Questions: technical tickets would feed the recurring-problem window, which could link them meanwhile.
    const d = await createTicket(h, 'SL', { category: 'question' });
    const e = await createTicket(h, 'SL', { category: 'question' });
    const stale = (await backlog.findItem(upload))!;
    const withD = (await backlog.link(upload, linkOf(d)))!;
    expect(withD.version).toBe(stale.version + 1);
    // Decided first on the record from before d's link: the commit finds the item moved on, the next attempt loads it.
    const withE = (await backlog.link(upload, linkOf(e), stale))!;
    expect(withE.version).toBe(withD.version + 1);
    expect(withE.state.context.links.map((l) => l.ticketId).sort()).toEqual([a, b, d, e].sort());
    // d split off: a record that still shows it linked does not stop it from being linked again.
    expect((await itemEvent(h, upload, 'ops-bremen', { type: 'UNMERGE', tickets: [d] })).statusCode).toBe(200);
    await settled(h);
    const relinked = (await backlog.link(upload, linkOf(d), withE))!;
    expect(relinked.state.context.links.map((l) => l.ticketId)).toContain(d);
    expect((await backlog.findItem(upload))!.state.context.links.map((l) => l.ticketId).sort()).toEqual([a, b, d, e].sort());
  });

  it("gives the feed the item this process holds while that is the latest (its version read, not the item), and the latest once another process changed it", async () => {
    const h = await open({ roles: ['relay', 'backlog'] });
    const { upload } = await twoItems(h);
    const backlog = h.runtime.backlog;
    // The same object back: not loaded and decoded again.
    const first = (await backlog.findItem(upload))!;
    expect(await backlog.findItem(upload)).toBe(first);
    // A link made here: the item it committed is the one held.
    const d = await createTicket(h, 'SL', { category: 'question' });
    const linked = (await backlog.link(upload, linkOf(d)))!;
    expect(linked.version).toBe(first.version + 1);
    expect(await backlog.findItem(upload)).toBe(linked);
    // Another process links a ticket: what this one holds is no longer the latest, and the item is loaded again.
    const other = await createRuntime({ config: loadConfig({ LOTSE_PREFIX: h.prefix, LOG_LEVEL: 'silent' }), redisUrl: redisUrl(), topology: defaultTopology, logger: createLogger('silent'), env: {} });
    try {
      const e = await createTicket(h, 'SL', { category: 'question' });
      const byOther = (await other.backlog.link(upload, linkOf(e)))!;
      expect(byOther.version).toBe(linked.version + 1);
      const found = (await backlog.findItem(upload))!;
      expect(found).not.toBe(linked);
      expect(found.version).toBe(byOther.version);
      expect(found.state.context.links.map((l) => l.ticketId)).toContain(e);
      expect(await backlog.findItem(upload)).toBe(found);
      // A decision over HTTP in this process: held as committed.
      expect((await itemEvent(h, upload, 'ops-bremen', { type: 'PRIORITIZE', rank: 1 })).statusCode).toBe(200);
      const prioritized = (await backlog.findItem(upload))!;
      expect(prioritized.version).toBe(found.version + 1);
      expect(prioritized.state.context).toMatchObject({ rank: 1 });
      expect(await backlog.findItem(upload)).toBe(prioritized);
    } finally {
      await other.close();
    }
  });

  it('holds an item it opened as committed, and believes nothing it holds once the connection was lost', async () => {
    // No workers: nothing else uses the connection while it is cut.
    const h = await open();
    const backlog = h.runtime.backlog;
    const opened = await backlog.createItem({ id: 'bi-kept-test', service: 'elfe', title: 'Termin online verschieben', description: '', links: [linkOf('T-kept')], text: backlog.analyse('elfe', 'Termin online verschieben') });
    expect(opened.created).toBe(true);
    expect(await backlog.findItem('bi-kept-test')).toBe(opened.record);
    // The connection lost (a Redis restart or failover may have lost the version held, and another process may have
    // written that version number anew since): what is held is not believed, the item is loaded again.
    const back = new Promise((resolve) => h.runtime.redis.once('ready', resolve));
    h.runtime.redis.disconnect(true);
    await back;
    const reloaded = (await backlog.findItem('bi-kept-test'))!;
    expect(reloaded).not.toBe(opened.record);
    expect(reloaded.version).toBe(opened.record.version);
    expect(await backlog.findItem('bi-kept-test')).toBe(reloaded);
  });

  it('tells every linked open ticket once when it ships, even when the notice runs again', async () => {
    const h = await open({ roles: ['relay', 'backlog'] });
    const { a, b, upload } = await twoItems(h);
    const app = await h.app();
    // b is closed before the item ships: it hears nothing.
    await app.inject({ method: 'POST', url: `/v1/tickets/${b}/events`, headers: bearer('desk-BY'), payload: { type: 'RESOLVE', resolution: 'erledigt' } });
    await app.inject({ method: 'POST', url: `/v1/tickets/${b}/events`, headers: bearer('desk-BY'), payload: { type: 'CLOSE' } });
    await itemEvent(h, upload, 'ops-bremen', { type: 'PRIORITIZE', rank: 1 });
    await itemEvent(h, upload, 'steuerungskreis', { type: 'ACCEPT' });
    await itemEvent(h, upload, 'steuerungskreis', { type: 'SCHEDULE', release: '2.4' });
    const done = await itemEvent(h, upload, 'ops-bremen', { type: 'COMPLETE' });
    expect(done.json()).toMatchObject({ status: 'done', release: '2.4' });

    const historyOf = async (id: string, desk: string) => (await app.inject({ method: 'GET', url: `/v1/tickets/${id}/history`, headers: bearer(desk) })).json().items as { type: string; details?: Record<string, unknown> }[];
    await waitFor(async () => (await historyOf(a, 'desk-HB')).some((e) => e.type === 'BACKLOG_DECIDED'), { what: 'the notice on the open ticket' });
    await settled(h);
    // The notice delivered again (a crash after its commit, before the job completed) applies nothing twice.
    const feed = feedOf(h);
    const version = (await item(h, upload)).json().version as number;
    expect(await feed.run({ type: 'notify', item: upload, version, ticketId: a, outcome: 'done', release: '2.4' })).toEqual({ applied: false });
    const notices = (await historyOf(a, 'desk-HB')).filter((e) => e.type === 'BACKLOG_DECIDED');
    expect(notices).toHaveLength(1);
    expect(notices[0]!.details).toMatchObject({ item: upload, outcome: 'done', release: '2.4', note: 'Umsetzung ausgeliefert in Release 2.4' });
    expect((await historyOf(b, 'desk-BY')).some((e) => e.type === 'BACKLOG_DECIDED')).toBe(false);
  });
});

describe('the cost report', () => {
  it('splits each budget to the cent across the participating Länder, with their tickets and items beside', async () => {
    const h = await open({ roles: ['relay', 'backlog'] });
    await createTicket(h, 'HB');
    await createTicket(h, 'HB');
    await createTicket(h, 'NW');
    const app = await h.app();
    const year = new Date().getUTCFullYear();
    const res = await app.inject({ method: 'GET', url: `/v1/reports/cost-split?year=${year}&service=elfe`, headers: bearer('steuerungskreis') });
    expect(res.statusCode, res.body).toBe(200);
    const [elfe] = res.json().services as { budgetCents: number; model: string; populationSource: { name: string; date: string }; shares: { land: string; cents: number; tickets: number }[] }[];
    expect(elfe!.model).toBe('population');
    expect(elfe!.populationSource).toMatchObject({ date: '2022-05-15' });
    expect(elfe!.shares).toHaveLength(16);
    expect(elfe!.shares.reduce((s, x) => s + x.cents, 0)).toBe(elfe!.budgetCents);
    const by = Object.fromEntries(elfe!.shares.map((s) => [s.land, s]));
    expect(by.NW!.cents).toBeGreaterThan(by.HB!.cents);
    expect([by.HB!.tickets, by.NW!.tickets, by.BY!.tickets]).toEqual([2, 1, 0]);
    // Tickets counted by an older Lotse (`created-year`, before 2026-12) add to those of the one counter now; another year's do not.
    await h.redis.multi().hincrby(h.runtime.keys.stats('created-year'), `${year}|elfe|HB`, 4).hincrby(h.runtime.keys.stats('created'), `${year - 1}|HB|elfe|P2`, 9).exec();
    const again = (await app.inject({ method: 'GET', url: `/v1/reports/cost-split?year=${year}&service=elfe`, headers: bearer('steuerungskreis') })).json();
    expect(again.services[0].shares.find((s: { land: string }) => s.land === 'HB').tickets).toBe(6);
    expectProblem(await app.inject({ method: 'GET', url: `/v1/reports/cost-split?year=${year}`, headers: bearer('desk-HB') }), 403);
    expectProblem(await app.inject({ method: 'GET', url: '/v1/reports/cost-split?year=abc', headers: bearer('ops-bremen') }), 400);
  });
});
