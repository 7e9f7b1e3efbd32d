/**
 * machines/pure.ts computes xstate's pure initialTransition/transition with
 * one inert actor scope per machine instead of one per call. These walks
 * hold it to xstate's own functions, step by step: the same snapshot and
 * the same actions, for every event tried (taken or refused) on seeded
 * random walks through all three levels.
 */
import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { createPureStepper } from '../../machines/pure.js';
import { seededRandom } from '../../src/seeded-random.js';
import { MINUTE, T0, candidateEvents, inputOf, machine, stateOf, type Snap, type TicketSpec } from './ticket-fixtures.js';

const stepper = createPureStepper(machine);

/** What a step leaves behind, comparable with toEqual. */
const outcome = ([snap, actions]: [Snap, readonly { type: string; params?: unknown }[]]) => ({
  status: snap.status,
  value: snap.value,
  context: snap.context,
  actions: actions.map((a) => ({ type: a.type, params: a.params })),
});

const SPECS: TicketSpec[] = [
  { service: 'uvo', land: 'BY', category: 'technical', createdBy: 'desk-BY', impact: 'high', urgency: 'high' },
  { service: 'elfe', land: 'HB', category: 'subject-matter', createdBy: 'desk-HB', impact: 'low', urgency: 'medium' },
  { service: 'lieferantencockpit', land: 'NW', category: 'question', createdBy: 'vendor-lc', impact: 'medium', urgency: 'medium' },
];

describe('the pure stepper against xstate', () => {
  it.each(SPECS.map((s) => [`${s.service} from ${s.land}`, s] as const))('gives the same first snapshot and actions for %s', (_name, spec) => {
    expect(outcome(stepper.initialTransition(inputOf(spec)))).toEqual(outcome(initialTransition(machine, inputOf(spec))));
  });

  it('gives the same snapshot and actions for every event tried on 60 seeded walks', () => {
    let taken = 0;
    let refused = 0;
    const seen = new Set<string>();
    for (let walk = 0; walk < 60; walk++) {
      const random = seededRandom(walk + 1);
      const spec = SPECS[walk % SPECS.length]!;
      let snap = initialTransition(machine, inputOf(spec))[0];
      let at = T0;
      for (let step = 0; step < 25 && snap.status === 'active'; step++) {
        at += Math.floor(random() * 90) * MINUTE;
        const events = candidateEvents(snap, at);
        for (const event of events) {
          const ours = stepper.transition(snap, event);
          expect(outcome(ours), `${event.type} by ${JSON.stringify(event.actor)}`).toEqual(outcome(transition(machine, snap, event)));
        }
        const possible = events.filter((e) => snap.can(e));
        refused += events.length - possible.length;
        if (possible.length === 0) break;
        const chosen = possible[Math.floor(random() * possible.length)]!;
        snap = stepper.transition(snap, chosen)[0];
        seen.add(stateOf(snap));
        at = Math.max(at, chosen.at);
        taken++;
      }
    }
    // The walks went somewhere: many steps taken, many refusals compared too.
    expect(taken).toBeGreaterThan(300);
    expect(refused).toBeGreaterThan(1000);
    for (const state of ['level2.handoffPending', 'level3.open', 'level1.waiting', 'resolved', 'closed']) expect([...seen]).toContain(state);
  });
});
