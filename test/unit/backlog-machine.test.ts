/**
 * The backlog item machine against the contract's backlog rows: every state,
 * every event type, every kind of sender. Who may send what from where is
 * written down here (MAY), so a guard that lets the wrong sender through, or
 * refuses the right one, fails a case. Then the actions each decision hands
 * the engine: MERGE and ABSORB, UNMERGE, LINK counted once, the bound on
 * links, and the one notification per ticket on COMPLETE and REJECT.
 * Design choices the contract leaves open, pinned here:
 * - re-prioritising: PRIORITIZE again while prioritized; SCHEDULE again while
 *   scheduled (a slipping release);
 * - MERGE only of undecided items (proposed, prioritized): a decided item
 *   takes duplicates in, it is not merged away;
 * - done, rejected and merged are final: a new wish makes a new item.
 */
import { describe, expect, it } from 'vitest';
import { initialTransition, transition, type SnapshotFrom } from 'xstate';
import {
  BACKLOG_MACHINE_VERSION,
  createBacklogMachine,
  hasRoomFor,
  newLinks,
  type BacklogEffectParams,
  type BacklogEffectType,
  type BacklogEvent,
  type BacklogEventPayload,
  type BacklogEventType,
  type BacklogInput,
} from '../../machines/backlog.machine.js';
import { allowedBacklogEvents, explainBacklogRefusal } from '../../machines/backlog.explain.js';
import type { BacklogLink, BacklogPolicy } from '../../src/domain/backlog-policy.js';
import { createPureStepper } from '../../machines/pure.js';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { createBacklogPolicy } from '../../src/domain/backlog-policy.js';
import { compileTopology, TopologySchema } from '../../src/domain/topology.js';
import type { Actor } from '../../machines/ticket.policy.js';

const T0 = Date.parse('2026-03-03T09:00:00+01:00');
const MAX_LINKS = 4;
const policy: BacklogPolicy = {
  backlogOwnerOf: (service) => (service === 'elfe' ? 'ops-bremen' : undefined),
  maxLinksPerItem: () => MAX_LINKS,
};
const machine = createBacklogMachine(policy);
type Snap = SnapshotFrom<typeof machine>;

type Who = 'owner' | 'otherOperator' | 'steering' | 'desk' | 'provider' | 'system';
const ACTORS: Record<Who, Actor> = {
  owner: { type: 'principal', orgId: 'ops-bremen', role: 'operator', land: 'HB' },
  otherOperator: { type: 'principal', orgId: 'ops-hamburg', role: 'operator', land: 'HH' },
  steering: { type: 'principal', orgId: 'steuerungskreis', role: 'steering' },
  desk: { type: 'principal', orgId: 'desk-HB', role: 'desk', land: 'HB' },
  provider: { type: 'principal', orgId: 'dataport', role: 'provider' },
  system: { type: 'system' },
};
const WHO = Object.keys(ACTORS) as Who[];

const link = (ticketId: string, over: Partial<BacklogLink> = {}): BacklogLink => ({
  ticketId, land: 'HB', priority: 'P3', score: 0.6, shared: ['upload'], at: T0, source: 'suggestion', ...over,
});

const INPUT: BacklogInput = {
  id: 'bl-1', service: 'elfe', title: 'Upload großer Nachweise', description: 'PDF über 10 MB', at: T0,
  links: [link('tkt-a', { source: 'improvement' }), link('tkt-b', { land: 'BY', priority: 'P2' })],
};

interface Effect<K extends BacklogEffectType = BacklogEffectType> { type: K; params: BacklogEffectParams[K] }
const EFFECT_TYPES: readonly BacklogEffectType[] = ['absorbInto', 'splitOff', 'notifyTickets'];
/** The machine's effect actions, in order; anything else it returns is a test failure. */
function effectsOf(actions: readonly { type: string; params?: unknown }[]): Effect[] {
  return actions.map((a) => {
    if (!(EFFECT_TYPES as readonly string[]).includes(a.type)) throw new Error(`unexpected action ${a.type}`);
    return { type: a.type, params: a.params } as Effect;
  });
}

