/**
 * SLA clocks and timers inside the ticket machine: pauses, priority changes,
 * one timer at a time with increasing epochs, and snapshots that survive JSON.
 */
import { describe, it, expect } from 'vitest';
import { transition } from 'xstate';
import { businessMsBetween } from '../../src/domain/business-time.js';
import { runningClock, type ClockName } from '../../src/domain/sla.js';
import type { TicketEvent } from '../../machines/ticket.machine.js';
import {
  DAY, HOUR, MINUTE, OPERATOR, T0, accept, create, fire, machine, only, principal, send, stateOf, timerProblems, topology, world24x7,
  type Snap, type TicketMachine, type TicketSpec,
} from './ticket-fixtures.js';

const DESK_BY = principal('desk-BY');
const DATAPORT = principal('dataport');
const UVO_BY: TicketSpec = { service: 'uvo', land: 'BY', category: 'technical', createdBy: 'desk-BY', impact: 'low', urgency: 'low' };
const at = (ms: number) => T0 + ms;
const m24 = world24x7.machine;

const ev = {
  accept: (t: number): TicketEvent => ({ type: 'ACCEPT', at: t, actor: DESK_BY }),
  ask: (t: number): TicketEvent => ({ type: 'REQUEST_INFO', question: 'which form?', at: t, actor: DESK_BY }),
  answer: (t: number): TicketEvent => ({ type: 'INFO_RECEIVED', info: 'form B', at: t, actor: DESK_BY }),
  priority: (t: number, impact: 'low' | 'high', urgency: 'low' | 'high'): TicketEvent =>
    ({ type: 'CHANGE_PRIORITY', impact, urgency, reason: 'reassessed', at: t, actor: OPERATOR }),
};

const due = (s: Snap, name: ClockName) => runningClock(s.context.sla, name)!.dueAt;

/** Sends events in order, each one checked against the timer rules. */
function chain(start: Snap, events: TicketEvent[], m: TicketMachine = machine): Snap {
  let s = start;
  for (const e of events) {
    const step = accept(s, e, m);
    expect(timerProblems(s, e, step), `${e.type}`).toEqual([]);
    s = step.next;
  }
  return s;
}

describe('waiting for information pauses the clocks', () => {
  it('REQUEST_INFO pauses: no timer while waiting, the armed one cancelled', () => {
    const open = chain(create(UVO_BY, m24).snap, [ev.accept(at(10 * MINUTE))], m24);
    const armed = open.context.timer!;
    const step = accept(open, ev.ask(at(HOUR)), m24);
    expect(stateOf(step.next)).toBe('level1.waiting');
    expect(step.next.context.sla.pausedSince).toBe(at(HOUR));
    expect(step.effects).toEqual([{ type: 'cancelTimer', params: { epoch: armed.epoch } }]);
    expect(step.next.context.timer).toBeNull();
    // Nothing that happens while waiting arms a timer.
    for (const e of [ev.priority(at(2 * HOUR), 'high', 'high'), { type: 'SUGGEST_IMPROVEMENT', title: 't', description: 'd', at: at(2 * HOUR), actor: DESK_BY } as TicketEvent]) {
      const during = accept(step.next, e, m24);
      expect(only(during.effects, 'armTimer'), e.type).toEqual([]);
      expect(during.next.context.sla.pausedSince).toBe(at(HOUR));
    }
  });

  it('INFO_RECEIVED resumes and moves the resolution due time by exactly the pause (24x7)', () => {
    const open = chain(create(UVO_BY, m24).snap, [ev.accept(at(10 * MINUTE))], m24);
    const before = due(open, 'resolution');
    const resumed = chain(open, [ev.ask(at(HOUR)), ev.answer(at(5 * HOUR + 30 * MINUTE))], m24);
    expect(stateOf(resumed)).toBe('level1.open');
    expect(resumed.context.sla.pausedSince).toBeNull();
    expect(due(resumed, 'resolution') - before).toBe(4 * HOUR + 30 * MINUTE);
    expect(runningClock(resumed.context.sla, 'resolution')).toMatchObject({
      pausedMs: 4 * HOUR + 30 * MINUTE,
      pauses: [{ from: at(HOUR), to: at(5 * HOUR + 30 * MINUTE), businessMs: 4 * HOUR + 30 * MINUTE }],
    });
    expect(resumed.context.timer).toMatchObject({ kind: 'warning', clock: 'resolution' });
  });

  const deskBY = topology.calendarOf('desk-BY');
  it.each([
    ['within one working day (Tue 10:00–14:00)', '2026-03-03T10:00:00+01:00', '2026-03-03T14:00:00+01:00', 4 * HOUR],
    ['over a night (Tue 17:00–Wed 09:00)', '2026-03-03T17:00:00+01:00', '2026-03-04T09:00:00+01:00', 2 * HOUR],
    ['over a weekend (Fri 17:30–Mon 08:30)', '2026-03-06T17:30:00+01:00', '2026-03-09T08:30:00+01:00', HOUR],
  ])('a pause %s counts only the desk\'s business hours', (_what, from, to, businessMs) => {
    const open = chain(create(UVO_BY).snap, [ev.accept(at(10 * MINUTE))]);
    const before = due(open, 'resolution');
    const resumed = chain(open, [ev.ask(Date.parse(from)), ev.answer(Date.parse(to))]);
    expect(runningClock(resumed.context.sla, 'resolution')!.pausedMs).toBe(businessMs);
    expect(businessMsBetween(deskBY, before, due(resumed, 'resolution'))).toBe(businessMs);
  });
});

