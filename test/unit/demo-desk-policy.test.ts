import { describe, expect, it } from 'vitest';
import { loadTopology } from '../../src/config/topology-file.js';
import { TicketEventInputSchema } from '../../src/domain/ticket.js';
import { chooseAllowed, decideNext, freshMemory, makePartOf, remember, type SeenTicket } from '../../src/demo/desk-policy.js';
import { createTicketGenerator, type TicketDraft } from '../../src/demo/generator.js';
import { readStats, renderProgress, zeroCounters } from '../../src/demo/progress.js';

import { seededRandom } from '../../src/seeded-random.js';

const topology = loadTopology(undefined);
const partOf = makePartOf(topology);
const gen = createTicketGenerator({ seed: 11, lands: [...topology.lands.values()], services: [...topology.services.keys()], perWorkday: 1200 });
const drafts = Array.from({ length: 400 }, () => gen.next());
const find = (ok: (d: TicketDraft) => boolean) => drafts.find(ok)!;
const question = find((d) => d.category === 'question' && d.service === 'elfe');
const improvement = find((d) => d.category === 'improvement');
const recurring = find((d) => d.problem !== undefined);
const at = (status: SeenTicket['status'], assignee: string | null, level: number | null = 1): SeenTicket => ({ status, assignee, level, land: 'BY' });

describe('what the simulated desks do next', () => {
  it('knows who is who: desks, offices, operations, and the providers it leaves to the provider simulators', () => {
    expect(['desk-HB', 'fach-BY', 'bescha', 'ops-bremen', 'dataport', 'it-NW', 'vendor-lc', 'steuerungskreis', 'nobody'].map(partOf)).toEqual([
      'desk', 'office', 'office', 'operations', 'provider', 'provider', 'provider', 'other', 'other',
    ]);
  });

  it('a holder the demo plays accepts a new ticket; a closed ticket is done', () => {
    const d = decideNext(at('new', 'desk-BY'), question, freshMemory(), seededRandom(1), partOf, 'desk-BY');
    expect(d.send).toMatchObject({ as: 'desk-BY', event: { type: 'ACCEPT' } });
    expect(d.againInMs).toBeGreaterThan(0);
    expect(decideNext(at('closed', null, null), question, freshMemory(), seededRandom(1), partOf, 'desk-BY')).toEqual({});
  });

  it('leaves tickets held by providers alone, but passes information on that a provider asked for', () => {
    const pending = decideNext(at('handoff-pending', 'dataport', 2), question, freshMemory(), seededRandom(1), partOf, 'desk-BY');
    expect(pending.send).toBeUndefined();
    expect(pending.againInMs).toBeGreaterThan(0);
    const sends = Array.from({ length: 50 }, (_, i) => decideNext(at('waiting', 'dataport', 2), question, freshMemory(), seededRandom(i), partOf, 'desk-BY').send);
    expect(sends.filter(Boolean).every((s) => s!.as === 'desk-BY' && s!.event.type === 'INFO_RECEIVED')).toBe(true);
    expect(sends.some(Boolean) && sends.some((s) => !s)).toBe(true);
  });

  it('the Land desk closes resolved tickets, and reopens a few, never twice', () => {
    const choices = Array.from({ length: 300 }, (_, i) => decideNext(at('resolved', null, null), question, freshMemory(), seededRandom(i), partOf, 'desk-BY').send!);
    expect(choices.every((c) => c.as === 'desk-BY')).toBe(true);
    const types = new Set(choices.map((c) => c.event.type));
    expect(types).toEqual(new Set(['CLOSE', 'REOPEN']));
    const reopened = remember(freshMemory(), { type: 'REOPEN', reason: 'x' });
    expect(Array.from({ length: 100 }, (_, i) => decideNext(at('resolved', null, null), question, reopened, seededRandom(i), partOf, 'desk-BY').send!.event.type).every((t) => t === 'CLOSE')).toBe(true);
  });

  it('suggests an improvement to the backlog before resolving an improvement ticket', () => {
    const first = decideNext(at('open', 'desk-BY'), improvement, freshMemory(), seededRandom(1), partOf, 'desk-BY');
    expect(first.send?.event).toEqual({ type: 'SUGGEST_IMPROVEMENT', title: improvement.improvement!.title, description: improvement.improvement!.description });
    const memory = remember(freshMemory(), first.send!.event);
    expect(decideNext(at('open', 'desk-BY'), improvement, memory, seededRandom(1), partOf, 'desk-BY').send?.event.type).toBe('RESOLVE');
  });

  it('escalates most recurring problems at the first level; operations resolve, return or escalate them', () => {
    const first = Array.from({ length: 200 }, (_, i) => decideNext(at('open', 'desk-BY'), recurring, freshMemory(), seededRandom(i), partOf, 'desk-BY').send!.event.type);
    expect(first.filter((t) => t === 'ESCALATE').length).toBeGreaterThan(first.length / 2);
    const ops = new Set(Array.from({ length: 300 }, (_, i) => decideNext(at('open', 'ops-bremen', 2), recurring, freshMemory(), seededRandom(i), partOf, 'desk-BY').send!.event.type));
    expect(ops).toEqual(new Set(['RESOLVE', 'RETURN', 'ESCALATE', 'SUGGEST_IMPROVEMENT']));
    const top = new Set(Array.from({ length: 300 }, (_, i) => decideNext(at('open', 'ops-bremen', 3), question, freshMemory(), seededRandom(i), partOf, 'desk-BY').send!.event.type));
    expect(top.has('ESCALATE')).toBe(false);
  });

  it('asks for information at most once, and every event it sends is one Lotse accepts the shape of', () => {
    const asked = remember(freshMemory(), { type: 'REQUEST_INFO', question: 'x' });
    for (const d of drafts) {
      for (const status of ['new', 'open', 'waiting', 'resolved'] as const) {
        const decision = decideNext(at(status, d.category === 'subject-matter' ? 'fach-BY' : 'desk-BY'), d, asked, seededRandom(d.n), partOf, 'desk-BY');
        if (decision.send) {
          expect(() => TicketEventInputSchema.parse(decision.send!.event)).not.toThrow();
          expect(decision.send.event.type).not.toBe('REQUEST_INFO');
        }
      }
    }
  });

  it('after a 409 picks one of the events Lotse names as allowed', () => {
    expect(chooseAllowed(['SUGGEST_IMPROVEMENT', 'RESOLVE', 'ESCALATE'], question, seededRandom(1))?.type).toBe('RESOLVE');
    expect(chooseAllowed(['CLOSE', 'REOPEN'], question, seededRandom(1))).toEqual({ type: 'CLOSE' });
    expect(chooseAllowed(['ASSIGN', 'CHANGE_PRIORITY'], question, seededRandom(1))).toBeUndefined();
  });
});