let clock = T0;
const ev = (e: BacklogEventPayload, who: Who): BacklogEvent => ({ ...e, at: (clock += 60_000), actor: ACTORS[who] }) as BacklogEvent;

function send(snap: Snap, event: BacklogEvent) {
  const can = snap.can(event);
  const [next, actions] = transition(machine, snap, event);
  return { can, next, effects: effectsOf(actions) };
}
function accept(snap: Snap, event: BacklogEvent) {
  const step = send(snap, event);
  if (!step.can) throw new Error(`${event.type} refused in ${String(snap.value)}`);
  return step;
}

const created = (input: BacklogInput = INPUT): Snap => initialTransition(machine, input)[0];

/** One snapshot per state, reached by the shortest legal path. */
const PATHS: Record<string, [BacklogEventPayload, Who][]> = {
  proposed: [],
  prioritized: [[{ type: 'PRIORITIZE', rank: 3 }, 'owner']],
  accepted: [[{ type: 'PRIORITIZE', rank: 3 }, 'owner'], [{ type: 'ACCEPT' }, 'steering']],
  scheduled: [[{ type: 'PRIORITIZE', rank: 3 }, 'owner'], [{ type: 'ACCEPT' }, 'steering'], [{ type: 'SCHEDULE', release: '2026.2' }, 'owner']],
  done: [[{ type: 'PRIORITIZE', rank: 3 }, 'owner'], [{ type: 'ACCEPT' }, 'steering'], [{ type: 'SCHEDULE', release: '2026.2' }, 'owner'], [{ type: 'COMPLETE' }, 'owner']],
  rejected: [[{ type: 'REJECT', reason: 'kein Bedarf' }, 'steering']],
  merged: [[{ type: 'MERGE', into: 'bl-2' }, 'owner']],
};
const STATES = Object.keys(PATHS);
const reach = (state: string, input: BacklogInput = INPUT): Snap =>
  PATHS[state]!.reduce((snap, [e, who]) => accept(snap, ev(e, who)).next, created(input));

/** A well-formed event of each type, so only the state and the sender decide. */
const SAMPLE: Record<BacklogEventType, BacklogEventPayload> = {
  PRIORITIZE: { type: 'PRIORITIZE', rank: 1 },
  ACCEPT: { type: 'ACCEPT' },
  REJECT: { type: 'REJECT', reason: 'zu teuer' },
  SCHEDULE: { type: 'SCHEDULE', release: '2026.3' },
  COMPLETE: { type: 'COMPLETE' },
  MERGE: { type: 'MERGE', into: 'bl-9' },
  UNMERGE: { type: 'UNMERGE', tickets: ['tkt-b'] },
  LINK: { type: 'LINK', link: link('tkt-new') },
  ABSORB: { type: 'ABSORB', from: 'bl-9', links: [link('tkt-x'), link('tkt-a')] },
};
const EVENT_TYPES = Object.keys(SAMPLE) as BacklogEventType[];

const OPEN = ['proposed', 'prioritized', 'accepted', 'scheduled'];
const OS: readonly Who[] = ['owner', 'steering'];
/** Who may send what from where, and where it leads (undefined: stays). */
const MAY: Record<BacklogEventType, Partial<Record<string, { who: readonly Who[]; to?: string }>>> = {
  PRIORITIZE: { proposed: { who: ['owner'], to: 'prioritized' }, prioritized: { who: ['owner'], to: 'prioritized' } },
  ACCEPT: { prioritized: { who: ['steering'], to: 'accepted' } },
  REJECT: { proposed: { who: ['steering'], to: 'rejected' }, prioritized: { who: ['steering'], to: 'rejected' } },
  SCHEDULE: { accepted: { who: OS, to: 'scheduled' }, scheduled: { who: OS, to: 'scheduled' } },
  COMPLETE: { scheduled: { who: ['owner'], to: 'done' } },
  MERGE: { proposed: { who: OS, to: 'merged' }, prioritized: { who: OS, to: 'merged' } },
  UNMERGE: Object.fromEntries(OPEN.map((s) => [s, { who: OS }])),
  LINK: Object.fromEntries(OPEN.map((s) => [s, { who: ['system'] }])),
  ABSORB: Object.fromEntries(OPEN.map((s) => [s, { who: ['system'] }])),
};

