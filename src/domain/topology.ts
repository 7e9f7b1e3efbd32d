import { z } from 'zod';
import { CalendarSchema, type Calendar } from './calendar.js';
import { ConnectorConfigSchema } from './connector-config.js';
import { BusinessDurationSchema } from './business-time.js';
import { IdSchema, LandCodeSchema, type LandCode } from './ids.js';
import {
  BacklogSettingsSchema,
  checkServiceSettings,
  DEFAULT_BACKLOG_SETTINGS,
  resolveService,
  ServiceSettingsFields,
  type Resolved,
} from './service-settings.js';

export const ORG_KINDS = ['service-desk', 'subject-matter', 'operations', 'it-provider', 'vendor-support', 'steering'] as const;
export const OrgKindSchema = z.enum(ORG_KINDS);
export type OrgKind = z.infer<typeof OrgKindSchema>;

export const ROLES = ['desk', 'provider', 'operator', 'steering'] as const;
export const RoleSchema = z.enum(ROLES);
export type Role = z.infer<typeof RoleSchema>;

export const PRIORITIES = ['P1', 'P2', 'P3', 'P4'] as const;
export const PrioritySchema = z.enum(PRIORITIES);
export type Priority = z.infer<typeof PrioritySchema>;

export const LEVELS = [1, 2, 3] as const;
export type Level = (typeof LEVELS)[number];

export const GradeSchema = z.enum(['low', 'medium', 'high']);
export type Grade = z.infer<typeof GradeSchema>;

export const LandSchema = z.strictObject({
  code: LandCodeSchema,
  name: z.string().min(1).max(100),
  ars: z.string().regex(/^\d{2}$/, 'the two-digit ARS prefix of the Land'),
  population: z.number().int().nonnegative(),
  holidays: z.string().regex(/^DE-[A-Z]{2}$/, 'a date-holidays region like DE-HB'),
});
export type Land = z.infer<typeof LandSchema>;

/** Where a population figure comes from, kept beside the numbers so they can be replaced. */
export const PopulationSourceSchema = z.strictObject({
  name: z.string().min(1),
  date: z.iso.date(),
  url: z.url().optional(),
});

const SecretRefSchema = z
  .string()
  .regex(/^(whsec_[A-Za-z0-9+/=]{16,}|env:[A-Za-z_][A-Za-z0-9_]*)$/, 'a whsec_… secret or env:VARIABLE');

export const WebhookSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  secret: SecretRefSchema,
});

/**
 * An organisation that adds or takes jobs on Lotse's queues itself, with a
 * Redis user of its own (`lotse redis-acl`): its password's SHA-256, or the
 * environment variable that holds it when the ACL is generated (default
 * `LOTSE_REDIS_PASSWORD_<ORG>`, the id upper-cased with `_` for `-`).
 */
export const QueueAccessSchema = z.union([
  z.literal(true),
  z.strictObject({
    password: z.string().regex(/^(sha256:[0-9a-f]{64}|env:[A-Za-z_][A-Za-z0-9_]*)$/, 'sha256:<64 lower-case hex> or env:VARIABLE').optional(),
  }),
]);

function isPattern(p: string): boolean {
  try {
    new RegExp(p);
    return true;
  } catch {
    return false;
  }
}

/** `organisations[].mail`: the organisation works by e-mail (src/mail; docs/reference/mail.md). */
export const OrganisationMailSchema = z.strictObject({
  address: z.email(),
  /** The other side's own ticket number, e.g. `INC-[0-9]+`. */
  ticketNumber: z.string().max(200).refine(isPattern, 'a regular expression').optional(),
  /** A pattern that means resolved; default: a line `Status: gelöst`. */
  resolvedWhen: z.string().max(200).refine(isPattern, 'a regular expression').optional(),
});

