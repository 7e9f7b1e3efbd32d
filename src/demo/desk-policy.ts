/**
 * What a simulated desk, subject-matter office or the operations team does
 * next with a ticket it looks at: which event to send as whom, and when to
 * look again. Pure: the ticket as the API shows it, the ticket's own seeded
 * draws and what the demo remembers of it come in; a decision comes out.
 */
import { receivesHandoffs } from '../domain/routing.js';
import type { TicketEventInput } from '../domain/ticket.js';
import type { Topology } from '../domain/topology.js';
import { ANSWERS } from './catalogue.js';
import { pickOne, pickWeighted, type TicketDraft, type Weighted } from './generator.js';

const MIN = 60_000;

/** Who an organisation is to the demo. Providers are the provider simulators' business, not the desks'. */
export type OrgPart = 'desk' | 'office' | 'operations' | 'provider' | 'other';

/** The fields of a ticket view the desks look at. */
export interface SeenTicket {
  status: 'new' | 'open' | 'waiting' | 'handoff-pending' | 'resolved' | 'closed';
  level: number | null;
  assignee: string | null;
  land: string;
}

/** What the demo remembers of a ticket between looks. */
export interface TicketMemory {
  suggested: boolean;
  askedInfo: boolean;
  reopened: boolean;
  /** A level above handed it back: the desk closes the case with that answer. */
  returned: boolean;
}

export const freshMemory = (): TicketMemory => ({ suggested: false, askedInfo: false, reopened: false, returned: false });

/** Who each organisation is to the demo: the desks play desks, offices and operations; providers are simulated apart. */
export function makePartOf(topology: Topology): (orgId: string) => OrgPart {
  return (orgId) => {
    const org = topology.orgs.get(orgId);
    if (!org) return 'other';
    if (receivesHandoffs(org.kind)) return 'provider';
    if (org.kind === 'service-desk') return 'desk';
    if (org.kind === 'subject-matter') return 'office';
    if (org.kind === 'operations') return 'operations';
    return 'other';
  };
}

export interface Decision {
  /** The event to send now, and as which organisation. */
  send?: { as: string; event: TicketEventInput };
  /** Simulated office time until the demo looks at the ticket again; undefined: the ticket is done. */
  againInMs?: number;
}

const between = (random: () => number, lo: number, hi: number) => Math.round((lo + random() * (hi - lo)) * MIN);

type Move = 'resolve' | 'escalate' | 'requestInfo' | 'return';

/**
 * The next step on a ticket. `partOf` says who each organisation is;
 * `landDesk` is the desk that speaks for the ticket's citizen (it closes,
 * reopens and passes on information the holder asked for).
 */
export function decideNext(t: SeenTicket, draft: TicketDraft, memory: TicketMemory, random: () => number, partOf: (orgId: string) => OrgPart, landDesk: string): Decision {
  if (t.status === 'closed') return {};
  if (t.status === 'resolved') {
    if (!memory.reopened && random() < 0.04) return { send: { as: landDesk, event: { type: 'REOPEN', reason: pickOne(random, ANSWERS.reopen) } }, againInMs: between(random, 5, 30) };
    return { send: { as: landDesk, event: { type: 'CLOSE' } }, againInMs: between(random, 5, 15) };
  }
  const holder = t.assignee ?? '';
  const part = partOf(holder);
  if (part === 'provider' || part === 'other') {
    // The provider asked the citizen something: the desk passes the answer on.
    if (t.status === 'waiting' && random() < 0.7) return { send: { as: landDesk, event: { type: 'INFO_RECEIVED', info: pickOne(random, ANSWERS.infoReceived) } }, againInMs: between(random, 20, 60) };
    return { againInMs: between(random, 20, 60) };
  }
  if (t.status === 'handoff-pending') return { againInMs: between(random, 10, 30) };
  if (t.status === 'new') return { send: { as: holder, event: { type: 'ACCEPT', note: pickOne(random, ANSWERS.accept) } }, againInMs: between(random, 10, 60) };
  if (t.status === 'waiting') return { send: { as: holder, event: { type: 'INFO_RECEIVED', info: pickOne(random, ANSWERS.infoReceived) } }, againInMs: between(random, 5, 30) };

  // Open, in the hands of someone the demo plays.
  const suggestion = improvementFor(draft, memory, part, random);
  if (suggestion) return { send: { as: holder, event: { type: 'SUGGEST_IMPROVEMENT', ...suggestion } }, againInMs: between(random, 2, 10) };
  const move = chooseMove(t, draft, memory, part, random);
  return { send: { as: holder, event: eventFor(move, draft, random) }, againInMs: between(random, 10, 90) };
}

