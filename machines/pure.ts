import { createActor, type AnyActorScope, type AnyStateMachine, type EventFromLogic, type ExecutableActionsFrom, type InputFrom, type SnapshotFrom } from 'xstate';

export interface PureStepper<M extends AnyStateMachine> {
  /** xstate's `initialTransition(machine, input)`: the first snapshot and the actions to run. */
  initialTransition(input: InputFrom<M>): [SnapshotFrom<M>, ExecutableActionsFrom<M>[]];
  /** xstate's `transition(machine, snapshot, event)`: the next snapshot and the actions to run. */
  transition(snapshot: SnapshotFrom<M>, event: EventFromLogic<M>): [SnapshotFrom<M>, ExecutableActionsFrom<M>[]];
}

/**
 * xstate's pure `initialTransition` and `transition`, computed the way xstate
 * computes them (`machine.getInitialSnapshot` / `machine.transition` with an
 * inert actor scope whose executor only collects the actions), except that
 * the inert scope is built once per machine instead of once per call. xstate
 * builds it by constructing a whole actor, which starts itself without input:
 * about half of a transition's cost for this machine.
 *
 * Sharing the scope is sound only for a machine that keeps nothing in it:
 * no invoked or spawned actors, no delayed events, no `systemId`. The ticket
 * machine is such a machine; `test/unit/pure-stepper.test.ts` walks it and
 * compares every step with xstate's own functions. Nothing runs between
 * setting the collector and reading it, so concurrent tickets cannot mix.
 */
export function createPureStepper<M extends AnyStateMachine>(machine: M): PureStepper<M> {
  const self = createActor(machine as AnyStateMachine);
  const scope: AnyActorScope = {
    self,
    defer: () => undefined,
    id: '',
    logger: () => undefined,
    sessionId: '',
    stopChild: () => undefined,
    system: self.system,
    emit: () => undefined,
    actionExecutor: () => undefined,
  };
  const collecting = () => {
    const actions: ExecutableActionsFrom<M>[] = [];
    scope.actionExecutor = (action) => {
      actions.push(action as ExecutableActionsFrom<M>);
    };
    return actions;
  };
  return {
    initialTransition(input) {
      const actions = collecting();
      const next = machine.getInitialSnapshot(scope, input) as SnapshotFrom<M>;
      return [next, actions];
    },
    transition(snapshot, event) {
      const actions = collecting();
      const next = machine.transition(snapshot, event, scope) as SnapshotFrom<M>;
      return [next, actions];
    },
  };
}