/** `mailboxes[]`: an intake address; mail to it that matches no ticket creates one on behalf of the organisation. */
export const MailboxSchema = z.strictObject({
  address: z.email(),
  orgId: IdSchema,
  service: IdSchema,
  /** The Land, where the organisation does not tell it. */
  land: LandCodeSchema.optional(),
});
export type MailboxConfig = z.infer<typeof MailboxSchema>;

export const OrganisationSchema = z.strictObject({
  id: IdSchema,
  name: z.string().min(1).max(200),
  kind: OrgKindSchema,
  land: LandCodeSchema.optional(),
  calendar: CalendarSchema,
  webhook: WebhookSchema.optional(),
  /** Uses the queues with a Redis user of its own: its own `intake-<id>`, `events-<id>` (and `handoff-<id>`) queues only. */
  queues: QueueAccessSchema.optional(),
  /** Business time a provider has to acknowledge a handoff. */
  receiptDeadline: BusinessDurationSchema.default('PT1H'),
  /** Works by e-mail: handoffs, updates and requests go to this address as mail. */
  mail: OrganisationMailSchema.optional(),
  /** Works in a ticket system of its own: handoffs become remote tickets, remote changes its answers (src/connectors). */
  connector: ConnectorConfigSchema.optional(),
});
export type Organisation = z.infer<typeof OrganisationSchema>;

/**
 * Who holds a level: a named organisation, or one of the ticket's Land's own
 * organisations (its service desk, subject-matter office, IT provider).
 */
export const HolderRefSchema = z.union([z.enum(['land-desk', 'land-fach', 'land-it']), IdSchema]);
export type HolderRef = z.infer<typeof HolderRefSchema>;

export const ServiceSchema = z.strictObject({
  id: IdSchema,
  name: z.string().min(1).max(200),
  themeField: z.string().regex(/^[a-z0-9-]+$/, 'lower-case words joined by -'),
  levels: z.strictObject({ '1': HolderRefSchema, '2': HolderRefSchema, '3': HolderRefSchema }),
  /** Who answers `subject-matter` questions at level 1; they are routed there, not escalated. */
  subjectMatter: HolderRefSchema.default('land-fach'),
  backlogOwner: IdSchema,
  shareReporterWith: z.array(IdSchema).default([]),
  ...ServiceSettingsFields,
});
/** A service as the file has it (`topology.config.services`). */
export type ServiceConfig = z.infer<typeof ServiceSchema>;
/**
 * A service as the compiled topology holds it (`topology.services`): its
 * participants filled in (every Land unless it names them) and the global
 * backlog settings merged with its own, so code reads one object per service.
 */
export type Service = Resolved<ServiceConfig>;

const TargetsSchema = z.strictObject({
  firstResponse: BusinessDurationSchema,
  resolution: BusinessDurationSchema,
});

export const SlaPolicySchema = z.strictObject({
  firstResponse: BusinessDurationSchema,
  resolution: BusinessDurationSchema,
  warnAt: z.number().gt(0).lt(1).default(0.8),
  onBreach: z.enum(['notify', 'escalate']).default('notify'),
  /** Targets that differ at a level (contracts with each IT provider differ). */
  levels: z
    .strictObject({ '1': TargetsSchema.partial().optional(), '2': TargetsSchema.partial().optional(), '3': TargetsSchema.partial().optional() })
    .optional(),
});
export type SlaPolicy = z.infer<typeof SlaPolicySchema>;

const MatrixRowSchema = z.strictObject({ high: PrioritySchema, medium: PrioritySchema, low: PrioritySchema });
/** impact (rows) × urgency (columns) → priority, as ITIL has it. */
export const PriorityMatrixSchema = z.strictObject({ high: MatrixRowSchema, medium: MatrixRowSchema, low: MatrixRowSchema });
export type PriorityMatrix = z.infer<typeof PriorityMatrixSchema>;

export const DEFAULT_PRIORITY_MATRIX: PriorityMatrix = {
  high: { high: 'P1', medium: 'P2', low: 'P3' },
  medium: { high: 'P2', medium: 'P3', low: 'P4' },
  low: { high: 'P3', medium: 'P4', low: 'P4' },
};