function improvementFor(draft: TicketDraft, memory: TicketMemory, part: OrgPart, random: () => number): { title: string; description: string } | undefined {
  if (memory.suggested) return undefined;
  if (draft.improvement) return { title: draft.improvement.title, description: draft.improvement.description };
  // The operations team turns some recurring faults into a backlog item of their own.
  if (draft.problem && part === 'operations' && random() < 0.3) {
    return { title: `Dauerhafte Lösung: ${draft.subject}`, description: `Mehrere Länder melden denselben Fehler (${draft.problem}). Ursache beheben statt Einzelfälle lösen.` };
  }
  return undefined;
}

function chooseMove(t: SeenTicket, draft: TicketDraft, memory: TicketMemory, part: OrgPart, random: () => number): Move {
  const canEscalate = (t.level ?? 3) < 3;
  const canAsk = !memory.askedInfo;
  const options: [Move, number][] =
    t.level === 1
      ? memory.returned || draft.category === 'improvement'
        ? [['resolve', 1]]
        : draft.category === 'question'
          ? [['resolve', 75], ['requestInfo', canAsk ? 15 : 0], ['escalate', 10]]
          : draft.category === 'subject-matter'
            ? [['resolve', 80], ['requestInfo', canAsk ? 20 : 0]]
            : draft.problem
              ? [['resolve', 15], ['escalate', 85]]
              : [['resolve', 30], ['requestInfo', canAsk ? 15 : 0], ['escalate', 55]]
      : // Operations at level 2 or 3 (or a desk holding a higher level in a topology of one's own).
        [['resolve', part === 'operations' ? 50 : 60], ['return', 30], ['escalate', canEscalate ? 20 : 0]];
  return pickWeighted(random, options.filter(([, w]) => w > 0) as Weighted<Move>);
}

function eventFor(move: Move, draft: TicketDraft, random: () => number): TicketEventInput {
  switch (move) {
    case 'requestInfo':
      return { type: 'REQUEST_INFO', question: pickOne(random, ANSWERS.requestInfo) };
    case 'escalate':
      return { type: 'ESCALATE', reason: pickOne(random, ANSWERS.escalate) };
    case 'return':
      return { type: 'RETURN', answer: pickOne(random, ANSWERS.returnAnswer) };
    case 'resolve': {
      const texts = draft.category === 'question' ? ANSWERS.resolveQuestion : draft.category === 'subject-matter' ? ANSWERS.resolveSubjectMatter : ANSWERS.resolveTechnical;
      return { type: 'RESOLVE', resolution: pickOne(random, texts) };
    }
  }
}

/** What the demo notes after an event was applied. */
export function remember(memory: TicketMemory, event: TicketEventInput): TicketMemory {
  switch (event.type) {
    case 'SUGGEST_IMPROVEMENT':
      return { ...memory, suggested: true };
    case 'REQUEST_INFO':
      return { ...memory, askedInfo: true };
    case 'REOPEN':
      return { ...memory, reopened: true, returned: false };
    default:
      return memory;
  }
}

/** Events the demo knows how to fill in, in the order it prefers them when Lotse names what is allowed. */
const FALLBACK_ORDER = ['ACCEPT', 'INFO_RECEIVED', 'RESOLVE', 'CLOSE', 'RETURN', 'ESCALATE'] as const;

/** After a 409: one of the events Lotse says are allowed now, filled in; undefined when none is one the demo sends. */
export function chooseAllowed(allowed: readonly string[], draft: TicketDraft, random: () => number): TicketEventInput | undefined {
  const type = FALLBACK_ORDER.find((t) => allowed.includes(t));
  switch (type) {
    case undefined:
      return undefined;
    case 'ACCEPT':
      return { type, note: pickOne(random, ANSWERS.accept) };
    case 'INFO_RECEIVED':
      return { type, info: pickOne(random, ANSWERS.infoReceived) };
    case 'CLOSE':
      return { type };
    case 'RESOLVE':
      return eventFor('resolve', draft, random);
    case 'RETURN':
      return eventFor('return', draft, random);
    case 'ESCALATE':
      return eventFor('escalate', draft, random);
  }
}
