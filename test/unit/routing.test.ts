/**
 * Routing, the Land of a ticket, priority and access over the default
 * topology, table-driven from docs/reference/api.md and docs/guides/domain.md.
 */
import { describe, it, expect } from 'vitest';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { canReach, canSeeReporter, devRoleFor, reachingOrgs, type Principal, type ReachFacts } from '../../src/domain/access.js';
import { LAND_CODES, type LandCode } from '../../src/domain/ids.js';
import { handsOffTo, landOf, priorityOf, receivesHandoffs, resolveHolder, routeTicket } from '../../src/domain/routing.js';
import { CATEGORIES, type Category } from '../../src/domain/ticket.js';
import {
  compileTopology, DEFAULT_PRIORITY_MATRIX, ORG_KINDS, TopologySchema, type Grade, type Level, type OrgKind, type Role,
} from '../../src/domain/topology.js';

const topology = compileTopology(TopologySchema.parse(DEFAULT_TOPOLOGY));

type Holder = (land: LandCode) => string;
const desk: Holder = (l) => `desk-${l}`;
const fach: Holder = (l) => `fach-${l}`;
const landIt: Holder = (l) => `it-${l}`;
const org = (id: string): Holder => () => id;

/**
 * Who holds each level of each service (docs/guides/domain.md): level 1 the Land's desk
 * or the vendor's, subject-matter questions at level 1 the Land's Fachstelle
 * (or the service's own subject-matter holder), level 2 the IT provider or
 * operations, level 3 the named organisation or the Land's own IT provider.
 */
const HOLDERS: Record<string, { 1: Holder; subjectMatter: Holder; 2: Holder; 3: Holder }> = {
  elfe: { 1: desk, subjectMatter: fach, 2: org('dataport'), 3: landIt },
  uvo: { 1: desk, subjectMatter: fach, 2: org('dataport'), 3: landIt },
  vms: { 1: desk, subjectMatter: fach, 2: org('ops-bremen'), 3: landIt },
  ehe: { 1: desk, subjectMatter: fach, 2: org('it-HE'), 3: landIt },
  lieferantencockpit: { 1: org('vendor-lc'), subjectMatter: org('vendor-lc'), 2: org('ops-bremen'), 3: org('dataport') },
  'pq-portal': { 1: org('vendor-pq'), subjectMatter: org('vendor-pq'), 2: org('ops-bremen'), 3: org('dataport') },
  'datenservice-einkauf': { 1: org('bescha'), subjectMatter: org('bescha'), 2: org('ops-bremen'), 3: org('dataport') },
};
/** IT providers and vendor desks get handoffs; desks, Fachstellen, operations and BeschA do not. */
const TAKES_HANDOFFS = /^(it-[A-Z]{2}|dataport|vendor-lc|vendor-pq)$/;

const LEVELS: Level[] = [1, 2, 3];

describe('routeTicket', () => {
  const cases = Object.keys(HOLDERS).flatMap((service) => LAND_CODES.map((land) => [service, land] as const));

  it.each(cases)('%s from %s: every category at every level', (service, land) => {
    const actual: Record<string, { orgId: string; handoff: boolean }> = {};
    const expected: typeof actual = {};
    const row = HOLDERS[service]!;
    for (const category of CATEGORIES) {
      for (const level of LEVELS) {
        const holder = (level === 1 && category === 'subject-matter' ? row.subjectMatter : row[level])(land);
        actual[`${category} L${level}`] = routeTicket(topology, { service, land, category }, level);
        expected[`${category} L${level}`] = { orgId: holder, handoff: TAKES_HANDOFFS.test(holder) };
      }
    }
    expect(actual).toEqual(expected);
  });

  it('covers every service of the topology', () => {
    expect([...topology.services.keys()].sort()).toEqual(Object.keys(HOLDERS).sort());
  });

  it('refuses an unknown service', () => {
    expect(() => routeTicket(topology, { service: 'nope', land: 'HB', category: 'question' }, 1)).toThrow(/unknown service nope/);
  });

  it.each([
    ['land-desk', 'HB', 'desk-HB'], ['land-fach', 'SN', 'fach-SN'], ['land-it', 'TH', 'it-TH'], ['dataport', 'BY', 'dataport'],
  ] as const)('resolveHolder(%s, %s) = %s', (ref, land, id) => {
    expect(resolveHolder(topology, ref, land)).toBe(id);
  });

  it('resolveHolder names the missing organisation when a Land has none of the kind', () => {
    const raw = structuredClone(DEFAULT_TOPOLOGY);
    raw.services = raw.services.map((s) => ({ ...s, levels: { 1: 'desk-HB', 2: 'dataport', 3: 'dataport' }, subjectMatter: 'bescha' }));
    raw.organisations = raw.organisations.filter((o) => o.id !== 'it-SL');
    const partial = compileTopology(TopologySchema.parse(raw));
    expect(() => resolveHolder(partial, 'land-it', 'SL')).toThrow(/no it-provider organisation in SL/);
  });
});