describe('CHANGE_PRIORITY recomputes due times and keeps the paused time', () => {
  const start = () => chain(create(UVO_BY, m24).snap, [ev.accept(at(10 * MINUTE))], m24);

  it('after a pause: P4 → P1 gives the P1 target plus the pause', () => {
    const s = chain(start(), [ev.ask(at(HOUR)), ev.answer(at(3 * HOUR)), ev.priority(at(3 * HOUR), 'high', 'high')], m24);
    expect(s.context.priority).toBe('P1');
    // The resolution clock started at T0: 4 h target + 2 h paused.
    expect(due(s, 'resolution')).toBe(at(6 * HOUR));
    expect(runningClock(s.context.sla, 'resolution')).toMatchObject({ target: 'PT4H', pausedMs: 2 * HOUR, priority: 'P1' });
  });

  it('during a pause: the pause still counts once it ends', () => {
    const s = chain(start(), [ev.ask(at(HOUR)), ev.priority(at(2 * HOUR), 'high', 'high'), ev.answer(at(3 * HOUR))], m24);
    expect(due(s, 'resolution')).toBe(at(6 * HOUR));
  });

  it('back and forth: P4 → P1 → P4 ends where it started', () => {
    const s0 = chain(start(), [ev.ask(at(HOUR)), ev.answer(at(3 * HOUR))], m24);
    const s = chain(s0, [ev.priority(at(3 * HOUR), 'high', 'high'), ev.priority(at(3 * HOUR), 'low', 'low')], m24);
    expect(due(s, 'resolution')).toBe(due(s0, 'resolution'));
    expect(due(s0, 'resolution')).toBe(at(10 * DAY + 2 * HOUR));
  });

  it('a tighter priority moves the armed timer to the nearer deadline, keeping its epoch', () => {
    const s = start();
    const step = accept(s, ev.priority(at(HOUR), 'high', 'high'), m24);
    expect(only(step.effects, 'cancelTimer')).toEqual([]);
    expect(only(step.effects, 'armTimer')).toEqual([]);
    // 80 % of the 4 h P1 resolution target, from T0.
    expect(only(step.effects, 'moveTimer')).toEqual([{ kind: 'warning', clock: 'resolution', at: at(3 * HOUR + 12 * MINUTE), epoch: s.context.timer!.epoch }]);
  });
});

