import { and, assign, enqueueActions, or, setup } from 'xstate';
import type { LandCode } from '../src/domain/ids.js';
import type { RoutingFacts } from '../src/domain/routing.js';
import {
  EMPTY_SLA,
  pauseClocks,
  recordBreach,
  recordWarning,
  reprioritize,
  resumeClocks,
  startClocks,
  stopClocks,
  type ClockName,
  type SlaState,
} from '../src/domain/sla.js';
import type { Grade, Level, Priority } from '../src/domain/topology.js';
import { nextDeadline, type Deadline } from './ticket.deadlines.js';
import type { TicketPolicy } from '../src/domain/ticket-policy.js';
import type { Actor } from './ticket.policy.js';

const NO_INPUT = Object.freeze({ reason: 'the ticket machine needs its input' });

/** Bump when states are renamed or the context changes shape: snapshots carry it. */
export const TICKET_MACHINE_VERSION = 1;

export interface HandoffState {
  orgId: string;
  requestedAt: number;
  attempts: number;
  receiptDueAt: number;
}

export type Timer = Deadline & { epoch: number };

export interface TicketContext {
  id: string;
  facts: RoutingFacts;
  createdBy: string;
  impact: Grade;
  urgency: Grade;
  priority: Priority;
  level: Level;
  assignee: string;
  /** Who held each level last: RETURN and REOPEN go back to them. */
  holders: Partial<Record<`${Level}`, string>>;
  /** Every organisation that ever held the ticket: a provider reads what was handed to it. */
  handledBy: string[];
  handoff: HandoffState | null;
  receivedAt: number;
  createdAt: number;
  resolvedAt: number | null;
  closedAt: number | null;
  sla: SlaState;
  timer: Timer | null;
  /** Counts every timer ever armed, so a timer's id names exactly one arming. */
  epoch: number;
}

export interface TicketInput {
  id: string;
  facts: RoutingFacts;
  createdBy: string;
  impact: Grade;
  urgency: Grade;
  receivedAt: number;
  at: number;
}

type Meta = { at: number; actor: Actor };
export type TicketEvent = Meta &
  (
    | { type: 'ACCEPT'; note?: string }
    | { type: 'REQUEST_INFO'; question?: string }
    | { type: 'INFO_RECEIVED'; info?: string }
    | { type: 'ESCALATE'; reason: string }
    | { type: 'RETURN'; answer: string }
    | { type: 'REJECT_HANDOFF'; reason: string }
    | { type: 'RESOLVE'; resolution: string }
    | { type: 'REOPEN'; reason: string }
    | { type: 'NOTE'; text: string }
    | { type: 'CLOSE'; epoch?: number }
    | { type: 'SUGGEST_IMPROVEMENT'; title: string; description: string }
    | { type: 'ASSIGN'; assignee: string; reason: string }
    | { type: 'CHANGE_PRIORITY'; impact: Grade; urgency: Grade; reason: string }
    | { type: 'SLA_WARNING'; clock: ClockName; epoch: number }
    | { type: 'SLA_BREACHED'; clock: ClockName; epoch: number }
    | { type: 'RECEIPT_OVERDUE'; epoch: number }
    // Sent by Lotse when a backlog item the ticket is linked to was decided for good: recorded, state unchanged.
    | { type: 'BACKLOG_DECIDED'; item: string; outcome: 'done' | 'rejected'; release?: string; reason?: string; note?: string }
  );
export type TicketEventType = TicketEvent['type'];

/** The effects the machine asks for; the engine turns them into outbox entries. */
export interface EffectParams {
  handOff: { orgId: string; attempt: number; reason: string };
  withdrawHandoff: { orgId: string; reason: string };
  suggestImprovement: { title: string; description: string };
  notify: { reason: 'sla-warning' | 'sla-breach' | 'receipt-overdue' | 'handoff-returned'; clock?: ClockName; holder: string; audience: string[] };
  armTimer: Timer;
  moveTimer: Timer;
  cancelTimer: { epoch: number };
}
export type MachineEffectType = keyof EffectParams;

/** Enqueues one effect action with its params checked against EffectParams. */
function emit<K extends MachineEffectType>(enqueue: unknown, type: K, params: EffectParams[K]): void {
  (enqueue as (action: { type: K; params: EffectParams[K] }) => void)({ type, params });
}

const actorOrg = (actor: Actor) => (actor.type === 'principal' ? actor.orgId : undefined);