const CASES = STATES.flatMap((state) => EVENT_TYPES.flatMap((type) => WHO.map((who) => [state, type, who] as const)));

describe('the backlog item machine: every event from every state by every sender', () => {
  it('reaches each of its states', () => {
    expect(STATES.map((s) => String(reach(s).value))).toEqual(STATES);
    expect(['done', 'rejected', 'merged'].map((s) => reach(s).status)).toEqual(['done', 'done', 'done']);
    expect(BACKLOG_MACHINE_VERSION).toBe(1);
  });

  it.each(CASES)('%s: %s by %s', (state, type, who) => {
    const rule = MAY[type][state];
    const expected = rule?.who.includes(who) ?? false;
    const before = reach(state);
    const step = send(before, ev(SAMPLE[type], who));
    expect(step.can).toBe(expected);
    if (expected) {
      expect(String(step.next.value)).toBe(rule!.to ?? state);
    } else {
      // A refused event changes nothing and asks for nothing.
      expect(step.effects).toEqual([]);
      expect(step.next.value).toEqual(before.value);
      expect(step.next.context).toEqual(before.context);
    }
  });

  it.each(STATES.flatMap((state) => WHO.map((who) => [state, who] as const)))('in %s, %s is offered exactly the events MAY gives it', (state, who) => {
    const snap = reach(state);
    const expected = ['PRIORITIZE', 'ACCEPT', 'REJECT', 'SCHEDULE', 'COMPLETE', 'MERGE', 'UNMERGE'].filter(
      (t) => MAY[t as BacklogEventType][state]?.who.includes(who),
    );
    expect(allowedBacklogEvents(snap, ACTORS[who], T0)).toEqual(expected);
  });
});

describe('what each decision records and asks for', () => {
  it('a new item holds its first tickets once each, within the bound, and is proposed', () => {
    const snap = created({ ...INPUT, links: [link('t1'), link('t1', { score: 0.9 }), link('t2'), link('t3'), link('t4'), link('t5')] });
    expect(snap.value).toBe('proposed');
    expect(snap.context.links.map((l) => [l.ticketId, l.score])).toEqual([['t1', 0.6], ['t2', 0.6], ['t3', 0.6], ['t4', 0.6]]);
    expect(snap.context).toMatchObject({ rank: null, reason: null, release: null, mergedInto: null, splitFrom: null, createdAt: T0 });
  });

  it('PRIORITIZE sets the rank, again while prioritized; the rank stays through acceptance', () => {
    let snap = accept(created(), ev({ type: 'PRIORITIZE', rank: 5 }, 'owner')).next;
    expect(snap.context.rank).toBe(5);
    snap = accept(snap, ev({ type: 'PRIORITIZE', rank: 2 }, 'owner')).next;
    snap = accept(snap, ev({ type: 'ACCEPT' }, 'steering')).next;
    expect(snap.value).toBe('accepted');
    expect(snap.context.rank).toBe(2);
  });

  it('SCHEDULE records the release, a slipped one replaces it, COMPLETE tells every linked ticket once', () => {
    let snap = reach('accepted');
    snap = accept(snap, ev({ type: 'SCHEDULE', release: '2026.2' }, 'steering')).next;
    snap = accept(snap, ev({ type: 'SCHEDULE', release: '2026.3' }, 'owner')).next;
    snap = accept(snap, ev({ type: 'LINK', link: link('tkt-c') }, 'system')).next;
    expect(snap.context.release).toBe('2026.3');
    const done = accept(snap, ev({ type: 'COMPLETE' }, 'owner'));
    expect(done.next.value).toBe('done');
    expect(done.effects).toEqual([
      { type: 'notifyTickets', params: { item: 'bl-1', tickets: ['tkt-a', 'tkt-b', 'tkt-c'], outcome: 'done', release: '2026.3' } },
    ]);
  });

  it.each(['proposed', 'prioritized'])('REJECT from %s keeps the reason and tells every linked ticket once', (state) => {
    const step = accept(reach(state), ev({ type: 'REJECT', reason: 'Landesrecht regelt das' }, 'steering'));
    expect(step.next.value).toBe('rejected');
    expect(step.next.context.reason).toBe('Landesrecht regelt das');
    expect(step.effects).toEqual([
      { type: 'notifyTickets', params: { item: 'bl-1', tickets: ['tkt-a', 'tkt-b'], outcome: 'rejected', reason: 'Landesrecht regelt das' } },
    ]);
  });

  it('only transitions that decide for good notify: no other step asks for notifyTickets', () => {
    for (const state of STATES) {
      for (const type of EVENT_TYPES) {
        for (const who of WHO) {
          const step = send(reach(state), ev(SAMPLE[type], who));
          const notifies = step.effects.filter((e) => e.type === 'notifyTickets').length;
          expect(notifies, `${state} ${type} ${who}`).toBe(step.can && (type === 'COMPLETE' || type === 'REJECT') ? 1 : 0);
        }
      }
    }
  });

  it('a final item takes nothing more', () => {
    for (const state of ['done', 'rejected', 'merged']) {
      const snap = reach(state);
      for (const type of EVENT_TYPES) for (const who of WHO) expect(snap.can(ev(SAMPLE[type], who)), `${state} ${type} ${who}`).toBe(false);
    }
  });
});

