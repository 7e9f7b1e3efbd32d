import { and, assign, enqueueActions, not, or, setup } from 'xstate';
import type { Actor } from './ticket.policy.js';
import type { BacklogLink, BacklogPolicy } from '../src/domain/backlog-policy.js';

const NO_INPUT = Object.freeze({ reason: 'the backlog item machine needs its input' });

/** Bump when states are renamed or the context changes shape: snapshots carry it. */
export const BACKLOG_MACHINE_VERSION = 1;

export interface BacklogContext {
  id: string;
  service: string;
  title: string;
  description: string;
  /** One per ticket, in the order they came; never two for one ticket. */
  links: BacklogLink[];
  /** 1 is the top of the backlog; null until the backlog owner ranks the item. */
  rank: number | null;
  /** Why steering rejected it. */
  reason: string | null;
  /** The release it is scheduled for, and shipped in once done. */
  release: string | null;
  /** The item this one was merged into (its links went there). */
  mergedInto: string | null;
  /** The item this one was split off by UNMERGE, if it was. */
  splitFrom: string | null;
  createdAt: number;
}

export interface BacklogInput {
  id: string;
  service: string;
  title: string;
  description: string;
  /** The first ticket(s): one suggestion, the tickets of a recurring problem, or those split off another item. */
  links: BacklogLink[];
  splitFrom?: string | undefined;
  at: number;
}

type Meta = { at: number; actor: Actor };
export type BacklogEvent = Meta &
  (
    // `comment`: the decider's words, kept in the history only.
    | { type: 'PRIORITIZE'; rank: number; comment?: string }
    | { type: 'ACCEPT'; note?: string; comment?: string }
    | { type: 'REJECT'; reason: string; comment?: string }
    | { type: 'SCHEDULE'; release: string; comment?: string }
    | { type: 'COMPLETE'; note?: string; comment?: string }
    | { type: 'MERGE'; into: string; comment?: string }
    | { type: 'UNMERGE'; tickets: string[] }
    // Sent by Lotse itself: the backlog worker matching a suggestion, and the engine carrying out a merge.
    // `description`: the item's description with the joining tickets counted (an item the recurring window opened).
    | { type: 'LINK'; link: BacklogLink; description?: string }
    | { type: 'ABSORB'; from: string; links: BacklogLink[]; description?: string }
  );
export type BacklogEventType = BacklogEvent['type'];

type WithoutMeta<E> = E extends unknown ? Omit<E, keyof Meta> : never;
/** An event as its sender names it, before the engine stamps its time and actor. */
export type BacklogEventPayload = WithoutMeta<BacklogEvent>;

/** The outcome linked tickets are told of, once, when their item is decided for good. */
export type BacklogOutcome = { outcome: 'done'; release: string } | { outcome: 'rejected'; reason: string };

/** The effects the machine asks for; the engine turns them into outbox entries with deterministic ids. */
export interface BacklogEffectParams {
  /** MERGE: the target item is to take these links (it receives them as ABSORB). */
  absorbInto: { into: string; from: string; links: BacklogLink[] };
  /** UNMERGE: a new item is to hold these links, split off `from`. */
  splitOff: { from: string; service: string; title: string; description: string; links: BacklogLink[] };
  /** COMPLETE / REJECT: each linked ticket hears the outcome once. */
  notifyTickets: { item: string; tickets: string[] } & BacklogOutcome;
}
export type BacklogEffectType = keyof BacklogEffectParams;

/** Enqueues one effect action with its params checked against BacklogEffectParams. */
function emit<K extends BacklogEffectType>(enqueue: unknown, type: K, params: BacklogEffectParams[K]): void {
  (enqueue as (action: { type: K; params: BacklogEffectParams[K] }) => void)({ type, params });
}

/** The links of `incoming` whose tickets `links` does not hold yet, each ticket once. */
export function newLinks(links: readonly BacklogLink[], incoming: readonly BacklogLink[]): BacklogLink[] {
  const seen = new Set(links.map((l) => l.ticketId));
  return incoming.filter((l) => !seen.has(l.ticketId) && (seen.add(l.ticketId), true));
}