type WithoutMeta<E> = E extends unknown ? Omit<E, keyof Meta> : never;
/** An event as its sender names it, before the engine stamps its time and actor. */
export type TicketEventPayload = WithoutMeta<TicketEvent>;

/** The system event a timer stands for when it fires. */
export function timerEvent(timer: Timer): TicketEventPayload {
  switch (timer.kind) {
    case 'warning':
      return { type: 'SLA_WARNING', clock: timer.clock!, epoch: timer.epoch };
    case 'breach':
      return { type: 'SLA_BREACHED', clock: timer.clock!, epoch: timer.epoch };
    case 'receipt':
      return { type: 'RECEIPT_OVERDUE', epoch: timer.epoch };
    case 'autoClose':
      return { type: 'CLOSE', epoch: timer.epoch };
  }
}

/**
 * A timer firing: sent by the system (never by a caller), carrying the epoch
 * of the timer armed now, as the event that timer stands for. Anything else
 * is stale or forged; taking it would leave the fired timer as the armed one.
 */
function firesArmedTimer(timer: Timer | null, event: TicketEvent): boolean {
  if (event.actor.type !== 'system' || !timer || !('epoch' in event) || event.epoch !== timer.epoch) return false;
  return timerEvent(timer).type === event.type && (!('clock' in event) || event.clock === timer.clock);
}

/** Where a move takes the ticket. */
export type MoveTarget = 'first' | 'up' | 'down' | 'operations' | 'assignee' | 'reopen';

/**
 * Everything that follows from a ticket reaching a holder at a level. The
 * clocks start at `at` (for a new ticket: when the desk took the request);
 * a handoff's receipt runs from `opts.handedAt`, when it really leaves.
 */
function enterLevel(
  ctx: TicketContext,
  policy: TicketPolicy,
  level: Level,
  holder: string,
  at: number,
  opts: { responded: boolean; handedAt: number },
): Partial<TicketContext> {
  const handoff = policy.receivesHandoffs(holder) && !opts.responded
    ? { orgId: holder, requestedAt: opts.handedAt, attempts: 1, receiptDueAt: policy.receiptDueAt(holder, opts.handedAt) }
    : null;
  return {
    level,
    assignee: holder,
    holders: { ...ctx.holders, [`${level}`]: holder },
    handledBy: ctx.handledBy.includes(holder) ? ctx.handledBy : [...ctx.handledBy, holder],
    handoff,
    sla: startClocks(ctx.sla, policy, {
      level,
      holder,
      priority: ctx.priority,
      at,
      names: opts.responded ? ['resolution'] : ['firstResponse', 'resolution'],
    }),
  };
}

