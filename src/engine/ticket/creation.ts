import { landOf } from '../../domain/routing.js';
import type { CreateTicket } from '../../domain/ticket.js';
import type { Topology } from '../../domain/topology.js';
import { validationFailed, type FieldError } from '../../errors.js';

const RECEIVED_AT_MAX_AGE_MS = 7 * 86_400_000;
const CLOCK_SKEW_MS = 60_000;

/**
 * What the schema cannot know of a creation: the Land of an ARS, the
 * services of this topology, the age of `receivedAt`. Reads raw input too,
 * so one answer can name every wrong field even when others are malformed.
 */
export function topologyErrors(topology: Topology, input: unknown, now: number): FieldError[] {
  if (!input || typeof input !== 'object') return [];
  const raw = input as Record<string, unknown>;
  const errors: FieldError[] = [];
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const land = str(raw.land) as CreateTicket['land'];
  const ars = str(raw.ars);
  if (land !== undefined || ars !== undefined) {
    const place = landOf(topology, { land, ars });
    if ('error' in place) errors.push(place.error);
  }
  const service = str(raw.service);
  if (service !== undefined && !topology.services.has(service)) {
    errors.push({ path: 'service', message: `unknown service; known: ${[...topology.services.keys()].join(', ')}` });
  }
  const receivedAt = str(raw.receivedAt) === undefined ? NaN : Date.parse(str(raw.receivedAt)!);
  if (receivedAt > now + CLOCK_SKEW_MS) errors.push({ path: 'receivedAt', message: 'must not be in the future' });
  else if (receivedAt < now - RECEIVED_AT_MAX_AGE_MS) errors.push({ path: 'receivedAt', message: 'must not be older than 7 days' });
  return errors;
}

/** Every wrong field of a create body: its shape (the schema's issues) and its fit with the topology. */
export function createErrors(topology: Topology, input: unknown, issues: FieldError[], now: number): FieldError[] {
  const seen = new Set(issues.map((e) => e.path));
  return [...issues, ...topologyErrors(topology, input, now).filter((e) => !seen.has(e.path))];
}

/** A parsed creation checked against the topology: its Land, its service and when it was received. */
export function checkCreation(topology: Topology, body: CreateTicket, now: number) {
  const errors = topologyErrors(topology, body, now);
  const place = landOf(topology, body);
  const service = topology.services.get(body.service);
  if (errors.length > 0 || 'error' in place || !service) throw validationFailed(errors);
  const receivedAt = body.receivedAt === undefined ? now : Math.min(Date.parse(body.receivedAt), now);
  return { land: place.land, service, receivedAt };
}