describe('who gets handoffs', () => {
  it.each(ORG_KINDS.map((k) => [k, k === 'it-provider' || k === 'vendor-support'] as const))('kind %s: %s', (kind, takes) => {
    expect(receivesHandoffs(kind as OrgKind)).toBe(takes);
  });

  it('handsOffTo agrees with the kinds for every organisation, and is false for unknown ids', () => {
    for (const id of topology.orgs.keys()) expect(handsOffTo(topology, id), id).toBe(TAKES_HANDOFFS.test(id));
    expect(handsOffTo(topology, 'nobody')).toBe(false);
  });
});

describe('landOf', () => {
  const ARS: [string, LandCode][] = [
    ['01', 'SH'], ['02', 'HH'], ['03', 'NI'], ['04', 'HB'], ['05', 'NW'], ['06', 'HE'], ['07', 'RP'], ['08', 'BW'],
    ['09', 'BY'], ['10', 'SL'], ['11', 'BE'], ['12', 'BB'], ['13', 'MV'], ['14', 'SN'], ['15', 'ST'], ['16', 'TH'],
  ];

  it.each(ARS)('ARS prefix %s names %s', (prefix, land) => {
    expect(landOf(topology, { ars: prefix })).toEqual({ land });
    expect(landOf(topology, { ars: `${prefix}0000000000` })).toEqual({ land });
  });

  it.each([
    ['a land as given', { land: 'HB' }, { land: 'HB' }],
    ['a full ARS (Landshut, Bavaria)', { ars: '091620000000' }, { land: 'BY' }],
    ['a Bremen municipality', { ars: '040110000000' }, { land: 'HB' }],
    ['land and ARS agreeing', { land: 'BY', ars: '09162000' }, { land: 'BY' }],
    ['land and ARS disagreeing', { land: 'HB', ars: '091620000000' }, { error: { path: 'ars', message: 'the ARS names BY, not HB' } }],
    ['an unknown prefix 17', { ars: '170000000000' }, { error: { path: 'ars', message: 'no Land has the ARS prefix 17' } }],
    ['an unknown prefix 00', { ars: '00' }, { error: { path: 'ars', message: 'no Land has the ARS prefix 00' } }],
    ['an unknown prefix with a land', { land: 'HB', ars: '99' }, { error: { path: 'ars', message: 'no Land has the ARS prefix 99' } }],
    ['a land the topology does not know', { land: 'XX' }, { error: { path: 'land', message: 'unknown Land XX' } }],
    ['neither', {}, { error: { path: 'land', message: 'give land or ars' } }],
  ] as [string, { land?: LandCode; ars?: string }, unknown][])('%s', (_what, place, result) => {
    expect(landOf(topology, place)).toEqual(result);
  });
});

describe('priorityOf', () => {
  /** ITIL: impact (rows) × urgency (columns). */
  const MATRIX: [Grade, Record<Grade, string>][] = [
    ['high', { high: 'P1', medium: 'P2', low: 'P3' }],
    ['medium', { high: 'P2', medium: 'P3', low: 'P4' }],
    ['low', { high: 'P3', medium: 'P4', low: 'P4' }],
  ];
  const cells = MATRIX.flatMap(([impact, row]) => Object.entries(row).map(([urgency, p]) => [impact, urgency as Grade, p] as const));

  it.each(cells)('impact %s × urgency %s = %s', (impact, urgency, priority) => {
    expect(priorityOf(topology.config.priorityMatrix, impact, urgency)).toBe(priority);
    expect(priorityOf(DEFAULT_PRIORITY_MATRIX, impact, urgency)).toBe(priority);
  });

  it('follows a configured matrix', () => {
    const flat = TopologySchema.parse({
      ...DEFAULT_TOPOLOGY,
      priorityMatrix: { high: { high: 'P1', medium: 'P1', low: 'P1' }, medium: { high: 'P2', medium: 'P2', low: 'P2' }, low: { high: 'P4', medium: 'P4', low: 'P4' } },
    }).priorityMatrix;
    expect(cells.map(([i, u]) => priorityOf(flat, i, u))).toEqual(['P1', 'P1', 'P1', 'P2', 'P2', 'P2', 'P4', 'P4', 'P4']);
  });
});

