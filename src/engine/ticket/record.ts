import type { TicketContext } from '../../../machines/ticket.machine.js';
import type { ReachFacts } from '../../domain/access.js';
import type { Reporter, Status } from '../../domain/ticket.js';
import type { Level } from '../../domain/topology.js';

/**
 * The facts of a ticket that never change after creation and that the
 * machine does not hold (stored once, beside the snapshot). Land, service and
 * category (the routing facts) live only in `state.context.facts`; createdBy,
 * receivedAt and createdAt only in `state.context`.
 */
export interface TicketData {
  externalRef: string;
  channel: 'phone-115' | 'service-desk' | 'email' | 'web' | 'chat';
  ars?: string | undefined;
  themeField: string;
  subject: string;
  description: string;
  attachments: { name: string; url: string; size: number }[];
}

/** The part of a machine snapshot Lotse persists: `resolveState` takes exactly this. */
export interface TicketState {
  value: string | Record<string, string>;
  context: TicketContext;
}

/** Where a ticket came from, written once beside it: what its erasure must find. */
export interface TicketOrigin {
  /** The Redis key of the creation's idempotency record. */
  k: string;
  /** The intake job that created it, when one did. */
  j?: string;
}

/** A loaded ticket: stored facts plus its machine state. */
export interface TicketRecord {
  id: string;
  version: number;
  data: TicketData;
  reporter: Reporter | null;
  origin?: TicketOrigin | null;
  state: TicketState;
  updatedAt: number;
}

export interface StateInfo {
  /** Dotted path: `level2.handoffPending`. */
  path: string;
  status: Status;
  level: Level | null;
  active: boolean;
}

const STATUS_OF: Record<string, Status> = {
  new: 'new',
  open: 'open',
  waiting: 'waiting',
  handoffPending: 'handoff-pending',
  resolved: 'resolved',
  closed: 'closed',
};

export function stateInfo(value: TicketState['value']): StateInfo {
  if (typeof value === 'string') {
    return { path: value, status: STATUS_OF[value] ?? 'new', level: null, active: false };
  }
  const [top, leaf] = Object.entries(value)[0] ?? ['level1', 'new'];
  return { path: `${top}.${leaf}`, status: STATUS_OF[leaf] ?? 'new', level: Number(top.replace('level', '')) as Level, active: true };
}

export function reachFacts(record: Pick<TicketRecord, 'data' | 'state'>): ReachFacts {
  return {
    land: record.state.context.facts.land,
    service: record.state.context.facts.service,
    createdBy: record.state.context.createdBy,
    handledBy: record.state.context.handledBy,
  };
}
