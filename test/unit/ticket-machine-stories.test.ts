/**
 * Ticket stories from the contract, step by step through the pure machine:
 * the state, the holder and every effect the machine asks for.
 */
import { describe, it, expect } from 'vitest';
import type { TicketEvent } from '../../machines/ticket.machine.js';
import {
  DAY, HOUR, MINUTE, OPERATOR, SYSTEM, T0, accept, create, fire, fireUntil, only, principal, send, stateOf, timerProblems,
  type Effect, type Snap, type TicketSpec,
} from './ticket-fixtures.js';

const DESK_BY = principal('desk-BY');
const FACH_BY = principal('fach-BY');
const DATAPORT = principal('dataport');
const IT_BY = principal('it-BY');

const UVO_BY: TicketSpec = { service: 'uvo', land: 'BY', category: 'technical', createdBy: 'desk-BY', impact: 'low', urgency: 'low' };

/** The effects other than timers, which the timer checks look at. */
const moves = (effects: Effect[]) => effects.filter((e) => e.type !== 'armTimer' && e.type !== 'moveTimer' && e.type !== 'cancelTimer');

type Row = [what: string, event: (s: Snap) => TicketEvent, state: string, assignee: string, effects: Effect[]];

/** Plays a story row by row; each row names the state, the holder and the non-timer effects it expects. */
function play(start: Snap, rows: Row[]): Snap {
  let snap = start;
  for (const [what, make, state, assignee, effects] of rows) {
    const event = make(snap);
    const step = accept(snap, event);
    expect({ what, state: stateOf(step.next), assignee: step.next.context.assignee, effects: moves(step.effects) })
      .toEqual({ what, state, assignee, effects });
    expect(timerProblems(snap, event, step), what).toEqual([]);
    snap = step.next;
  }
  return snap;
}

const at = (ms: number) => T0 + ms;

/** desk-BY → Dataport → it-BY → Dataport → desk-BY → resolved, with what each step must hand off or withdraw. */
const JOURNEY: Row[] = [
  ['desk escalates', () => ({ type: 'ESCALATE', reason: 'Upload fails', at: at(10 * MINUTE), actor: DESK_BY }),
    'level2.handoffPending', 'dataport', [{ type: 'handOff', params: { orgId: 'dataport', attempt: 1, reason: 'escalated' } }]],
  ['Dataport accepts', () => ({ type: 'ACCEPT', at: at(20 * MINUTE), actor: DATAPORT }), 'level2.open', 'dataport', []],
  ['Dataport escalates to the Land IT', () => ({ type: 'ESCALATE', reason: 'messaging hub', at: at(HOUR), actor: DATAPORT }),
    'level3.handoffPending', 'it-BY', [
      { type: 'withdrawHandoff', params: { orgId: 'dataport', reason: 'escalated' } },
      { type: 'handOff', params: { orgId: 'it-BY', attempt: 1, reason: 'escalated' } },
    ]],
  ['it-BY accepts', () => ({ type: 'ACCEPT', at: at(90 * MINUTE), actor: IT_BY }), 'level3.open', 'it-BY', []],
  ['it-BY returns to Dataport', () => ({ type: 'RETURN', answer: 'hub fixed', at: at(2 * HOUR), actor: IT_BY }),
    'level2.open', 'dataport', [
      { type: 'withdrawHandoff', params: { orgId: 'it-BY', reason: 'returned' } },
      { type: 'handOff', params: { orgId: 'dataport', attempt: 1, reason: 'returned' } },
    ]],
  ['Dataport returns to the desk', () => ({ type: 'RETURN', answer: 'please resubmit', at: at(3 * HOUR), actor: DATAPORT }),
    'level1.open', 'desk-BY', [{ type: 'withdrawHandoff', params: { orgId: 'dataport', reason: 'returned' } }]],
  ['desk resolves', () => ({ type: 'RESOLVE', resolution: 'resubmitted', at: at(4 * HOUR), actor: DESK_BY }), 'resolved', 'desk-BY', []],
];

