/**
 * Shared by the ticket machine tests: the default topology, a machine built
 * from it, actors, and small helpers that drive the machine through the pure
 * `initialTransition` / `transition` functions.
 */
import { initialTransition, transition, type SnapshotFrom } from 'xstate';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { devRoleFor } from '../../src/domain/access.js';
import type { LandCode } from '../../src/domain/ids.js';
import { createTicketPolicy } from '../../src/domain/ticket-policy.js';
import type { Category } from '../../src/domain/ticket.js';
import { compileTopology, TopologySchema, type Grade, type Role, type Topology, type TopologyInput } from '../../src/domain/topology.js';
import {
  createTicketMachine,
  timerEvent,
  type EffectParams,
  type MachineEffectType,
  type TicketEvent,
  type TicketEventType,
} from '../../machines/ticket.machine.js';
import { nextDeadline } from '../../machines/ticket.deadlines.js';
import { sampleEvent } from '../../src/engine/ticket/index.js';
import type { Actor } from '../../machines/ticket.policy.js';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** Tuesday 3 March 2026, 09:00 in Berlin: a working day in every Land, every office open. */
export const T0 = Date.parse('2026-03-03T09:00:00+01:00');

export const EVENT_TYPES: readonly TicketEventType[] = [
  'ACCEPT', 'REQUEST_INFO', 'INFO_RECEIVED', 'ESCALATE', 'RETURN', 'REJECT_HANDOFF', 'RESOLVE', 'REOPEN', 'CLOSE',
  'SUGGEST_IMPROVEMENT', 'ASSIGN', 'CHANGE_PRIORITY', 'SLA_WARNING', 'SLA_BREACHED', 'RECEIPT_OVERDUE', 'BACKLOG_DECIDED',
];
export const EFFECT_TYPES: readonly MachineEffectType[] = ['handOff', 'withdrawHandoff', 'suggestImprovement', 'notify', 'armTimer', 'moveTimer', 'cancelTimer'];

export function buildMachine(topology: Topology) {
  const policy = createTicketPolicy(topology);
  return { topology, policy, machine: createTicketMachine(policy) };
}

export const world = buildMachine(compileTopology(TopologySchema.parse(DEFAULT_TOPOLOGY)));
export const { topology, policy, machine } = world;
export type TicketMachine = typeof machine;
export type Snap = SnapshotFrom<TicketMachine>;

/** The default topology with every organisation open around the clock: business time = wall time. */
export const world24x7 = buildMachine(
  compileTopology(
    TopologySchema.parse({
      ...DEFAULT_TOPOLOGY,
      organisations: DEFAULT_TOPOLOGY.organisations.map((o) => ({ ...o, calendar: '24x7' })),
    } satisfies TopologyInput),
  ),
);

/** A caller with a key: its role is the one its organisation's development key gets. */
export function principal(orgId: string, role?: Role): Actor {
  const org = topology.orgs.get(orgId);
  if (!org) throw new Error(`no organisation ${orgId} in the default topology`);
  return { type: 'principal', orgId, role: role ?? devRoleFor(topology, orgId)!, land: org.land };
}
export const OPERATOR = principal('ops-bremen');
export const SYSTEM: Actor = { type: 'system' };

export interface TicketSpec {
  service: string;
  land: LandCode;
  category: Category;
  createdBy: string;
  impact: Grade;
  urgency: Grade;
  /** When the ticket is entered; default T0. */
  at?: number;
  /** When the desk took the request; default `at`. */
  receivedAt?: number;
}

export const inputOf = (spec: TicketSpec) => ({
  id: 'tkt-1',
  facts: { service: spec.service, land: spec.land, category: spec.category },
  createdBy: spec.createdBy,
  impact: spec.impact,
  urgency: spec.urgency,
  receivedAt: spec.receivedAt ?? spec.at ?? T0,
  at: spec.at ?? T0,
});

export interface Effect<K extends MachineEffectType = MachineEffectType> {
  type: K;
  params: EffectParams[K];
}

/** The machine's effect actions, in order; anything else it returns is a test failure. */
export function effectsOf(actions: readonly { type: string; params?: unknown }[]): Effect[] {
  return actions.map((a) => {
    if (!(EFFECT_TYPES as readonly string[]).includes(a.type)) throw new Error(`unexpected action ${a.type}`);
    return { type: a.type, params: a.params } as Effect;
  });
}

export function only<K extends MachineEffectType>(effects: Effect[], type: K): EffectParams[K][] {
  return effects.filter((e): e is Effect<K> => e.type === type).map((e) => e.params);
}

export function create(spec: TicketSpec, m: TicketMachine = machine): { snap: Snap; effects: Effect[] } {
  const [snap, actions] = initialTransition(m, inputOf(spec));
  return { snap, effects: effectsOf(actions) };
}

export interface Step {
  can: boolean;
  next: Snap;
  effects: Effect[];
}

export function send(snap: Snap, event: TicketEvent, m: TicketMachine = machine): Step {
  const can = snap.can(event);
  const [next, actions] = transition(m, snap, event);
  return { can, next, effects: effectsOf(actions) };
}

/** Sends an event the machine must take; a refusal fails the test where it happens. */
export function accept(snap: Snap, event: TicketEvent, m: TicketMachine = machine): Step {
  const step = send(snap, event, m);
  if (!step.can) throw new Error(`${event.type} refused in ${stateOf(snap)} held by ${snap.context.assignee}`);
  return step;
}

