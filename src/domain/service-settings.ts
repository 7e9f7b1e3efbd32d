import { z } from 'zod';
import { LandCodeSchema, type LandCode } from './ids.js';

/**
 * What the alliance of a service settles beside its support levels: the
 * yearly budget and who shares it (cost model, participating Länder), and
 * how its backlog is fed (recurring problems, text matching, limits). The
 * backlog settings have a global default and a per-service override; the
 * parsed topology carries the merged settings on every service, so code reads
 * one object per service.
 */

/** Euros with at most two decimals, up to a trillion (the cents stay a safe integer). */
export const EurosSchema = z
  .number()
  .nonnegative()
  .max(1e12)
  .refine((euros) => Math.abs(euros * 100 - Math.round(euros * 100)) < 1e-6, 'euros with at most two decimals (whole cents)');

/** Euros (as the file has them) to whole cents; exact for every value EurosSchema accepts. */
export const eurosToCents = (euros: number): number => Math.round(euros * 100);

/** Budget per year in euros: `{ "2026": 1250000.00 }`. */
export const BudgetSchema = z.record(z.string().regex(/^\d{4}$/, 'a year of four digits, like "2026"'), EurosSchema);
export type Budget = z.infer<typeof BudgetSchema>;

/** How a budget is split: by population (the seed's rule), equal shares, or fixed shares the alliance agreed. */
export const CostModelSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('population') }),
  z.strictObject({ kind: z.literal('equal') }),
  z.strictObject({ kind: z.literal('fixed'), shares: z.partialRecord(LandCodeSchema, z.number().min(0).max(1)) }),
]);
export type CostModel = z.infer<typeof CostModelSchema>;

/** How far fixed shares may stray from adding up to 1 (binary fractions such as 0.1 are not exact). */
export const SHARE_SUM_TOLERANCE = 1e-9;

const RecurringSchema = z.strictObject({
  /** At least this many technical tickets with matching subjects… */
  minTickets: z.number().int().min(2).max(1_000),
  /** …from at least this many Länder… */
  minLands: z.number().int().min(1).max(16),
  /** …within this many days make one "recurring problem" suggestion. */
  windowDays: z.number().int().min(1).max(365),
});

const TermSchema = z.string().trim().min(1).max(100);

const BacklogFields = {
  recurring: RecurringSchema,
  /** How similar (0..1) a suggestion must be to an item to be linked to it rather than open a new one. */
  similarityThreshold: z.number().gt(0).max(1),
  /** Groups of words matched as one (`hochladen` ↔ `upload`); written as users write them, folded by the normaliser. */
  synonyms: z.array(z.array(TermSchema).min(2).max(20)).max(1_000),
  /** Suggestions one ticket may make; more are refused with the reason. */
  maxSuggestionsPerTicket: z.number().int().min(1).max(100),
  /** Tickets one item may link; keeps an item's size in Redis bounded. */
  maxLinksPerItem: z.number().int().min(1).max(100_000),
};

export const DEFAULT_BACKLOG_SETTINGS = {
  recurring: { minTickets: 5, minLands: 2, windowDays: 7 },
  similarityThreshold: 0.45,
  synonyms: [['hochladen', 'upload'], ['anmeldung', 'login']],
  maxSuggestionsPerTicket: 3,
  maxLinksPerItem: 500,
} satisfies BacklogSettings;

/** The global backlog settings; each field left out takes its default. */
export const BacklogSettingsSchema = z.strictObject({
  recurring: RecurringSchema.partial()
    .default({})
    .transform((r) => ({ ...DEFAULT_BACKLOG_SETTINGS.recurring, ...r })),
  similarityThreshold: BacklogFields.similarityThreshold.default(DEFAULT_BACKLOG_SETTINGS.similarityThreshold),
  synonyms: BacklogFields.synonyms.default(DEFAULT_BACKLOG_SETTINGS.synonyms),
  maxSuggestionsPerTicket: BacklogFields.maxSuggestionsPerTicket.default(DEFAULT_BACKLOG_SETTINGS.maxSuggestionsPerTicket),
  maxLinksPerItem: BacklogFields.maxLinksPerItem.default(DEFAULT_BACKLOG_SETTINGS.maxLinksPerItem),
});
export type BacklogSettings = {
  recurring: z.infer<typeof RecurringSchema>;
  similarityThreshold: number;
  synonyms: string[][];
  maxSuggestionsPerTicket: number;
  maxLinksPerItem: number;
};