describe('a uvo ticket from Bavaria travels up to level 3 and back', () => {
  const resolvedAt = at(4 * HOUR);
  const journey = () => play(create(UVO_BY).snap, JOURNEY);

  it('starts at level 1 with the Bavarian desk, one timer armed', () => {
    const { snap: created, effects } = create(UVO_BY);
    expect(stateOf(created)).toBe('level1.new');
    expect(created.context).toMatchObject({ level: 1, assignee: 'desk-BY', holders: { 1: 'desk-BY' }, handledBy: ['desk-BY'], priority: 'P4' });
    expect(effects.map((e) => e.type)).toEqual(['armTimer']);
    expect(only(effects, 'armTimer')[0]).toMatchObject({ epoch: 1, kind: 'warning', clock: 'firstResponse' });
  });

  it('hands off, withdraws and returns at each step', () => {
    expect(stateOf(journey())).toBe('resolved');
  });

  it('remembers every holder and level on the way', () => {
    const resolved = journey();
    expect(resolved.context).toMatchObject({
      holders: { 1: 'desk-BY', 2: 'dataport', 3: 'it-BY' },
      handledBy: ['desk-BY', 'dataport', 'it-BY'],
      resolvedAt,
      handoff: null,
    });
    expect(resolved.context.sla.clocks.every((c) => c.stoppedAt !== null)).toBe(true);
    expect(resolved.context.timer).toMatchObject({ kind: 'autoClose', at: resolvedAt + 14 * DAY });
  });

  it.each([
    ['the desk, on the last day of the window', DESK_BY, 14 * DAY, true],
    ['an operator, a day after resolving', OPERATOR, DAY, true],
    ['the desk, a minute after the window', DESK_BY, 14 * DAY + MINUTE, false],
    ['a desk of another Land', principal('desk-NW'), DAY, false],
    ['the provider that worked on it', DATAPORT, DAY, false],
  ] as const)('REOPEN by %s: taken %s', (_who, actor, after, taken) => {
    const step = send(journey(), { type: 'REOPEN', reason: 'still broken', at: resolvedAt + after, actor });
    expect(step.can).toBe(taken);
    expect(stateOf(step.next)).toBe(taken ? 'level1.open' : 'resolved');
    if (taken) {
      expect(step.next.context).toMatchObject({ assignee: 'desk-BY', level: 1, resolvedAt: null });
      // Reopened, not new: only the resolution clock runs again.
      expect(step.next.context.sla.clocks.filter((c) => c.stoppedAt === null).map((c) => c.name)).toEqual(['resolution']);
    }
  });

  it('closes by a desk of the Land, and then takes nothing', () => {
    const closed = play(journey(), [['desk closes', () => ({ type: 'CLOSE', at: at(5 * HOUR), actor: FACH_BY }), 'closed', 'desk-BY', []]]);
    expect(closed.status).toBe('done');
    expect(closed.context.timer).toBeNull();
    for (const event of [
      { type: 'REOPEN', reason: 'x', at: at(6 * HOUR), actor: DESK_BY },
      { type: 'CLOSE', at: at(6 * HOUR), actor: OPERATOR },
      { type: 'SUGGEST_IMPROVEMENT', title: 't', description: 'd', at: at(6 * HOUR), actor: DESK_BY },
    ] as TicketEvent[]) {
      expect(send(closed, event).can, event.type).toBe(false);
    }
  });

  it('closes by the system when the reopen window ends', () => {
    const resolved = journey();
    const step = accept(resolved, fire(resolved));
    expect(stateOf(step.next)).toBe('closed');
    expect(step.next.context.closedAt).toBe(resolvedAt + 14 * DAY);
    expect(step.effects).toEqual([]);
  });
});

describe('where a ticket starts', () => {
  it.each([
    ['a Lieferantencockpit question: the vendor desk, as a handoff', { service: 'lieferantencockpit', land: 'NW', category: 'question', createdBy: 'desk-NW' },
      'level1.handoffPending', 'vendor-lc', [{ type: 'handOff', params: { orgId: 'vendor-lc', attempt: 1, reason: 'created' } }]],
    ['a PQ-Portal question: the vendor desk, as a handoff', { service: 'pq-portal', land: 'SN', category: 'technical', createdBy: 'desk-SN' },
      'level1.handoffPending', 'vendor-pq', [{ type: 'handOff', params: { orgId: 'vendor-pq', attempt: 1, reason: 'created' } }]],
    ['a subject-matter uvo question from HB: the Bremen Fachstelle', { service: 'uvo', land: 'HB', category: 'subject-matter', createdBy: 'desk-HB' },
      'level1.new', 'fach-HB', []],
    ['a uvo question from HB: the Bremen desk', { service: 'uvo', land: 'HB', category: 'question', createdBy: 'desk-HB' }, 'level1.new', 'desk-HB', []],
    ['a Datenservice question: BeschA', { service: 'datenservice-einkauf', land: 'BE', category: 'question', createdBy: 'desk-BE' }, 'level1.new', 'bescha', []],
  ] as const)('%s', (_what, place, state, assignee, effects) => {
    const { snap, effects: actual } = create({ ...place, impact: 'medium', urgency: 'medium' });
    expect({ state: stateOf(snap), assignee: snap.context.assignee, level: snap.context.level, effects: moves(actual) })
      .toEqual({ state, assignee, level: 1, effects });
    expect(snap.context.handoff !== null).toBe(state === 'level1.handoffPending');
  });

  it('starts the clocks when the desk took the request, not when it was entered', () => {
    const { snap } = create({ ...UVO_BY, receivedAt: T0, at: at(2 * HOUR) });
    expect(snap.context).toMatchObject({ receivedAt: T0, createdAt: at(2 * HOUR) });
    expect(snap.context.sla.clocks.map((c) => [c.name, c.startedAt])).toEqual([['firstResponse', T0], ['resolution', T0]]);
  });

  it('gives a vendor its receipt time from the handoff, even for a request taken days before', () => {
    // Taken on Friday, entered on Tuesday 09:00: the SLA clocks run since Friday, the handoff leaves now.
    const friday = Date.parse('2026-02-27T10:00:00+01:00');
    const { snap } = create({ service: 'lieferantencockpit', land: 'NW', category: 'question', createdBy: 'desk-NW', impact: 'low', urgency: 'low', receivedAt: friday, at: T0 });
    expect(snap.context.sla.clocks.map((c) => c.startedAt)).toEqual([friday, friday]);
    expect(snap.context.handoff).toEqual({ orgId: 'vendor-lc', requestedAt: T0, attempts: 1, receiptDueAt: at(HOUR) });
    // The first-response warning, counted from Friday, is already due: the desk's delay counts.
    expect(snap.context.timer).toMatchObject({ kind: 'warning', clock: 'firstResponse' });
    expect(snap.context.timer!.at).toBeLessThan(T0);
  });
});

