import { EVENT_TYPE_NAMES } from '../domain/cloudevent.js';
import { handsOffTo } from '../domain/routing.js';
import { CLOCK_NAMES } from '../domain/sla.js';
import { STATUSES } from '../domain/ticket.js';
import { PRIORITIES, type Topology } from '../domain/topology.js';
import { handoffQueueName, ownQueueNames, QUEUE } from '../queue/names.js';

/**
 * Every value a Lotse metric label may take, from the topology and the
 * domain's closed lists. A label value outside these sets is never exported:
 * no ticket id, no text a caller sent, no personal data can reach a label,
 * and the number of series stays bounded.
 */
export interface LabelSets {
  lands: ReadonlySet<string>;
  services: ReadonlySet<string>;
  priorities: ReadonlySet<string>;
  eventTypes: ReadonlySet<string>;
  clocks: ReadonlySet<string>;
  statuses: ReadonlySet<string>;
  levels: ReadonlySet<string>;
  /** Organisations that take handoffs (IT providers, vendor desks): the only orgs named in labels. */
  handoffOrgs: ReadonlySet<string>;
  queues: ReadonlySet<string>;
}

export function labelSetsOf(topology: Topology): LabelSets {
  const handoffOrgs = [...topology.orgs.keys()].filter((id) => handsOffTo(topology, id));
  return {
    lands: new Set(topology.lands.keys()),
    services: new Set(topology.services.keys()),
    priorities: new Set(PRIORITIES),
    eventTypes: new Set(Object.keys(EVENT_TYPE_NAMES)),
    clocks: new Set(CLOCK_NAMES),
    statuses: new Set(STATUSES),
    levels: new Set(['1', '2', '3']),
    handoffOrgs: new Set(handoffOrgs),
    queues: new Set(lotseQueueNames(topology)),
  };
}

/** Every queue Lotse owns: its own roles' queues, each organisation's own (`queues:`) and one `handoff-<org>` per organisation that takes handoffs. */
export function lotseQueueNames(topology: Topology): string[] {
  const handoff = [...topology.orgs.keys()].filter((id) => handsOffTo(topology, id)).map(handoffQueueName);
  return [...Object.values(QUEUE), ...ownQueueNames(topology), ...handoff];
}

/**
 * `<year>|<land>|<service>|<priority>` of `<prefix>:stats:created` (the year
 * is no label: the metric sums the years), or `<land>|<service>|<priority>`
 * as Lotse wrote it before 2026-12; null when any part is not a known value.
 */
export function parseCreatedField(field: string, sets: LabelSets): { land: string; service: string; priority: string } | null {
  const parts = field.split('|');
  if (parts.length === 4 && !/^\d{4}$/.test(parts.shift()!)) return null;
  const [land, service, priority, ...rest] = parts;
  if (rest.length > 0 || !land || !service || !priority) return null;
  if (!sets.lands.has(land) || !sets.services.has(service) || !sets.priorities.has(priority)) return null;
  return { land, service, priority };
}

/** `<type>` of `<prefix>:stats:events`. */
export function parseEventField(field: string, sets: LabelSets): { type: string } | null {
  return sets.eventTypes.has(field) ? { type: field } : null;
}

/** `<warning|breach>|<clock>|<priority>` of `<prefix>:stats:sla`. */
export function parseSlaField(field: string, sets: LabelSets): { kind: 'warning' | 'breach'; clock: string; priority: string } | null {
  const [kind, clock, priority, ...rest] = field.split('|');
  if (rest.length > 0 || (kind !== 'warning' && kind !== 'breach') || !clock || !priority) return null;
  if (!sets.clocks.has(clock) || !sets.priorities.has(priority)) return null;
  return { kind, clock, priority };
}

/** A counter hash as field → count, dropping fields whose count is not a whole number. */
export function counts(hash: Record<string, string>): [field: string, count: number][] {
  return Object.entries(hash).flatMap(([f, v]) => {
    const n = Number(v);
    return Number.isInteger(n) && n >= 0 ? [[f, n] as [string, number]] : [];
  });
}