export function createTicketMachine(policy: TicketPolicy) {
  const routeAt = (ctx: TicketContext, level: Level) => policy.route(ctx.facts, level);

  /** The level and holder a move leads to, and whether the holder has already responded. */
  function destination(ctx: TicketContext, event: TicketEvent, to: MoveTarget): { level: Level; holder: string; responded: boolean } {
    switch (to) {
      case 'first':
        return { level: 1, holder: routeAt(ctx, 1).orgId, responded: false };
      case 'up': {
        const level = (ctx.level + 1) as Level;
        return { level, holder: routeAt(ctx, level).orgId, responded: false };
      }
      case 'down': {
        const level = (ctx.level - 1) as Level;
        return { level, holder: ctx.holders[`${level}`] ?? routeAt(ctx, level).orgId, responded: true };
      }
      case 'operations':
        return { level: ctx.level, holder: policy.operations, responded: true };
      case 'assignee':
        return { level: ctx.level, holder: event.type === 'ASSIGN' ? event.assignee : ctx.assignee, responded: false };
      case 'reopen':
        return { level: 1, holder: ctx.holders['1'] ?? routeAt(ctx, 1).orgId, responded: true };
    }
  }

  return setup({
    types: {} as { context: TicketContext; events: TicketEvent; input: TicketInput },
    actions: {
      /** Only the history entry records it: an action all the same, since xstate refuses a transition with neither target nor actions. */
      noteBacklogDecision: assign(({ context }) => context),
      // A note changes nothing but the history (the path records every event taken); an action makes XState's can() offer it.
      recordNote: assign(({ context }) => context),
      handOff: (_, _p: EffectParams['handOff']) => undefined,
      withdrawHandoff: (_, _p: EffectParams['withdrawHandoff']) => undefined,
      suggestImprovement: (_, _p: EffectParams['suggestImprovement']) => undefined,
      notify: (_, _p: EffectParams['notify']) => undefined,
      armTimer: (_, _p: EffectParams['armTimer']) => undefined,
      moveTimer: (_, _p: EffectParams['moveTimer']) => undefined,
      cancelTimer: (_, _p: EffectParams['cancelTimer']) => undefined,

      /**
       * Every change of holder: the old provider learns the ticket moved away,
       * the clocks restart on the new holder's calendar, a provider gets a handoff.
       */
      move: enqueueActions(({ context, event, enqueue }, params: { to: MoveTarget; reason: string; withdraw?: boolean }) => {
        const { level, holder, responded } = destination(context, event, params.to);
        const from = context.assignee;
        if (from && from !== holder && params.withdraw !== false && policy.receivesHandoffs(from)) {
          emit(enqueue, 'withdrawHandoff', { orgId: from, reason: params.reason });
        }
        const first = params.to === 'first';
        const handedAt = first ? context.createdAt : event.at;
        enqueue.assign(enterLevel(context, policy, level, holder, first ? context.receivedAt : handedAt, { responded, handedAt }));
        if (policy.receivesHandoffs(holder)) emit(enqueue, 'handOff', { orgId: holder, attempt: 1, reason: params.reason });
      }),

      /**
       * One timer per ticket, for its nearest deadline. When the deadline
       * changes, the armed timer keeps its epoch: an earlier deadline moves
       * its job now; a later one only changes the context, and the job, due
       * too early, waits again when it comes (the engine reschedules it), so
       * the job is never later than the deadline and most changes cost no
       * queue operation. A new epoch is armed only when none is armed or the
       * armed one is the one firing now (its job is finishing). No deadline
       * left: cancelled.
       */
      syncTimer: enqueueActions(({ context, event, enqueue }) => {
        const next = nextDeadline(context, policy);
        const current = context.timer;
        if (current && next && current.at === next.at && current.kind === next.kind && current.clock === next.clock) return;
        const fired = 'epoch' in event && event.epoch === current?.epoch;
        if (!next) {
          if (current && !fired) emit(enqueue, 'cancelTimer', { epoch: current.epoch });
          if (current) enqueue.assign({ timer: null });
          return;
        }
        if (current && !fired) {
          const moved: Timer = { ...next, epoch: current.epoch };
          enqueue.assign({ timer: moved });
          if (next.at < current.at) emit(enqueue, 'moveTimer', moved);
          return;
        }
        const timer: Timer = { ...next, epoch: context.epoch + 1 };
        enqueue.assign({ timer, epoch: timer.epoch });
        emit(enqueue, 'armTimer', timer);
      }),

      notifyHolder: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'SLA_WARNING' && event.type !== 'SLA_BREACHED') return;
        const audience = [...new Set([context.assignee, policy.operations])];
        const reason = event.type === 'SLA_WARNING' ? 'sla-warning' : 'sla-breach';
        emit(enqueue, 'notify', { reason, clock: event.clock, holder: context.assignee, audience });
      }),
      notifyOperations: enqueueActions(({ context, event, enqueue }) => {
        const reason = event.type === 'REJECT_HANDOFF' ? 'handoff-returned' : 'receipt-overdue';
        const holder = context.handoff?.orgId ?? context.assignee;
        emit(enqueue, 'notify', { reason, holder, audience: [policy.operations] });
      }),
      resendHandoff: enqueueActions(({ context, event, enqueue }) => {
        const handoff = context.handoff;
        if (!handoff) return;
        enqueue.assign({
          handoff: { ...handoff, attempts: handoff.attempts + 1, receiptDueAt: policy.receiptDueAt(handoff.orgId, event.at) },
        });
        emit(enqueue, 'handOff', { orgId: handoff.orgId, attempt: handoff.attempts + 1, reason: 'no receipt yet' });
      }),
      suggest: enqueueActions(({ event, enqueue }) => {
        if (event.type === 'SUGGEST_IMPROVEMENT') {
          emit(enqueue, 'suggestImprovement', { title: event.title, description: event.description });
        }
      }),

      recordFirstResponse: assign(({ context, event }) => ({
        sla: stopClocks(context.sla, policy, event.at, ['firstResponse'], 'responded'),
        handoff: null,
      })),
      pause: assign(({ context, event }) => ({ sla: pauseClocks(context.sla, event.at) })),
      resume: assign(({ context, event }) => ({ sla: resumeClocks(context.sla, policy, event.at) })),
      resolve: assign(({ context, event }) => ({ sla: stopClocks(context.sla, policy, event.at), resolvedAt: event.at, handoff: null })),
      reopened: assign({ resolvedAt: null }),
      close: assign(({ event }) => ({ closedAt: event.at })),
      changePriority: assign(({ context, event }) => {
        if (event.type !== 'CHANGE_PRIORITY') return {};
        const priority = policy.priorityOf(event.impact, event.urgency);
        return { impact: event.impact, urgency: event.urgency, priority, sla: reprioritize(context.sla, policy, priority, event.at) };
      }),
      recordWarning: assign(({ context, event }) =>
        event.type === 'SLA_WARNING' ? { sla: recordWarning(context.sla, event.clock, event.at) } : {},
      ),
      recordBreach: assign(({ context, event }) =>
        event.type === 'SLA_BREACHED' ? { sla: recordBreach(context.sla, event.clock, event.at) } : {},
      ),
    },
    guards: {
      isHolder: ({ context, event }) => actorOrg(event.actor) === context.assignee,
      isOperator: ({ event }) => event.actor.type === 'principal' && event.actor.role === 'operator',
      isSystem: ({ event }) => event.actor.type === 'system',
      /** The desk that speaks for the citizen: a desk of the ticket's Land, or the one that created it. */
      isDesk: ({ context, event }) =>
        event.actor.type === 'principal' &&
        event.actor.role === 'desk' &&
        (event.actor.land === (context.facts.land as LandCode) || event.actor.orgId === context.createdBy),
      isCurrentTimer: ({ context, event }) => firesArmedTimer(context.timer, event),
      nextTakesHandoffs: ({ context }) => context.level < 3 && routeAt(context, (context.level + 1) as Level).handoff,
      firstTakesHandoffs: ({ context }) => routeAt(context, 1).handoff,
      assigneeTakesHandoffs: ({ event }) => event.type === 'ASSIGN' && policy.receivesHandoffs(event.assignee),
      isNewAssignee: ({ context, event }) => event.type === 'ASSIGN' && event.assignee !== context.assignee,
      withinReopenWindow: ({ context, event }) =>
        context.resolvedAt !== null && event.at - context.resolvedAt <= policy.reopenWindowMs,
      breachEscalates: ({ context }) => policy.policy(context.priority).onBreach === 'escalate',
      isSecondReminder: ({ context }) => (context.handoff?.attempts ?? 0) >= 2,
    },
  }).createMachine({
    id: 'ticket',
    context: ({ input }) => {
      // xstate's pure transition()/initialTransition() (and machines/pure.ts, once) build a
      // throwaway actor that starts without input; refuse it with a prebuilt value, which
      // costs no stack trace.
      if (input === undefined) throw NO_INPUT;
      return {
        id: input.id,
        facts: input.facts,
        createdBy: input.createdBy,
        impact: input.impact,
        urgency: input.urgency,
        priority: policy.priorityOf(input.impact, input.urgency),
        level: 1,
        assignee: '',
        holders: {},
        handledBy: [],
        handoff: null,
        receivedAt: input.receivedAt,
        createdAt: input.at,
        resolvedAt: null,
        closedAt: null,
        sla: EMPTY_SLA,
        timer: null,
        epoch: 0,
      };
    },
    initial: 'routing',
    states: {
      // Transient: decides where a new ticket starts.
      routing: {
        always: [
          { guard: 'firstTakesHandoffs', target: 'level1.handoffPending', actions: [move('first', 'created'), 'syncTimer'] },
          { target: 'level1.new', actions: [move('first', 'created'), 'syncTimer'] },
        ],
      },
      // Built by one function, so typed loosely here; the graph tests walk every transition.
      level1: levelState(1) as never,
      level2: levelState(2) as never,
      level3: levelState(3) as never,
      resolved: {
        on: {
          REOPEN: {
            guard: and([or(['isDesk', 'isOperator']), 'withinReopenWindow']),
            target: 'level1.open',
            actions: [move('reopen', 'reopened'), 'reopened', 'syncTimer'],
          },
          CLOSE: [
            { guard: or(['isDesk', 'isOperator']), target: 'closed', actions: ['close', 'syncTimer'] },
            { guard: and(['isSystem', 'isCurrentTimer']), target: 'closed', actions: ['close', 'syncTimer'] },
          ],
          SUGGEST_IMPROVEMENT: { guard: or(['isHolder', 'isDesk', 'isOperator']), actions: ['suggest'] },
          NOTE: { guard: or(['isHolder', 'isDesk', 'isOperator', 'isSystem']), actions: ['recordNote'] },
          BACKLOG_DECIDED: { guard: 'isSystem', actions: ['noteBacklogDecision'] },
        },
      },
      closed: { type: 'final' },
    },
  });
}