describe('handoffs the provider does not take', () => {
  const escalate = () => accept(create(UVO_BY).snap, { type: 'ESCALATE', reason: 'bug', at: at(MINUTE), actor: DESK_BY }).next;

  it('REJECT_HANDOFF hands the ticket to operations at the same level, open, without a withdrawal', () => {
    play(escalate(), [
      ['Dataport rejects', () => ({ type: 'REJECT_HANDOFF', reason: 'not our component', at: at(10 * MINUTE), actor: DATAPORT }),
        'level2.open', 'ops-bremen', [{ type: 'notify', params: { reason: 'handoff-returned', holder: 'dataport', audience: ['ops-bremen'] } }]],
    ]);
  });

  it('REJECT_HANDOFF by the vendor desk at level 1 goes to operations at level 1', () => {
    const lc = create({ service: 'lieferantencockpit', land: 'NW', category: 'question', createdBy: 'desk-NW', impact: 'low', urgency: 'low' }).snap;
    const step = accept(lc, { type: 'REJECT_HANDOFF', reason: 'wrong product', at: at(MINUTE), actor: principal('vendor-lc') });
    expect({ state: stateOf(step.next), assignee: step.next.context.assignee }).toEqual({ state: 'level1.open', assignee: 'ops-bremen' });
  });

  it('RECEIPT_OVERDUE first re-sends the handoff, then moves the ticket to operations', () => {
    // P4: the SLA deadlines are days away, so the receipt (1 business hour) is the armed timer.
    const escalated = escalate();
    expect(escalated.context.timer).toMatchObject({ kind: 'receipt', at: at(MINUTE + HOUR) });
    const resent = play(escalated, [
      ['no receipt', (s) => fire(s), 'level2.handoffPending', 'dataport', [
        { type: 'handOff', params: { orgId: 'dataport', attempt: 2, reason: 'no receipt yet' } },
        { type: 'notify', params: { reason: 'receipt-overdue', holder: 'dataport', audience: ['ops-bremen'] } },
      ]],
    ]);
    expect(resent.context.handoff).toMatchObject({ orgId: 'dataport', attempts: 2, receiptDueAt: at(MINUTE + 2 * HOUR) });
    expect(resent.context.timer).toMatchObject({ kind: 'receipt', at: at(MINUTE + 2 * HOUR), epoch: escalated.context.timer!.epoch + 1 });
    // The first timer fired once; firing it again is stale.
    expect(send(resent, fire(escalated)).can).toBe(false);
    const moved = play(resent, [
      ['still no receipt', (s) => fire(s), 'level2.open', 'ops-bremen', [
        { type: 'notify', params: { reason: 'receipt-overdue', holder: 'dataport', audience: ['ops-bremen'] } },
        { type: 'withdrawHandoff', params: { orgId: 'dataport', reason: 'no receipt' } },
      ]],
    ]);
    expect(moved.context).toMatchObject({ level: 2, handoff: null, holders: { 2: 'ops-bremen' } });
  });

  it('an ACCEPT ends the wait for a receipt', () => {
    const escalated = escalate();
    const step = accept(escalated, { type: 'ACCEPT', at: at(30 * MINUTE), actor: DATAPORT });
    expect(step.next.context.handoff).toBeNull();
    expect(step.next.context.timer?.kind).not.toBe('receipt');
    expect(send(step.next, fire(escalated)).can).toBe(false);
  });
});