/**
 * A service's own backlog settings: what it names replaces the global value
 * (synonyms too: the list a service gives is its whole list); `recurring` is
 * merged field by field.
 */
export const BacklogOverrideSchema = z.strictObject({
  recurring: RecurringSchema.partial().optional(),
  similarityThreshold: BacklogFields.similarityThreshold.optional(),
  synonyms: BacklogFields.synonyms.optional(),
  maxSuggestionsPerTicket: BacklogFields.maxSuggestionsPerTicket.optional(),
  maxLinksPerItem: BacklogFields.maxLinksPerItem.optional(),
});
export type BacklogOverride = z.infer<typeof BacklogOverrideSchema>;

/** The global settings with a service's override laid over them. */
export function resolveBacklogSettings(global: BacklogSettings, own: BacklogOverride | undefined): BacklogSettings {
  if (!own) return global;
  const defined = Object.fromEntries(Object.entries(own).filter(([, v]) => v !== undefined)) as Partial<BacklogSettings>;
  return { ...global, ...defined, recurring: { ...global.recurring, ...own.recurring } };
}

/** The fields a service's entry in the file may carry for its budget and backlog. */
export const ServiceSettingsFields = {
  /** Yearly budget in euros, `{ "2026": 1250000.00 }`. */
  budget: BudgetSchema.default({}),
  /** The Länder that use the service and share its costs; default every Land of the topology. */
  participants: z.array(LandCodeSchema).min(1).optional(),
  costModel: CostModelSchema.default({ kind: 'population' }),
  backlog: BacklogOverrideSchema.optional(),
};

type Issue = (path: (string | number)[], message: string) => void;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Cross checks of a service's settings against the Länder: participants are
 * Länder of the topology, each once; fixed shares name exactly the
 * participants and add up to 1. Written against what may still be wrong in
 * other fields (each reported on its own), so it never throws.
 */
export function checkServiceSettings(service: Record<string, unknown>, path: (string | number)[], lands: ReadonlySet<string>, issue: Issue): void {
  const named = Array.isArray(service.participants) ? (service.participants as unknown[]) : undefined;
  const seen = new Set<unknown>();
  named?.forEach((code, j) => {
    if (seen.has(code)) issue([...path, 'participants', j], `${String(code)} is named twice`);
    else if (LandCodeSchema.safeParse(code).success && !lands.has(code as string)) issue([...path, 'participants', j], `${String(code)} is not a Land of this topology`);
    seen.add(code);
  });
  const participants = named ? [...new Set(named)].map(String) : [...lands];
  const model = service.costModel;
  if (!isRecord(model) || model.kind !== 'fixed' || !isRecord(model.shares)) return;
  const shares = model.shares;
  for (const code of Object.keys(shares)) {
    if (!participants.includes(code)) issue([...path, 'costModel', 'shares', code], `${code} is not a participant of the service`);
  }
  const missing = participants.filter((code) => !(code in shares));
  if (missing.length > 0) issue([...path, 'costModel', 'shares'], `fixed shares must name every participant; missing ${missing.join(', ')}`);
  const values = Object.values(shares);
  if (values.every((v) => typeof v === 'number')) {
    const sum = (values as number[]).reduce((a, b) => a + b, 0);
    if (Math.abs(sum - 1) > SHARE_SUM_TOLERANCE) issue([...path, 'costModel', 'shares'], `fixed shares must add up to 1; they add up to ${sum}`);
  }
}

/** A service as the parsed topology holds it: participants and backlog settings filled in. */
export type Resolved<S> = Omit<S, 'participants' | 'backlog'> & { participants: LandCode[]; backlog: BacklogSettings };

export function resolveService<S extends { participants?: LandCode[] | undefined; backlog?: BacklogOverride | undefined }>(
  service: S,
  lands: readonly LandCode[],
  global: BacklogSettings,
): Resolved<S> {
  return { ...service, participants: service.participants ?? [...lands], backlog: resolveBacklogSettings(global, service.backlog) };
}

/** A service's budget for a year in whole cents, or undefined when it has none for that year. */
export function budgetCentsOf(service: { budget: Budget }, year: string | number): number | undefined {
  const euros = service.budget[String(year)];
  return euros === undefined ? undefined : eurosToCents(euros);
}
