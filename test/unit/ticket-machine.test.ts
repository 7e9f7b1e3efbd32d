/**
 * The ticket machine against the contract's events table: every reachable
 * state, every event type, every kind of sender. The expectation is written
 * down here (MAY and outcomeOf) from docs/reference/api.md, so a guard that
 * lets the wrong sender through, or refuses the right one, fails a case.
 */
import { describe, it, expect } from 'vitest';
import { getShortestPaths } from 'xstate/graph';
import { isOpenAt } from '../../src/domain/business-time.js';
import { routeTicket } from '../../src/domain/routing.js';
import type { Level } from '../../src/domain/topology.js';
import type { Timer, TicketEvent, TicketEventType } from '../../machines/ticket.machine.js';
import type { Actor } from '../../machines/ticket.policy.js';
import {
  EVENT_TYPES, MINUTE, OPERATOR, SYSTEM, T0, accept, create, inputOf, machine, policy, principal, send, stateOf, timerProblems, topology,
  type Effect, type Snap, type TicketSpec,
} from './ticket-fixtures.js';

type Status = 'new' | 'open' | 'waiting' | 'handoffPending' | 'resolved' | 'closed';
/** What a sender is to a ticket; one sender can be several (operations holding a ticket is holder and operator). */
type Cap = 'holder' | 'desk' | 'operator' | 'timer' | 'system';

const ALL_STATES = [
  ...[1, 2, 3].flatMap((l) => ['new', 'open', 'waiting', 'handoffPending'].map((s) => `level${l}.${s}`)),
  'resolved',
  'closed',
].sort();

/**
 * Who may send what from where (docs/reference/api.md, "The ticket's events").
 * `desk` is a desk of the ticket's Land or the desk that created it; `timer`
 * is the system firing the timer armed now (its epoch, its kind).
 * Design choices the contract leaves open, pinned here:
 * - a handoff not yet accepted is not in the provider's hand: it may ACCEPT
 *   or REJECT_HANDOFF, not escalate, return or resolve;
 * - ASSIGN (operators) and CHANGE_PRIORITY are Lotse's own, added to the
 *   first contract's events;
 * - SUGGEST_IMPROVEMENT: the first contract said "any holder"; desks and
 *   operators pass suggestions on too.
 */
const H = ['holder'] as const;
const HDO = ['holder', 'desk', 'operator'] as const;
const HDOS = ['holder', 'desk', 'operator', 'system'] as const;
const MAY: Record<TicketEventType, Partial<Record<Status, readonly Cap[]>>> = {
  ACCEPT: { new: H, handoffPending: H },
  REQUEST_INFO: { open: H },
  INFO_RECEIVED: { waiting: ['holder', 'desk'] },
  ESCALATE: { new: ['holder', 'operator'], open: ['holder', 'operator'], waiting: ['holder', 'operator'], handoffPending: ['operator'] },
  RETURN: { new: H, open: H, waiting: H },
  REJECT_HANDOFF: { handoffPending: H },
  RESOLVE: { new: H, open: H, waiting: H },
  REOPEN: { resolved: ['desk', 'operator'] },
  CLOSE: { resolved: ['desk', 'operator', 'timer'] },
  // A note for the history: whoever may speak about the ticket, and Lotse itself (mail from someone not the holder).
  NOTE: { new: HDOS, open: HDOS, waiting: HDOS, handoffPending: HDOS, resolved: HDOS },
  SUGGEST_IMPROVEMENT: { new: HDO, open: HDO, waiting: HDO, handoffPending: HDO, resolved: HDO },
  ASSIGN: { new: ['operator'], open: ['operator'], waiting: ['operator'], handoffPending: ['operator'] },
  CHANGE_PRIORITY: { new: HDO, open: HDO, waiting: HDO, handoffPending: HDO },
  SLA_WARNING: { new: ['timer'], open: ['timer'], waiting: ['timer'], handoffPending: ['timer'] },
  SLA_BREACHED: { new: ['timer'], open: ['timer'], waiting: ['timer'], handoffPending: ['timer'] },
  RECEIPT_OVERDUE: { handoffPending: ['timer'] },
  // Lotse's notice that a linked backlog item was decided: any ticket not closed records it.
  BACKLOG_DECIDED: { new: ['system'], open: ['system'], waiting: ['system'], handoffPending: ['system'], resolved: ['system'] },
};
/** Level limits: no level above 3 to escalate to, none below 1 to return to. */
const LEVEL_OK: Partial<Record<TicketEventType, (level: Level) => boolean>> = {
  ESCALATE: (l) => l < 3,
  RETURN: (l) => l > 1,
};

// ---------------------------------------------------------------------------
// The model: senders, events and the outcome the contract promises