describe('timer events', () => {
  const ticket = create(UVO_BY).snap;
  const timer = ticket.context.timer!;

  it.each([
    ['the current epoch, from the system', { epoch: timer.epoch, actor: SYSTEM }, true],
    ['a stale epoch', { epoch: timer.epoch - 1, actor: SYSTEM }, false],
    ['a future epoch', { epoch: timer.epoch + 1, actor: SYSTEM }, false],
    ['the current epoch, from the holder', { epoch: timer.epoch, actor: DESK_BY }, false],
    ['the current epoch, from an operator', { epoch: timer.epoch, actor: OPERATOR }, false],
    ['the current epoch, for the other clock', { epoch: timer.epoch, actor: SYSTEM, clock: 'resolution' }, false],
  ] as const)('SLA_WARNING with %s: taken %s', (_what, fields, taken) => {
    const event = { type: 'SLA_WARNING', clock: timer.clock!, at: timer.at, ...fields } as TicketEvent;
    expect(send(ticket, event).can).toBe(taken);
  });

  it.each([
    ['SLA_BREACHED', { type: 'SLA_BREACHED', clock: 'firstResponse' }],
    ['RECEIPT_OVERDUE', { type: 'RECEIPT_OVERDUE' }],
    ['CLOSE', { type: 'CLOSE' }],
  ] as const)('%s with the epoch of a warning timer is refused', (_type, fields) => {
    expect(send(ticket, { ...fields, epoch: timer.epoch, at: timer.at, actor: SYSTEM } as TicketEvent).can).toBe(false);
  });
});

describe('SLA breaches', () => {
  const breachOf = (spec: TicketSpec) => fireUntil(create(spec).snap, 'breach');

  it('P1 (onBreach escalate): the breach escalates one level, to a handoff', () => {
    const before = breachOf({ ...UVO_BY, impact: 'high', urgency: 'high' });
    expect(before.context.timer).toMatchObject({ kind: 'breach', clock: 'firstResponse', at: at(30 * MINUTE) });
    const step = accept(before, fire(before));
    expect({ state: stateOf(step.next), assignee: step.next.context.assignee, effects: moves(step.effects) }).toEqual({
      state: 'level2.handoffPending',
      assignee: 'dataport',
      effects: [{ type: 'handOff', params: { orgId: 'dataport', attempt: 1, reason: 'SLA breached' } }],
    });
    expect(step.next.context.sla.breaches).toEqual([{ clock: 'firstResponse', level: 1, holder: 'desk-BY', at: at(30 * MINUTE), dueAt: at(30 * MINUTE) }]);
    expect(step.next.context.sla.warnings).toHaveLength(1);
  });

  it.each([
    ['P3', 'medium', 'medium'],
    ['P4', 'low', 'low'],
  ] as const)('%s (onBreach notify): the breach is recorded and notified, the ticket stays', (priority, impact, urgency) => {
    const before = breachOf({ ...UVO_BY, impact, urgency });
    expect(before.context.priority).toBe(priority);
    const step = accept(before, fire(before));
    expect({ state: stateOf(step.next), assignee: step.next.context.assignee, effects: moves(step.effects) }).toEqual({
      state: 'level1.new',
      assignee: 'desk-BY',
      effects: [{ type: 'notify', params: { reason: 'sla-breach', clock: 'firstResponse', holder: 'desk-BY', audience: ['desk-BY', 'ops-bremen'] } }],
    });
    expect(step.next.context.sla.breaches).toMatchObject([{ clock: 'firstResponse', level: 1, holder: 'desk-BY' }]);
    // The next deadline is the resolution clock's warning.
    expect(step.next.context.timer).toMatchObject({ kind: 'warning', clock: 'resolution' });
  });

  it('P1 at level 3 cannot escalate further: it notifies', () => {
    let s = create({ ...UVO_BY, impact: 'high', urgency: 'high' }).snap;
    s = accept(s, { type: 'ESCALATE', reason: 'r', at: at(MINUTE), actor: DESK_BY }).next;
    s = accept(s, { type: 'ACCEPT', at: at(2 * MINUTE), actor: DATAPORT }).next;
    s = accept(s, { type: 'ESCALATE', reason: 'r', at: at(3 * MINUTE), actor: DATAPORT }).next;
    s = accept(s, { type: 'ACCEPT', at: at(4 * MINUTE), actor: IT_BY }).next;
    s = fireUntil(s, 'breach');
    const step = accept(s, fire(s));
    expect(stateOf(step.next)).toBe('level3.open');
    expect(only(step.effects, 'notify')).toMatchObject([{ reason: 'sla-breach', holder: 'it-BY' }]);
  });
});