/** The machine's state as the ticket view's dotted path: `level2.handoffPending`, `resolved`. */
export function stateOf(snap: Snap): string {
  const v = snap.value as string | Record<string, string>;
  if (typeof v === 'string') return v;
  const [level, sub] = Object.entries(v)[0]!;
  return `${level}.${sub}`;
}

/** The event the ticket's armed timer stands for, fired at its time. */
export function fire(snap: Snap, at?: number): TicketEvent {
  const timer = snap.context.timer;
  if (!timer) throw new Error(`no timer armed in ${stateOf(snap)}`);
  return { ...timerEvent(timer), at: at ?? timer.at, actor: SYSTEM } as TicketEvent;
}

/** Fires timers until one of the kind asked for is armed. */
export function fireUntil(snap: Snap, kind: 'warning' | 'breach' | 'receipt' | 'autoClose', m: TicketMachine = machine): Snap {
  let s = snap;
  for (let i = 0; i < 10 && s.context.timer?.kind !== kind; i++) s = accept(s, fire(s), m).next;
  if (s.context.timer?.kind !== kind) throw new Error(`no ${kind} timer came up`);
  return s;
}

/** Checks one step's timer effects: at most one timer armed, each with the next epoch, the old one cancelled. */
export function timerProblems(before: Snap, event: TicketEvent, step: Step): string[] {
  const problems: string[] = [];
  const arms = only(step.effects, 'armTimer');
  const moves = only(step.effects, 'moveTimer');
  const cancels = only(step.effects, 'cancelTimer');
  const old = before.context.timer;
  const now = step.next.context.timer;
  const fired = old !== null && 'epoch' in event && event.epoch === old.epoch && step.can;
  if (!step.can && step.effects.length > 0) problems.push('a refused event produced effects');
  if (arms.length + moves.length + cancels.length > 1) problems.push(`armed ${arms.length}, moved ${moves.length}, cancelled ${cancels.length} timers in one step`);
  const arm = arms[0];
  const move = moves[0];
  const cancel = cancels[0];
  if (arm) {
    if (arm.epoch !== before.context.epoch + 1) problems.push(`armed epoch ${arm.epoch} after epoch ${before.context.epoch}`);
    if (JSON.stringify(now) !== JSON.stringify(arm)) problems.push('the armed timer is not the one in the context');
    // A new epoch only when none was armed or the armed one is firing now; otherwise it is moved.
    if (old && !fired) problems.push(`armed ${arm.epoch} while ${old.epoch} was armed and not firing`);
  } else if (move) {
    if (!old || move.epoch !== old.epoch) problems.push(`moved epoch ${move.epoch}, armed was ${old?.epoch}`);
    if (fired) problems.push('moved the timer that just fired: its job is finishing, nothing would fire again');
    if (JSON.stringify(now) !== JSON.stringify(move)) problems.push('the moved timer is not the one in the context');
    if (old && move.at >= old.at) problems.push(`moved the job later (${old.at} → ${move.at}): it should wait where it is and be rescheduled when it comes`);
  } else if (now && JSON.stringify(now) !== JSON.stringify(old)) {
    // A later deadline keeps the job where it is (earlier): same epoch, never earlier than before.
    if (!old || now.epoch !== old.epoch) problems.push('the context names a timer that was never armed or moved');
    else if (now.at < old.at) problems.push(`the deadline came earlier (${old.at} → ${now.at}) but the job was not moved`);
  }
  if (cancel && cancel.epoch !== old?.epoch) problems.push(`cancelled epoch ${cancel.epoch}, armed was ${old?.epoch}`);
  if (cancel && now) problems.push('cancelled the timer but the context still names one');
  if (old && !now && !fired && step.can && !cancel) problems.push(`timer ${old.epoch} left armed`);
  if (fired && cancel) problems.push('cancelled the timer that just fired');
  if (fired && now?.epoch === old.epoch) problems.push(`timer ${old.epoch} fired and is still the armed one: nothing fires again`);
  const due = nextDeadline(step.next.context, policy);
  if (step.can && (due?.at !== now?.at || due?.kind !== now?.kind || due?.clock !== now?.clock)) {
    problems.push(`armed ${JSON.stringify(now)}, the nearest deadline is ${JSON.stringify(due)}`);
  }
  return problems;
}

/**
 * Events to try on a snapshot in a random walk: every user event from the
 * holder, the ticket's Land desk and operations (an ASSIGN goes to
 * dataport), and the armed timer firing at its time.
 */
export function candidateEvents(snap: Snap, at: number): TicketEvent[] {
  const senders: Actor[] = [principal(snap.context.assignee), principal(`desk-${snap.context.facts.land}`), OPERATOR];
  const events = EVENT_TYPES.filter((t) => !t.startsWith('SLA_') && t !== 'RECEIPT_OVERDUE' && t !== 'BACKLOG_DECIDED').flatMap((type) => senders.map((actor) => sampleEvent(type, actor, at)));
  if (snap.context.timer) events.push({ ...fire(snap), at: Math.max(at, snap.context.timer.at) });
  // Lotse's own notice of a decided backlog item: only the system sends it.
  events.push({ type: 'BACKLOG_DECIDED', item: 'B1', outcome: 'done', release: '1.0', at, actor: SYSTEM });
  return events.map((e) => (e.type === 'ASSIGN' ? ({ ...e, assignee: 'dataport' } as TicketEvent) : e));
}