const levelOf = (snap: Snap): Level | null => {
  const m = /^level(\d)/.exec(stateOf(snap));
  return m ? (Number(m[1]) as Level) : null;
};
const statusOf = (snap: Snap) => (stateOf(snap).split('.').pop() ?? '') as Status;
const takesHandoffs = (orgId: string) => ['it-provider', 'vendor-support'].includes(topology.orgs.get(orgId)?.kind ?? '');
const OPS = topology.operations;

/** The senders asked about in every state. SL takes part in no scenario. */
function sendersOf(snap: Snap): [string, Actor][] {
  const { assignee, facts, createdBy } = snap.context;
  const landDesk = [`desk-${facts.land}`, `fach-${facts.land}`].find((id) => id !== assignee)!;
  return [
    ['the holder', principal(assignee)],
    [`a desk of the Land (${landDesk})`, principal(landDesk)],
    [`the creating desk (${createdBy})`, principal(createdBy)],
    ['an unrelated desk', principal('desk-SL')],
    ['an unrelated provider', principal('it-SL')],
    ['an operator', OPERATOR],
    ['the system', SYSTEM],
  ];
}

/** The latest instant the ticket has seen: events are sent a minute after it. */
function nowOf(snap: Snap): number {
  const c = snap.context;
  const marks = [...c.sla.warnings, ...c.sla.breaches].map((m) => m.at);
  const clocks = c.sla.clocks.flatMap((k) => [k.startedAt, k.stoppedAt ?? 0]);
  return Math.max(c.createdAt, c.resolvedAt ?? 0, c.handoff?.requestedAt ?? 0, c.sla.pausedSince ?? 0, ...marks, ...clocks);
}

function eventFor(type: TicketEventType, actor: Actor, snap: Snap): TicketEvent {
  const timer = snap.context.timer;
  const at = Math.max(nowOf(snap), actor.type === 'system' ? (timer?.at ?? 0) : 0) + MINUTE;
  const epoch = timer?.epoch ?? snap.context.epoch;
  const clock = timer?.clock ?? 'resolution';
  const meta = { at, actor };
  switch (type) {
    case 'ACCEPT': case 'REQUEST_INFO': case 'INFO_RECEIVED':
      return { type, ...meta };
    case 'ESCALATE': case 'REJECT_HANDOFF': case 'REOPEN':
      return { type, reason: `${type} reason`, ...meta };
    case 'RETURN':
      return { type, answer: 'the answer', ...meta };
    case 'RESOLVE':
      return { type, resolution: 'done', ...meta };
    case 'CLOSE':
      return actor.type === 'system' ? { type, epoch, ...meta } : { type, ...meta };
    case 'NOTE':
      return { type, text: 'a note', ...meta };
    case 'SUGGEST_IMPROVEMENT':
      return { type, title: 'idea', description: 'better form', ...meta };
    case 'ASSIGN':
      return { type, assignee: OPS, reason: 'operations takes it', ...meta };
    case 'CHANGE_PRIORITY':
      return { type, impact: 'high', urgency: 'high', reason: 'urgent', ...meta };
    case 'SLA_WARNING': case 'SLA_BREACHED':
      return { type, clock, epoch, ...meta };
    case 'RECEIPT_OVERDUE':
      return { type, epoch, ...meta };
    case 'BACKLOG_DECIDED':
      return { type, item: 'B01', outcome: 'done', release: '2.4', ...meta };
  }
}

const TIMER_EVENT: Record<Timer['kind'], TicketEventType> = { warning: 'SLA_WARNING', breach: 'SLA_BREACHED', receipt: 'RECEIPT_OVERDUE', autoClose: 'CLOSE' };

function capsOf(actor: Actor, event: TicketEvent, snap: Snap): Set<Cap> {
  const { assignee, facts, createdBy, timer } = snap.context;
  const caps = new Set<Cap>();
  if (actor.type === 'system') {
    caps.add('system');
    const sameClock = !('clock' in event) || event.clock === timer?.clock;
    if (timer && 'epoch' in event && event.epoch === timer.epoch && TIMER_EVENT[timer.kind] === event.type && sameClock) caps.add('timer');
    return caps;
  }
  if (actor.orgId === assignee) caps.add('holder');
  if (actor.role === 'desk' && (actor.land === facts.land || actor.orgId === createdBy)) caps.add('desk');
  if (actor.role === 'operator') caps.add('operator');
  return caps;
}

interface Outcome {
  can: boolean;
  state: string;
  assignee: string;
  effects: string[];
}

const describeEffect = (e: Effect): string | null => {
  switch (e.type) {
    case 'handOff': { const p = e.params as Effect<'handOff'>['params']; return `handOff ${p.orgId} #${p.attempt}`; }
    case 'withdrawHandoff': return `withdrawHandoff ${(e.params as Effect<'withdrawHandoff'>['params']).orgId}`;
    case 'notify': { const p = e.params as Effect<'notify'>['params']; return `notify ${p.reason} about ${p.holder} to ${p.audience.join('+')}`; }
    case 'suggestImprovement': return `suggestImprovement ${(e.params as Effect<'suggestImprovement'>['params']).title}`;
    default: return null; // timers: checked by timerProblems
  }
};