export const PrincipalSchema = z.strictObject({
  key: z
    .string()
    .regex(/^(sha256:[0-9a-f]{64}|env:[A-Za-z_][A-Za-z0-9_]*)$/, 'sha256:<64 lower-case hex> or env:VARIABLE'),
  orgId: IdSchema,
  role: RoleSchema,
  name: z.string().max(200).optional(),
});
export type PrincipalConfig = z.infer<typeof PrincipalSchema>;

/** Requests one key may make in a window; counted in Redis, so across every API process. */
export const RateLimitSchema = z.strictObject({
  max: z.number().int().min(1).max(1_000_000),
  windowSeconds: z.number().int().min(1).max(86_400),
});
export type RateLimit = z.infer<typeof RateLimitSchema>;

/** Generous enough for a busy desk's own system posting in bursts; a runaway client is stopped within a minute. */
export const DEFAULT_RATE_LIMITS: Record<Role, RateLimit> = {
  desk: { max: 3000, windowSeconds: 60 },
  provider: { max: 3000, windowSeconds: 60 },
  operator: { max: 6000, windowSeconds: 60 },
  steering: { max: 600, windowSeconds: 60 },
};

export const RateLimitsSchema = z
  .strictObject({
    desk: RateLimitSchema.default(DEFAULT_RATE_LIMITS.desk),
    provider: RateLimitSchema.default(DEFAULT_RATE_LIMITS.provider),
    operator: RateLimitSchema.default(DEFAULT_RATE_LIMITS.operator),
    steering: RateLimitSchema.default(DEFAULT_RATE_LIMITS.steering),
  })
  .default(DEFAULT_RATE_LIMITS);

export const TopologySchema = z
  .strictObject({
    populationSource: PopulationSourceSchema.optional(),
    lands: z.array(LandSchema).min(1),
    organisations: z.array(OrganisationSchema).min(1),
    services: z.array(ServiceSchema).min(1),
    sla: z.strictObject({ P1: SlaPolicySchema, P2: SlaPolicySchema, P3: SlaPolicySchema, P4: SlaPolicySchema }),
    priorityMatrix: PriorityMatrixSchema.default(DEFAULT_PRIORITY_MATRIX),
    principals: z.array(PrincipalSchema).default([]),
    retention: z.strictObject({ closedTicketDays: z.number().int().min(1).max(3650) }).default({ closedTicketDays: 180 }),
    /** Per role: requests per key and window (HTTP 429 beyond). */
    limits: z.strictObject({ rate: RateLimitsSchema }).default({ rate: DEFAULT_RATE_LIMITS }),
    tickets: z
      .strictObject({
        /** Calendar days after resolving in which a desk may still reopen. */
        reopenWindowDays: z.number().int().min(0).max(365).default(14),
        /** Who takes tickets a provider rejects; defaults to the one `operations` organisation. */
        operations: IdSchema.optional(),
        /** Versions a ticket may reach through callers' events: its history stays bounded, reaching it is a 422 naming the limit. */
        maxEvents: z.number().int().min(10).max(100_000).default(1000),
      })
      .default({ reopenWindowDays: 14, maxEvents: 1000 }),
    /** Backlog settings of every service that does not name its own (`services[].backlog`). */
    backlog: BacklogSettingsSchema.default(DEFAULT_BACKLOG_SETTINGS),
    /** Intake mailboxes: mail that matches no ticket creates one (src/mail). */
    mailboxes: z.array(MailboxSchema).max(100).default([]),
  })
  // `when`: the cross checks run even when other fields are wrong, so one answer names every problem.
  .superRefine(checkReferences, { when: (payload) => isCheckable(payload.value) });

export type TopologyInput = z.input<typeof TopologySchema>;
export type TopologyConfig = z.infer<typeof TopologySchema>;