describe('one timer at a time', () => {
  /** A long life: escalations, a pause, a handoff nobody answers, warnings and breaches, a reopen. */
  function life(): { events: TicketEvent[]; snaps: Snap[]; armed: number[]; live: number[][] } {
    let s = create(UVO_BY).snap;
    const snaps = [s];
    const events: TicketEvent[] = [];
    const armed = [s.context.timer!.epoch];
    let live = new Set(armed);
    const liveAfter: number[][] = [[...live]];
    const step = (e: TicketEvent | ((s: Snap) => TicketEvent)) => {
      const event = typeof e === 'function' ? e(s) : e;
      const r = accept(s, event);
      expect(timerProblems(s, event, r), event.type).toEqual([]);
      if ('epoch' in event && event.epoch !== undefined) live.delete(event.epoch);
      for (const c of only(r.effects, 'cancelTimer')) live.delete(c.epoch);
      for (const a of only(r.effects, 'armTimer')) {
        armed.push(a.epoch);
        live.add(a.epoch);
      }
      live = new Set(live);
      liveAfter.push([...live]);
      events.push(event);
      snaps.push((s = r.next));
    };
    step(fire); // first-response warning
    step({ type: 'ESCALATE', reason: 'r', at: at(2 * HOUR), actor: DESK_BY });
    step(fire); // receipt overdue: re-sent
    step({ type: 'ACCEPT', at: at(4 * HOUR), actor: DATAPORT });
    step({ type: 'REQUEST_INFO', at: at(5 * HOUR), actor: DATAPORT });
    step({ type: 'INFO_RECEIVED', at: at(DAY), actor: DESK_BY });
    step(fire); // resolution warning
    step(fire); // resolution breach (P4: notify)
    step({ type: 'RETURN', answer: 'a', at: at(20 * DAY), actor: DATAPORT });
    step({ type: 'RESOLVE', resolution: 'r', at: at(20 * DAY + HOUR), actor: DESK_BY });
    step({ type: 'REOPEN', reason: 'r', at: at(21 * DAY), actor: DESK_BY });
    step({ type: 'RESOLVE', resolution: 'r', at: at(21 * DAY + HOUR), actor: DESK_BY });
    step(fire); // reopen window over: closed
    return { events, snaps, armed, live: liveAfter };
  }

  it('every timer armed has the next epoch, and at most one is live after each step', () => {
    const { snaps, armed, live } = life();
    expect(stateOf(snaps[snaps.length - 1]!)).toBe('closed');
    expect(armed).toEqual(armed.map((_, i) => i + 1));
    // New epochs only at the start, after a firing and after a pause; every other change moves the armed timer.
    expect(armed.length).toBeGreaterThanOrEqual(5);
    expect(armed.length).toBeLessThan(snaps.length);
    live.forEach((l, i) => {
      expect(l, `after step ${i}`).toEqual(snaps[i]!.context.timer ? [snaps[i]!.context.timer!.epoch] : []);
    });
  });

  it('the breach of a P4 ticket is recorded once, on the holder that had the clock', () => {
    const { snaps } = life();
    expect(snaps[snaps.length - 1]!.context.sla.breaches).toMatchObject([{ clock: 'resolution', level: 2, holder: 'dataport' }]);
  });

  it('persisted snapshots survive JSON and continue identically', () => {
    const { events, snaps } = life();
    for (let i = 0; i < events.length; i++) {
      const stored = JSON.parse(JSON.stringify({ value: snaps[i]!.value, context: snaps[i]!.context })) as Pick<Snap, 'value' | 'context'>;
      const restored = machine.resolveState(stored);
      expect(stateOf(restored)).toBe(stateOf(snaps[i]!));
      expect(restored.can(events[i]!), `${events[i]!.type} after restore`).toBe(true);
      const [direct, directActions] = transition(machine, snaps[i]!, events[i]!);
      const [again, againActions] = transition(machine, restored, events[i]!);
      expect({ value: again.value, context: again.context, actions: againActions.map((a) => [a.type, a.params]) })
        .toEqual({ value: direct.value, context: direct.context, actions: directActions.map((a) => [a.type, a.params]) });
    }
  });

  it('a restored closed ticket is still done', () => {
    const { snaps } = life();
    const last = snaps[snaps.length - 1]!;
    const restored = machine.resolveState(JSON.parse(JSON.stringify({ value: last.value, context: last.context })) as Pick<Snap, 'value' | 'context'>);
    expect(restored.status).toBe('done');
    expect(send(restored, { type: 'REOPEN', reason: 'r', at: at(22 * DAY), actor: DESK_BY }).can).toBe(false);
  });
});