function move(to: MoveTarget, reason: string, withdraw = true) {
  return { type: 'move' as const, params: { to, reason, withdraw } };
}

/** The states of one support level; ids are absolute so levels can target each other. */
function levelState(level: Level) {
  const up = `#ticket.level${level + 1}`;
  const down = `#ticket.level${level - 1}`;
  const here = `#ticket.level${level}`;
  const escalate = (who: string[]) =>
    level < 3
      ? [
          { guard: and(['nextTakesHandoffs', or(who as never)]), target: `${up}.handoffPending`, actions: [move('up', 'escalated'), 'syncTimer'] },
          { guard: or(who as never), target: `${up}.new`, actions: [move('up', 'escalated'), 'syncTimer'] },
        ]
      : [];
  // Events any state of a level takes.
  const any = {
    ESCALATE: escalate(['isOperator']),
    ASSIGN: [
      { guard: and(['isOperator', 'isNewAssignee', 'assigneeTakesHandoffs']), target: `${here}.handoffPending`, actions: [move('assignee', 'assigned'), 'syncTimer'] },
      { guard: and(['isOperator', 'isNewAssignee']), target: `${here}.new`, actions: [move('assignee', 'assigned'), 'syncTimer'] },
    ],
    CHANGE_PRIORITY: { guard: or(['isHolder', 'isDesk', 'isOperator']), actions: ['changePriority', 'syncTimer'] },
    SUGGEST_IMPROVEMENT: { guard: or(['isHolder', 'isDesk', 'isOperator']), actions: ['suggest'] },
    NOTE: { guard: or(['isHolder', 'isDesk', 'isOperator', 'isSystem']), actions: ['recordNote'] },
    BACKLOG_DECIDED: { guard: 'isSystem', actions: ['noteBacklogDecision'] },
    SLA_WARNING: { guard: 'isCurrentTimer', actions: ['recordWarning', 'notifyHolder', 'syncTimer'] },
    SLA_BREACHED: [
      ...(level < 3
        ? [
            { guard: and(['isCurrentTimer', 'breachEscalates', 'nextTakesHandoffs']), target: `${up}.handoffPending`, actions: ['recordBreach', move('up', 'SLA breached'), 'syncTimer'] },
            { guard: and(['isCurrentTimer', 'breachEscalates']), target: `${up}.new`, actions: ['recordBreach', move('up', 'SLA breached'), 'syncTimer'] },
          ]
        : []),
      { guard: 'isCurrentTimer', actions: ['recordBreach', 'notifyHolder', 'syncTimer'] },
    ],
  };
  // Events of a holder that has the ticket in hand (not while a handoff awaits its receipt).
  const inHand = {
    ...any,
    ESCALATE: escalate(['isHolder', 'isOperator']),
    ...(level > 1 ? { RETURN: { guard: 'isHolder', target: `${down}.open`, actions: [move('down', 'returned'), 'syncTimer'] } } : {}),
    RESOLVE: { guard: 'isHolder', target: '#ticket.resolved', actions: ['resolve', 'syncTimer'] },
  };
  return {
    // Entered only by explicit targets; `initial` is required of a compound state.
    initial: 'new',
    states: {
      new: {
        on: { ...inHand, ACCEPT: { guard: 'isHolder', target: 'open', actions: ['recordFirstResponse', 'syncTimer'] } },
      },
      handoffPending: {
        on: {
          ...any,
          ACCEPT: { guard: 'isHolder', target: 'open', actions: ['recordFirstResponse', 'syncTimer'] },
          REJECT_HANDOFF: { guard: 'isHolder', target: 'open', actions: ['notifyOperations', move('operations', 'handoff rejected', false), 'syncTimer'] },
          RECEIPT_OVERDUE: [
            { guard: and(['isCurrentTimer', 'isSecondReminder']), target: 'open', actions: ['notifyOperations', move('operations', 'no receipt'), 'syncTimer'] },
            { guard: 'isCurrentTimer', actions: ['resendHandoff', 'notifyOperations', 'syncTimer'] },
          ],
        },
      },
      open: {
        on: { ...inHand, REQUEST_INFO: { guard: 'isHolder', target: 'waiting', actions: ['pause', 'syncTimer'] } },
      },
      waiting: {
        on: { ...inHand, INFO_RECEIVED: { guard: or(['isHolder', 'isDesk']), target: 'open', actions: ['resume', 'syncTimer'] } },
      },
    },
  };
}