describe('links: counted once, bounded, moved whole by MERGE and UNMERGE', () => {
  it('LINK adds a new ticket at the end; the same ticket again is taken and changes nothing', () => {
    const first = accept(created(), ev({ type: 'LINK', link: link('tkt-c', { land: 'NW', source: 'recurring' }) }, 'system'));
    expect(first.effects).toEqual([]);
    expect(first.next.context.links.map((l) => l.ticketId)).toEqual(['tkt-a', 'tkt-b', 'tkt-c']);
    const again = accept(first.next, ev({ type: 'LINK', link: link('tkt-c', { score: 0.99, shared: ['anders'] }) }, 'system'));
    expect(again.effects).toEqual([]);
    expect(again.next.context).toEqual(first.next.context);
  });

  it(`refuses a new ticket beyond ${MAX_LINKS} links, but still takes a repeat of a linked one`, () => {
    let snap = created();
    snap = accept(snap, ev({ type: 'LINK', link: link('tkt-c') }, 'system')).next;
    snap = accept(snap, ev({ type: 'LINK', link: link('tkt-d') }, 'system')).next;
    expect(snap.context.links).toHaveLength(MAX_LINKS);
    const over = send(snap, ev({ type: 'LINK', link: link('tkt-e') }, 'system'));
    expect(over.can).toBe(false);
    expect(over.next.context.links).toHaveLength(MAX_LINKS);
    expect(send(snap, ev({ type: 'LINK', link: link('tkt-d') }, 'system')).can).toBe(true);
    expect(hasRoomFor(policy, snap.context, [link('tkt-a')])).toBe(true);
    expect(hasRoomFor(policy, snap.context, [link('tkt-e')])).toBe(false);
  });

  it('MERGE hands every link to the target and leaves none behind; never into itself', () => {
    const source = accept(created(), ev({ type: 'LINK', link: link('tkt-c') }, 'system')).next;
    const step = accept(source, ev({ type: 'MERGE', into: 'bl-2' }, 'steering'));
    expect(step.next.value).toBe('merged');
    expect(step.next.context).toMatchObject({ mergedInto: 'bl-2', links: [] });
    expect(step.effects).toEqual([{ type: 'absorbInto', params: { into: 'bl-2', from: 'bl-1', links: source.context.links } }]);
    expect(send(source, ev({ type: 'MERGE', into: 'bl-1' }, 'owner')).can).toBe(false);
  });

  it('ABSORB takes the source links, a ticket both items hold counted once; a repeat changes nothing', () => {
    const target = created({ ...INPUT, id: 'bl-2', links: [link('tkt-b'), link('tkt-z')] });
    const incoming = [link('tkt-a'), link('tkt-b', { score: 0.9 }), link('tkt-c')];
    const once = accept(target, ev({ type: 'ABSORB', from: 'bl-1', links: incoming }, 'system')).next;
    expect(once.context.links.map((l) => [l.ticketId, l.score])).toEqual([['tkt-b', 0.6], ['tkt-z', 0.6], ['tkt-a', 0.6], ['tkt-c', 0.6]]);
    const twice = accept(once, ev({ type: 'ABSORB', from: 'bl-1', links: incoming }, 'system'));
    expect(twice.next.context).toEqual(once.context);
    expect(twice.effects).toEqual([]);
    expect(send(target, ev({ type: 'ABSORB', from: 'bl-2', links: incoming }, 'system')).can).toBe(false);
  });

  it('ABSORB is refused when the new tickets would pass the bound (the engine asks hasRoomFor before MERGE)', () => {
    const target = created({ ...INPUT, id: 'bl-2', links: [link('t1'), link('t2'), link('t3')] });
    expect(send(target, ev({ type: 'ABSORB', from: 'bl-1', links: [link('t1'), link('t4')] }, 'system')).can).toBe(true);
    expect(send(target, ev({ type: 'ABSORB', from: 'bl-1', links: [link('t4'), link('t5')] }, 'system')).can).toBe(false);
  });

  it('UNMERGE keeps the other links and asks for a new item holding exactly the named ones', () => {
    let snap = reach('accepted');
    snap = accept(snap, ev({ type: 'LINK', link: link('tkt-c', { land: 'SN' }) }, 'system')).next;
    const step = accept(snap, ev({ type: 'UNMERGE', tickets: ['tkt-c', 'tkt-a'] }, 'owner'));
    expect(step.next.value).toBe('accepted');
    expect(step.next.context.links.map((l) => l.ticketId)).toEqual(['tkt-b']);
    expect(step.effects).toEqual([
      {
        type: 'splitOff',
        params: { from: 'bl-1', service: 'elfe', title: INPUT.title, description: INPUT.description, links: [snap.context.links[0], snap.context.links[2]] },
      },
    ]);
    // Links only: together the two hold what the one held.
    const split = step.effects[0]!.params as BacklogEffectParams['splitOff'];
    expect([...step.next.context.links, ...split.links].map((l) => l.ticketId).sort()).toEqual(['tkt-a', 'tkt-b', 'tkt-c']);
  });

  it.each([
    ['no ticket', []],
    ['a ticket not linked here', ['tkt-a', 'tkt-q']],
    ['every linked ticket (nothing would be left to split from)', ['tkt-a', 'tkt-b']],
  ])('UNMERGE naming %s is refused', (_what, tickets) => {
    expect(send(created(), ev({ type: 'UNMERGE', tickets }, 'owner')).can).toBe(false);
  });

  it('a split-off item starts as proposed with the links it was given and names where it came from', () => {
    const snap = created({ ...INPUT, id: 'bl-3', splitFrom: 'bl-1', links: [link('tkt-c')] });
    expect(snap.context).toMatchObject({ splitFrom: 'bl-1', links: [link('tkt-c')] });
  });

  it('newLinks keeps the first of each ticket and drops what is already linked', () => {
    expect(newLinks([link('a')], [link('b'), link('a'), link('b', { score: 1 }), link('c')]).map((l) => [l.ticketId, l.score])).toEqual([['b', 0.6], ['c', 0.6]]);
  });
});