/** Who held `level` last on the way to this state (the walk's own record, not the machine's). */
function lastHolderAt(path: Snap[], level: Level): string {
  const held = path.filter((s) => levelOf(s) === level);
  return held[held.length - 1]!.context.assignee;
}

/** The change of holder: the old provider learns it moved away, a provider taking over gets a handoff. */
function moveTo(from: string, to: string): string[] {
  return [...(from !== to && takesHandoffs(from) ? [`withdrawHandoff ${from}`] : []), ...(takesHandoffs(to) ? [`handOff ${to} #1`] : [])];
}

function outcomeOf(path: Snap[], event: TicketEvent, caps: Set<Cap>): Outcome {
  const snap = path[path.length - 1]!;
  const { assignee, facts, handoff, priority } = snap.context;
  const level = levelOf(snap);
  const status = statusOf(snap);
  const stay: Outcome = { can: false, state: stateOf(snap), assignee, effects: [] };
  const allowed = (MAY[event.type][status] ?? []).some((c) => caps.has(c))
    && (level === null || (LEVEL_OK[event.type]?.(level) ?? true))
    && !(event.type === 'ASSIGN' && event.assignee === assignee);
  if (!allowed) return stay;
  const ok = (state: string, to = assignee, effects: string[] = []): Outcome => ({ can: true, state, assignee: to, effects });
  const up = () => {
    const to = routeTicket(topology, facts, (level! + 1) as Level).orgId;
    return ok(`level${level! + 1}.${takesHandoffs(to) ? 'handoffPending' : 'new'}`, to, moveTo(assignee, to));
  };
  const opsNotice = (reason: string) => `notify ${reason} about ${assignee} to ${OPS}`;
  const holderNotice = (reason: string) => `notify ${reason} about ${assignee} to ${[...new Set([assignee, OPS])].join('+')}`;
  switch (event.type) {
    case 'ACCEPT': case 'INFO_RECEIVED': return ok(`level${level}.open`);
    case 'REQUEST_INFO': return ok(`level${level}.waiting`);
    case 'ESCALATE': return up();
    case 'RETURN': { const to = lastHolderAt(path, (level! - 1) as Level); return ok(`level${level! - 1}.open`, to, moveTo(assignee, to)); }
    case 'REJECT_HANDOFF': return ok(`level${level}.open`, OPS, [opsNotice('handoff-returned')]);
    case 'RESOLVE': return ok('resolved');
    case 'REOPEN': { const to = lastHolderAt(path, 1); return ok('level1.open', to, moveTo(assignee, to)); }
    case 'CLOSE': return ok('closed');
    case 'SUGGEST_IMPROVEMENT': return ok(stay.state, assignee, ['suggestImprovement idea']);
    case 'ASSIGN': return ok(`level${level}.${takesHandoffs(event.assignee) ? 'handoffPending' : 'new'}`, event.assignee, moveTo(assignee, event.assignee));
    case 'CHANGE_PRIORITY': return ok(stay.state);
    case 'NOTE': return ok(stay.state);
    case 'SLA_WARNING': return ok(stay.state, assignee, [holderNotice('sla-warning')]);
    case 'SLA_BREACHED':
      return policy.policy(priority).onBreach === 'escalate' && level! < 3 ? up() : ok(stay.state, assignee, [holderNotice('sla-breach')]);
    case 'RECEIPT_OVERDUE':
      return handoff!.attempts >= 2
        ? ok(`level${level}.open`, OPS, [opsNotice('receipt-overdue'), `withdrawHandoff ${assignee}`])
        : ok(stay.state, assignee, [`handOff ${assignee} #${handoff!.attempts + 1}`, opsNotice('receipt-overdue')]);
    case 'BACKLOG_DECIDED': return ok(stay.state);
  }
}

// ---------------------------------------------------------------------------
// The walk: shortest paths to every state the senders can bring a ticket to

/** The moves that change where a ticket is; the walk keeps one path per (state, holder, attempts, timer kind). */
function walkEvents(snap: Snap): TicketEvent[] {
  const holder = principal(snap.context.assignee);
  const landDesk = principal(`fach-${snap.context.facts.land}`);
  const holderMoves: TicketEventType[] = ['ACCEPT', 'REQUEST_INFO', 'INFO_RECEIVED', 'ESCALATE', 'RETURN', 'REJECT_HANDOFF', 'RESOLVE'];
  const events = [
    ...holderMoves.map((t) => eventFor(t, holder, snap)),
    eventFor('ESCALATE', OPERATOR, snap),
    eventFor('ASSIGN', OPERATOR, snap),
    { ...eventFor('ASSIGN', OPERATOR, snap), assignee: 'dataport' } as TicketEvent,
    eventFor('REOPEN', landDesk, snap),
    eventFor('CLOSE', landDesk, snap),
  ];
  const timer = snap.context.timer;
  if (timer) events.push(eventFor(TIMER_EVENT[timer.kind], SYSTEM, snap));
  return events;
}

