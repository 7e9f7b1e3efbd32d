import type { SnapshotFrom } from 'xstate';
import { explainBacklogRefusal } from '../../../machines/backlog.explain.js';
import type { BacklogEvent, BacklogMachine } from '../../../machines/backlog.machine.js';
import type { BacklogPolicy } from '../../domain/backlog-policy.js';
import { AppError } from '../../errors.js';

/**
 * Why the machine refused an event: 403 when someone else may send it now,
 * else 409 naming the events the caller may send.
 */
export function refuseBacklogEvent(policy: BacklogPolicy, snapshot: SnapshotFrom<BacklogMachine>, event: BacklogEvent): AppError {
  const why = explainBacklogRefusal(policy, snapshot, event);
  return why.kind === 'forbidden'
    ? new AppError('FORBIDDEN', `In state ${why.state} only ${why.couldSend.join(' or ')} may send ${event.type}`, { allowedEvents: why.allowedEvents })
    : new AppError('INVALID_TRANSITION', `${event.type} is not possible for this item in state ${why.state}`, { state: why.state, allowedEvents: why.allowedEvents });
}