/** Whether an item could take `incoming` without passing the bound: the engine asks before it sends MERGE. */
export function hasRoomFor(policy: BacklogPolicy, ctx: Pick<BacklogContext, 'service' | 'links'>, incoming: readonly BacklogLink[]): boolean {
  return ctx.links.length + newLinks(ctx.links, incoming).length <= policy.maxLinksPerItem(ctx.service);
}

/** Whether an item links a ticket already (a LINK of it changes nothing: the engine may skip the commit). */
export const isLinked = (ctx: Pick<BacklogContext, 'links'>, ticketId: string): boolean => ctx.links.some((l) => l.ticketId === ticketId);

/** The ids of the tickets an item links. */
export const linkedTickets = (ctx: Pick<BacklogContext, 'links'>): string[] => ctx.links.map((l) => l.ticketId);

const incomingOf = (event: BacklogEvent): BacklogLink[] =>
  event.type === 'LINK' ? [event.link] : event.type === 'ABSORB' ? event.links : [];

export function createBacklogMachine(policy: BacklogPolicy) {
  return setup({
    types: {} as { context: BacklogContext; events: BacklogEvent; input: BacklogInput },
    actions: {
      absorbInto: (_, _p: BacklogEffectParams['absorbInto']) => undefined,
      splitOff: (_, _p: BacklogEffectParams['splitOff']) => undefined,
      notifyTickets: (_, _p: BacklogEffectParams['notifyTickets']) => undefined,

      /**
       * A ticket already linked: nothing changes. An action all the same, because xstate
       * counts a transition without target or actions as refused; an assign is not
       * handed to the engine, so the step asks for nothing.
       */
      countOnce: assign(({ context }) => context),
      addLinks: assign(({ context, event }) => ({
        links: [...context.links, ...newLinks(context.links, incomingOf(event))],
        ...((event.type === 'LINK' || event.type === 'ABSORB') && event.description !== undefined ? { description: event.description } : {}),
      })),
      rank: assign(({ event }) => (event.type === 'PRIORITIZE' ? { rank: event.rank } : {})),
      schedule: assign(({ event }) => (event.type === 'SCHEDULE' ? { release: event.release } : {})),

      /** The links leave with the MERGE: the target counts them, this item no longer does. */
      merge: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'MERGE') return;
        emit(enqueue, 'absorbInto', { into: event.into, from: context.id, links: context.links });
        enqueue.assign({ mergedInto: event.into, links: [] });
      }),
      unmerge: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'UNMERGE') return;
        const out = new Set(event.tickets);
        emit(enqueue, 'splitOff', {
          from: context.id,
          service: context.service,
          title: context.title,
          description: context.description,
          links: context.links.filter((l) => out.has(l.ticketId)),
        });
        enqueue.assign({ links: context.links.filter((l) => !out.has(l.ticketId)) });
      }),
      reject: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'REJECT') return;
        enqueue.assign({ reason: event.reason });
        emit(enqueue, 'notifyTickets', { item: context.id, tickets: linkedTickets(context), outcome: 'rejected', reason: event.reason });
      }),
      complete: enqueueActions(({ context, enqueue }) => {
        // A scheduled item always has its release: SCHEDULE is the only way in.
        emit(enqueue, 'notifyTickets', { item: context.id, tickets: linkedTickets(context), outcome: 'done', release: context.release ?? '' });
      }),
    },
    guards: {
      /** An operator of the organisation that owns the service's backlog. */
      isBacklogOwner: ({ context, event }) =>
        event.actor.type === 'principal' && event.actor.role === 'operator' && event.actor.orgId === policy.backlogOwnerOf(context.service),
      isSteering: ({ event }) => event.actor.type === 'principal' && event.actor.role === 'steering',
      isSystem: ({ event }) => event.actor.type === 'system',
      /** LINK of a ticket not yet linked; a repeat (a retried suggestion) counts once. */
      isNewTicket: ({ context, event }) => event.type === 'LINK' && !isLinked(context, event.link.ticketId),
      hasRoomForLinks: ({ context, event }) => hasRoomFor(policy, context, incomingOf(event)),
      /** MERGE into, or ABSORB from, an item other than this one. */
      namesOtherItem: ({ context, event }) =>
        (event.type === 'MERGE' && event.into !== context.id) || (event.type === 'ABSORB' && event.from !== context.id),
      /** UNMERGE names tickets, each linked here, and leaves at least one behind (else there is nothing to split from). */
      splitsSomeLinks: ({ context, event }) => {
        if (event.type !== 'UNMERGE' || event.tickets.length === 0) return false;
        const out = new Set(event.tickets);
        const linked = new Set(linkedTickets(context));
        return [...out].every((t) => linked.has(t)) && out.size < linked.size;
      },
    },
  }).createMachine({
    id: 'backlog',
    context: ({ input }) => {
      // xstate's pure transition()/initialTransition() build a throwaway actor that starts
      // without input; refuse it with a prebuilt value, which costs no stack trace.
      if (input === undefined) throw NO_INPUT;
      return {
        id: input.id,
        service: input.service,
        title: input.title,
        description: input.description,
        // The same ticket twice counts once; the bound is the engine's to check first (hasRoomFor),
        // so an over-long list here is cut, never grown.
        links: newLinks([], input.links).slice(0, policy.maxLinksPerItem(input.service)),
        rank: null,
        reason: null,
        release: null,
        mergedInto: null,
        splitFrom: input.splitFrom ?? null,
        createdAt: input.at,
      };
    },
    initial: 'proposed',
    states: {
      proposed: {
        on: {
          ...open(),
          PRIORITIZE: { guard: 'isBacklogOwner', target: 'prioritized', actions: 'rank' },
          REJECT: { guard: 'isSteering', target: 'rejected', actions: 'reject' },
          MERGE: { guard: and([or(['isBacklogOwner', 'isSteering']), 'namesOtherItem']), target: 'merged', actions: 'merge' },
        },
      },
      prioritized: {
        on: {
          ...open(),
          PRIORITIZE: { guard: 'isBacklogOwner', target: 'prioritized', actions: 'rank' },
          ACCEPT: { guard: 'isSteering', target: 'accepted' },
          REJECT: { guard: 'isSteering', target: 'rejected', actions: 'reject' },
          MERGE: { guard: and([or(['isBacklogOwner', 'isSteering']), 'namesOtherItem']), target: 'merged', actions: 'merge' },
        },
      },
      // Decided items are not merged away (that would drop steering's decision); duplicates merge into them.
      accepted: {
        on: {
          ...open(),
          SCHEDULE: { guard: or(['isSteering', 'isBacklogOwner']), target: 'scheduled', actions: 'schedule' },
        },
      },
      scheduled: {
        on: {
          ...open(),
          // A release that slips is scheduled again.
          SCHEDULE: { guard: or(['isSteering', 'isBacklogOwner']), target: 'scheduled', actions: 'schedule' },
          COMPLETE: { guard: 'isBacklogOwner', target: 'done', actions: 'complete' },
        },
      },
      done: { type: 'final' },
      rejected: { type: 'final' },
      merged: { type: 'final' },
    },
  });
}

/** What every undecided or decided-but-not-finished item takes: its links coming and going. */
function open() {
  return {
    LINK: [
      { guard: and(['isSystem', 'isNewTicket', 'hasRoomForLinks']), actions: 'addLinks' as const },
      // Already linked: taken, and nothing changes, so a retried suggestion is not an error.
      { guard: and(['isSystem', not('isNewTicket')]), actions: 'countOnce' as const },
    ],
    ABSORB: { guard: and(['isSystem', 'namesOtherItem', 'hasRoomForLinks']), actions: 'addLinks' as const },
    UNMERGE: { guard: and([or(['isBacklogOwner', 'isSteering']), 'splitsSomeLinks']), actions: 'unmerge' as const },
  };
}

export type BacklogMachine = ReturnType<typeof createBacklogMachine>;