describe('refusals explained and the pure stepper', () => {
  it('names who may send an event instead (403), or that the state does not take it (409)', () => {
    const snap = reach('prioritized');
    expect(explainBacklogRefusal(policy, snap, ev({ type: 'ACCEPT' }, 'owner'))).toMatchObject({
      kind: 'forbidden', state: 'prioritized', couldSend: ['the steering committee'], allowedEvents: ['PRIORITIZE', 'MERGE', 'UNMERGE'],
    });
    expect(explainBacklogRefusal(policy, snap, ev({ type: 'PRIORITIZE', rank: 1 }, 'desk'))).toMatchObject({
      kind: 'forbidden', couldSend: ['the backlog owner (ops-bremen)'], allowedEvents: [],
    });
    expect(explainBacklogRefusal(policy, snap, ev({ type: 'COMPLETE' }, 'owner'))).toMatchObject({
      kind: 'invalid-transition', couldSend: [], allowedEvents: ['PRIORITIZE', 'MERGE', 'UNMERGE'],
    });
  });

  it('a service without a known backlog owner is moved by steering alone', () => {
    const snap = created({ ...INPUT, service: 'nobody-owns' });
    expect(allowedBacklogEvents(snap, ACTORS.owner, T0)).toEqual([]);
    expect(allowedBacklogEvents(snap, ACTORS.steering, T0)).toEqual(['REJECT', 'MERGE', 'UNMERGE']);
  });

  it('machines/pure.ts gives what xstate gives for every case of the table', () => {
    const stepper = createPureStepper(machine);
    const outcome = ([snap, actions]: [Snap, readonly { type: string; params?: unknown }[]]) => ({
      value: snap.value, status: snap.status, context: snap.context, actions: actions.map((a) => ({ type: a.type, params: a.params })),
    });
    expect(outcome(stepper.initialTransition(INPUT))).toEqual(outcome(initialTransition(machine, INPUT)));
    for (const [state, type, who] of CASES) {
      const snap = reach(state);
      const event = ev(SAMPLE[type], who);
      expect(outcome(stepper.transition(snap, event)), `${state} ${type} ${who}`).toEqual(outcome(transition(machine, snap, event)));
    }
  });

  it('a snapshot survives a JSON round trip', () => {
    const snap = reach('scheduled');
    const restored = machine.resolveState(JSON.parse(JSON.stringify(machine.getPersistedSnapshot(snap))));
    expect(restored.value).toBe('scheduled');
    expect(restored.context).toEqual(snap.context);
    expect(accept(restored, ev({ type: 'COMPLETE' }, 'owner')).next.value).toBe('done');
  });
});