type Ctx = z.RefinementCtx;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isListOf = (v: unknown, ok: (item: Record<string, unknown>) => boolean = () => true) =>
  Array.isArray(v) && v.every((item) => isRecord(item) && ok(item));

/** The lists the cross checks walk have their shape (their fields may still be wrong, and are reported on their own). */
function isCheckable(value: unknown): boolean {
  return (
    isRecord(value) &&
    isListOf(value.lands) &&
    isListOf(value.organisations) &&
    isListOf(value.services, (s) => isRecord(s.levels) && Array.isArray(s.shareReporterWith)) &&
    isListOf(value.principals) &&
    isRecord(value.tickets)
  );
}

/** A value its own schema accepted; references to anything else were reported where they stand. */
const isId = (v: unknown): v is string => IdSchema.safeParse(v).success;

function checkReferences(t: z.infer<typeof TopologySchema>, ctx: Ctx): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const orgs = new Map(t.organisations.map((o) => [o.id, o]));
  const lands = new Set(t.lands.map((l) => l.code));

  duplicates(t.lands.map((l) => l.code)).forEach((i) => issue(['lands', i, 'code'], 'duplicate Land code'));
  duplicates(t.lands.map((l) => l.ars)).forEach((i) => issue(['lands', i, 'ars'], 'duplicate ARS prefix'));
  duplicates(t.organisations.map((o) => o.id)).forEach((i) => issue(['organisations', i, 'id'], 'duplicate organisation id'));
  duplicates(t.services.map((s) => s.id)).forEach((i) => issue(['services', i, 'id'], 'duplicate service id'));

  t.organisations.forEach((o, i) => {
    if (o.land && !lands.has(o.land)) issue(['organisations', i, 'land'], `unknown Land ${o.land}`);
  });

  const landOrg: Record<'land-desk' | 'land-fach' | 'land-it', OrgKind> = {
    'land-desk': 'service-desk',
    'land-fach': 'subject-matter',
    'land-it': 'it-provider',
  };
  const checkHolder = (ref: HolderRef, path: (string | number)[]) => {
    if (ref === 'land-desk' || ref === 'land-fach' || ref === 'land-it') {
      const kind = landOrg[ref];
      const missing = t.lands.filter((l) => !t.organisations.some((o) => o.kind === kind && o.land === l.code));
      if (missing.length > 0) issue(path, `${ref} needs an organisation of kind ${kind} in every Land; none in ${missing.map((l) => l.code).join(', ')}`);
    } else if (isId(ref) && !orgs.has(ref)) issue(path, `unknown organisation ${ref}`);
  };
  t.services.forEach((s, i) => {
    for (const level of ['1', '2', '3'] as const) checkHolder(s.levels[level], ['services', i, 'levels', level]);
    checkHolder(s.subjectMatter, ['services', i, 'subjectMatter']);
    if (isId(s.backlogOwner) && !orgs.has(s.backlogOwner)) issue(['services', i, 'backlogOwner'], `unknown organisation ${s.backlogOwner}`);
    // The owner ranks and decides the service's backlog with an operator key: only an organisation that may hold one can.
    else if (isId(s.backlogOwner) && OrgKindSchema.safeParse(orgs.get(s.backlogOwner)?.kind).success && !rolesFor(orgs.get(s.backlogOwner)!.kind).includes('operator')) {
      issue(['services', i, 'backlogOwner'], `must be an organisation that may hold the operator role (it decides the backlog with an operator key); ${s.backlogOwner} is of kind ${orgs.get(s.backlogOwner)!.kind}`);
    }
    s.shareReporterWith.forEach((id, j) => {
      if (isId(id) && !orgs.has(id)) issue(['services', i, 'shareReporterWith', j], `unknown organisation ${id}`);
    });
    checkServiceSettings(s, ['services', i], lands, issue);
  });

  // Intake mailboxes (mail): a known organisation and service, and a Land where the organisation names none.
  const services = new Set(t.services.map((s) => s.id));
  (t.mailboxes ?? []).forEach((m, i) => {
    if (isId(m.orgId) && !orgs.has(m.orgId)) issue(['mailboxes', i, 'orgId'], `unknown organisation ${m.orgId}`);
    if (isId(m.service) && !services.has(m.service)) issue(['mailboxes', i, 'service'], `unknown service ${m.service}`);
    const land = m.land ?? orgs.get(m.orgId)?.land;
    if (!land) issue(['mailboxes', i, 'land'], `needed: ${m.orgId} names no Land`);
    else if (!lands.has(land)) issue(['mailboxes', i, 'land'], `unknown Land ${land}`);
  });
  duplicates((t.mailboxes ?? []).map((m) => m.address.toLowerCase())).forEach((i) => issue(['mailboxes', i, 'address'], 'duplicate mailbox address'));

  t.principals.forEach((p, i) => {
    const org = orgs.get(p.orgId);
    if (!org) {
      if (isId(p.orgId)) issue(['principals', i, 'orgId'], `unknown organisation ${p.orgId}`);
    } else if (OrgKindSchema.safeParse(org.kind).success && RoleSchema.safeParse(p.role).success && !rolesFor(org.kind).includes(p.role)) {
      issue(['principals', i, 'role'], `an organisation of kind ${org.kind} may hold the roles ${rolesFor(org.kind).join(', ')}`);
    }
  });
  duplicates(t.principals.map((p) => p.key)).forEach((i) => issue(['principals', i, 'key'], 'duplicate key'));

  const operations = t.organisations.filter((o) => o.kind === 'operations');
  if (t.tickets.operations) {
    if (orgs.get(t.tickets.operations)?.kind !== 'operations') {
      issue(['tickets', 'operations'], 'must name an organisation of kind operations');
    }
  } else if (operations.length !== 1) {
    issue(['tickets', 'operations'], `name the operations organisation: there are ${operations.length} of kind operations`);
  }
}