describe('access', () => {
  /** A uvo ticket from Bavaria taken by 115 Hessen, so far with the Bavarian desk and Dataport. */
  const ticket: ReachFacts = { land: 'BY', service: 'uvo', createdBy: 'desk-HE', handledBy: ['desk-BY', 'dataport'] };
  const elfe: ReachFacts = { ...ticket, service: 'elfe' };
  const who = (orgId: string, role: Role, land?: LandCode): Principal => ({ orgId, role, land });

  it.each([
    ['an operator', who('ops-bremen', 'operator', 'HB'), true],
    ['the desk of the Land', who('desk-BY', 'desk', 'BY'), true],
    ['the Fachstelle of the Land', who('fach-BY', 'desk', 'BY'), true],
    ['the creating desk of another Land', who('desk-HE', 'desk', 'HE'), true],
    ['a provider it was handed to', who('dataport', 'provider'), true],
    ['the Land IT provider before any handoff', who('it-BY', 'provider', 'BY'), false],
    ['a desk of another Land', who('desk-NW', 'desk', 'NW'), false],
    ['a desk claiming the Land it is not in', who('desk-NW', 'desk', 'BY'), false],
    ['an unrelated provider', who('it-NW', 'provider', 'NW'), false],
    ['a vendor desk', who('vendor-lc', 'desk'), false],
    ['the steering committee', who('steuerungskreis', 'steering'), false],
  ] as const)('canReach: %s → %s', (_what, principal, reach) => {
    expect(canReach(topology, principal, ticket)).toBe(reach);
  });

  it('reachingOrgs: the creator, every holder so far and the desks of the Land', () => {
    expect(reachingOrgs(topology, ticket).sort()).toEqual(['dataport', 'desk-BY', 'desk-HE', 'fach-BY']);
  });

  it('reachingOrgs agrees with canReach for every organisation that is not an operator', () => {
    const reaching = new Set(reachingOrgs(topology, ticket));
    for (const o of topology.orgs.values()) {
      const role = devRoleFor(topology, o.id)!;
      if (role === 'operator' || role === 'steering') continue;
      expect(canReach(topology, who(o.id, role, o.land), ticket), o.id).toBe(reaching.has(o.id));
    }
  });

  it.each([
    ['the creating desk', 'desk-HE', ticket, true],
    ['the desk of the Land', 'desk-BY', ticket, true],
    ['the Fachstelle of the Land', 'fach-BY', ticket, true],
    ['Dataport, for uvo (shareReporterWith)', 'dataport', ticket, true],
    ['Dataport, for elfe (no sharing)', 'dataport', elfe, false],
    ['the Land IT provider', 'it-BY', ticket, false],
    ['operations', 'ops-bremen', ticket, false],
    ['a desk of another Land', 'desk-NW', ticket, false],
    ['an unknown organisation', 'nobody', ticket, false],
  ] as const)('canSeeReporter: %s → %s', (_what, orgId, facts, sees) => {
    expect(canSeeReporter(topology, orgId, facts)).toBe(sees);
  });

  it.each([
    ['desk-HB', 'desk'], ['fach-HB', 'desk'], ['vendor-lc', 'desk'], ['bescha', 'desk'],
    ['it-HB', 'provider'], ['dataport', 'provider'], ['ops-bremen', 'operator'], ['steuerungskreis', 'steering'], ['nobody', undefined],
  ] as const)('devRoleFor(%s) = %s', (orgId, role) => {
    expect(devRoleFor(topology, orgId)).toBe(role);
  });

  it('gives every organisation a development role its kind may hold', () => {
    for (const o of topology.orgs.values()) {
      expect(TopologySchema.safeParse({ ...DEFAULT_TOPOLOGY, principals: [{ key: 'env:K', orgId: o.id, role: devRoleFor(topology, o.id) }] }).success, o.id).toBe(true);
    }
  });
});

it('every category routes: the list is the contract\'s', () => {
  expect([...CATEGORIES]).toEqual(['question', 'subject-matter', 'technical', 'improvement'] satisfies Category[]);
});