describe('with the built-in topology', () => {
  // Beside the built-in one, a second operations coordinator that owns one service's backlog.
  const topology = compileTopology(TopologySchema.parse({
    ...DEFAULT_TOPOLOGY,
    organisations: [...DEFAULT_TOPOLOGY.organisations, { id: 'ops-einkauf', name: 'Betriebskoordination Einkauf', kind: 'operations', calendar: DEFAULT_TOPOLOGY.organisations.find((o) => o.id === 'ops-bremen')!.calendar }],
    tickets: { ...DEFAULT_TOPOLOGY.tickets, operations: 'ops-bremen' },
    services: DEFAULT_TOPOLOGY.services.map((s) =>
      s.id === 'uvo' ? { ...s, backlog: { maxLinksPerItem: 2 } } : s.id === 'datenservice-einkauf' ? { ...s, backlogOwner: 'ops-einkauf' } : s),
  }));
  const builtin = createBacklogPolicy(topology);
  const m = createBacklogMachine(builtin);
  const item = (service: string) => initialTransition(m, { ...INPUT, service })[0];

  it("reads each service's backlog owner and bound on links", () => {
    expect(builtin.backlogOwnerOf('elfe')).toBe('ops-bremen');
    expect(builtin.backlogOwnerOf('datenservice-einkauf')).toBe('ops-einkauf');
    expect(builtin.backlogOwnerOf('nope')).toBeUndefined();
    expect([builtin.maxLinksPerItem('elfe'), builtin.maxLinksPerItem('uvo'), builtin.maxLinksPerItem('nope')]).toEqual([500, 2, 500]);
    expect(item('uvo').can(ev({ type: 'LINK', link: link('tkt-c') }, 'system'))).toBe(false);
    expect(item('elfe').can(ev({ type: 'LINK', link: link('tkt-c') }, 'system'))).toBe(true);
  });

  it('lets the operations coordinator prioritise the services it owns, and not those of another owner', () => {
    expect(allowedBacklogEvents(item('elfe'), ACTORS.owner, T0)).toEqual(['PRIORITIZE', 'MERGE', 'UNMERGE']);
    expect(allowedBacklogEvents(item('datenservice-einkauf'), ACTORS.owner, T0)).toEqual([]);
    expect(allowedBacklogEvents(item('datenservice-einkauf'), { type: 'principal', orgId: 'ops-einkauf', role: 'operator' }, T0)).toEqual(['PRIORITIZE', 'MERGE', 'UNMERGE']);
    // The subject-matter office of that service holds desk keys: desks move no item.
    expect(allowedBacklogEvents(item('datenservice-einkauf'), { type: 'principal', orgId: 'bescha', role: 'desk' }, T0)).toEqual([]);
  });
});