/** Indices of every entry that repeats an earlier one. */
function duplicates(values: string[]): number[] {
  const seen = new Set<string>();
  return values.flatMap((v, i) => (seen.has(v) ? [i] : (seen.add(v), [])));
}

/** Which roles an organisation of a kind may be given. */
export function rolesFor(kind: OrgKind): Role[] {
  switch (kind) {
    case 'service-desk':
    case 'subject-matter':
      return ['desk'];
    case 'vendor-support':
      return ['desk', 'provider'];
    case 'it-provider':
      return ['provider'];
    case 'operations':
      return ['operator'];
    case 'steering':
      return ['steering'];
  }
}

/** The parsed topology with lookups, frozen; everything downstream reads this. */
export interface Topology {
  readonly config: TopologyConfig;
  readonly lands: ReadonlyMap<LandCode, Land>;
  readonly landByArs: ReadonlyMap<string, Land>;
  readonly orgs: ReadonlyMap<string, Organisation>;
  readonly services: ReadonlyMap<string, Service>;
  readonly operations: string;
  calendarOf(orgId: string): Calendar;
}

export function compileTopology(config: TopologyConfig): Topology {
  const orgs = new Map(config.organisations.map((o) => [o.id, o]));
  const operations = config.tickets.operations ?? config.organisations.find((o) => o.kind === 'operations')!.id;
  return Object.freeze({
    config: deepFreeze(config),
    lands: new Map(config.lands.map((l) => [l.code, l])),
    landByArs: new Map(config.lands.map((l) => [l.ars, l])),
    orgs,
    services: new Map(config.services.map((s) => [s.id, deepFreeze(resolveService(s, config.lands.map((l) => l.code), config.backlog))])),
    operations,
    calendarOf(orgId: string): Calendar {
      const org = orgs.get(orgId);
      if (!org) throw new Error(`unknown organisation ${orgId}`);
      return org.calendar;
    },
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