describe('the progress line', () => {
  it('shows created, open, resolved, breaches and handoffs, preferring the counts Lotse reports', () => {
    const counters = { ...zeroCounters(), created: 12, open: 7, resolved: 5, breached: 1, handoffs: 4, answered: 2 };
    expect(renderProgress({ officeMs: 3_900_000, counters, api: undefined, capped: undefined })).toBe(
      'Mo 09:05 · 12 Tickets angelegt · 7 offen · 5 gelöst · 1 SLA-Verstoß · 4 Übergaben (2 beantwortet)',
    );
    expect(renderProgress({ officeMs: 0, counters, api: { open: 30, breached: 9 }, capped: 'Obergrenze 2000 offene erreicht' })).toMatch(/30 offen · 5 gelöst · 9 SLA-Verstöße .* · Obergrenze 2000 offene erreicht$/);
  });

  it('shortens itself to fit a narrow terminal', () => {
    const counters = { ...zeroCounters(), created: 1234, open: 567, resolved: 890, breached: 12, handoffs: 345, answered: 300 };
    const short = renderProgress({ officeMs: 0, counters, api: undefined, capped: undefined }, 79);
    expect(short).toBe('Mo 08:00 1234 angelegt, 567 offen, 890 gelöst, 12 SLA-Verstöße, 345 Übergaben');
    expect(short.length).toBeLessThanOrEqual(79);
  });

  it('reads only what a stats document plainly holds', () => {
    const c = (count: number) => ({ count, list: '/v1/tickets' });
    expect(readStats({ tickets: { total: { all: c(9), active: c(5) }, sla: { 'at-risk': c(1), breached: c(2) }, status: { 'handoff-pending': c(4) } } })).toEqual({ open: 5, breached: 2, handoffsPending: 4 });
    expect(readStats({ tickets: { total: { active: { count: 'many' } } } })).toEqual({});
    expect(readStats({ open: 5 })).toEqual({});
  });
});