/**
 * Event sequences from the graph's shortest paths, replayed from the start:
 * the graph keeps one snapshot per serialized state, which need not be the
 * one its path leads to, so each path's snapshots are rebuilt here.
 */
function walk(spec: TicketSpec): Snap[][] {
  const paths = getShortestPaths(machine, {
    input: inputOf(spec),
    events: walkEvents,
    serializeState: (s) =>
      `${stateOf(s)} ${s.context.assignee} ${s.context.handoff?.attempts ?? 0} ${s.context.timer?.kind ?? '-'}`,
  });
  return paths.map((p) => {
    const snaps = [create(spec).snap];
    for (const step of p.steps.slice(1)) snaps.push(accept(snaps[snaps.length - 1]!, step.event as TicketEvent).next);
    return snaps;
  });
}

const SCENARIOS: [string, TicketSpec][] = [
  ['uvo from BY, P4, taken by 115 Hessen', { service: 'uvo', land: 'BY', category: 'technical', createdBy: 'desk-HE', impact: 'low', urgency: 'low' }],
  ['uvo from BY, P1', { service: 'uvo', land: 'BY', category: 'technical', createdBy: 'desk-BY', impact: 'high', urgency: 'high' }],
  ['Lieferantencockpit from NW, P3, by its vendor desk', { service: 'lieferantencockpit', land: 'NW', category: 'question', createdBy: 'vendor-lc', impact: 'medium', urgency: 'medium' }],
  ['VMS subject-matter question from HB, P2', { service: 'vms', land: 'HB', category: 'subject-matter', createdBy: 'desk-HB', impact: 'high', urgency: 'medium' }],
];

describe('ticket machine: who may send what from where', () => {
  const walks = SCENARIOS.map(([name, spec]) => [name, walk(spec)] as const);

  it('the walk of every scenario reaches all 14 states', () => {
    for (const [name, paths] of walks) {
      expect([...new Set(paths.map((p) => stateOf(p[p.length - 1]!)))].sort(), name).toEqual(ALL_STATES);
    }
  });

  describe.each(walks)('%s', (_name, paths) => {
    it.each(paths.map((p) => [`${stateOf(p[p.length - 1]!)} held by ${p[p.length - 1]!.context.assignee}, timer ${p[p.length - 1]!.context.timer?.kind ?? 'none'}`, p] as const))(
      'from %s, every event from every sender',
      (_label, path) => {
        const snap = path[path.length - 1]!;
        const wrong: string[] = [];
        const timers: string[] = [];
        for (const type of EVENT_TYPES) {
          for (const [who, actor] of sendersOf(snap)) {
            const event = eventFor(type, actor, snap);
            const step = send(snap, event);
            const actual: Outcome = {
              can: step.can,
              state: stateOf(step.next),
              assignee: step.next.context.assignee,
              effects: step.effects.map(describeEffect).filter((e): e is string => e !== null).sort(),
            };
            const want = outcomeOf(path, event, capsOf(actor, event, snap));
            const expected = { ...want, effects: [...want.effects].sort() };
            const [a, e] = [JSON.stringify(actual), JSON.stringify(expected)];
            if (a !== e) wrong.push(`${type} by ${who}: expected ${e}, got ${a}`);
            timers.push(...timerProblems(snap, event, step).map((p) => `${type} by ${who}: ${p}`));
          }
        }
        expect({ wrong, timers }).toEqual({ wrong: [], timers: [] });
      },
    );
  });
});

describe('ticket machine: a closed ticket', () => {
  it('takes no event from anyone', () => {
    const closed = walk(SCENARIOS[0]![1]).find((p) => stateOf(p[p.length - 1]!) === 'closed')!;
    const snap = closed[closed.length - 1]!;
    expect(snap.status).toBe('done');
    for (const type of EVENT_TYPES) {
      for (const [who, actor] of sendersOf(snap)) {
        const step = send(snap, eventFor(type, actor, snap));
        expect({ who, type, can: step.can, effects: step.effects }).toEqual({ who, type, can: false, effects: [] });
      }
    }
  });
});

it('the walk starts at a time every organisation is open: Tuesday 3 March 2026, 09:00 in Berlin', () => {
  expect(new Date(T0).toISOString()).toBe('2026-03-03T08:00:00.000Z');
  for (const org of topology.orgs.values()) expect(isOpenAt(org.calendar, T0), org.id).toBe(true);
});
