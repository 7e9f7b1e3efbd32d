/**
 * The demo's stream of tickets, decided ahead of time from a seed: when each
 * arrives (in simulated office time), from which Land (by population), for
 * which service, of which category, with which words. Pure: the same seed
 * gives the same tickets in the same order; only the moment they are sent
 * depends on the real clock.
 */
import type { Category } from '../domain/ticket.js';
import type { Grade } from '../domain/topology.js';
import { seededRandom } from '../seeded-random.js';
import { BROWSERS, CATALOGUE, REPORTER_NAMES, SERVICE_WEIGHTS, STEPS, type Improvement, type ServiceTexts } from './catalogue.js';
import { formatOfficeClock, nextArrival, officeClock } from './clock.js';

export type Channel = 'phone-115' | 'service-desk' | 'email' | 'web' | 'chat';

export interface LandInfo {
  code: string;
  population: number;
}

export interface TicketDraft {
  /** 1, 2, 3 … in order of arrival. */
  n: number;
  /** Simulated office time of arrival. */
  atOfficeMs: number;
  land: string;
  service: string;
  category: Category;
  impact: Grade;
  urgency: Grade;
  channel: Channel;
  subject: string;
  description: string;
  reporter?: { name: string; email?: string };
  /** The recurring problem it reports, if any. */
  problem?: string;
  /** What the holder will suggest to the backlog, if anything. */
  improvement?: Improvement;
  /** The desk entered it late: the request came in this long before it is created (real ms). */
  enteredLateMs: number;
  /** Seed of the choices the desks make on this ticket. */
  seed: number;
}

export type Weighted<T> = readonly (readonly [T, number])[];

export function pickWeighted<T>(random: () => number, entries: Weighted<T>): T {
  const total = entries.reduce((sum, [, w]) => sum + w, 0);
  let r = random() * total;
  for (const [value, w] of entries) {
    r -= w;
    if (r < 0) return value;
  }
  return entries[entries.length - 1]![0];
}

export const pickOne = <T>(random: () => number, list: readonly T[]): T => list[Math.floor(random() * list.length)]!;

/** Each Land's share of the tickets: its share of the population. */
export function populationShares(lands: readonly LandInfo[]): Map<string, number> {
  const total = lands.reduce((sum, l) => sum + l.population, 0);
  return new Map(lands.map((l) => [l.code, total === 0 ? 1 / lands.length : l.population / total]));
}

/** A seed per ticket, so a ticket's choices do not depend on how many others came before it was acted on. */
export function ticketSeed(seed: number, n: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(n, 0x85ebca6b)) >>> 0;
}

const GRADES: Record<Category | 'recurring', { impact: Weighted<Grade>; urgency: Weighted<Grade> }> = {
  question: { impact: [['low', 70], ['medium', 30]], urgency: [['low', 50], ['medium', 45], ['high', 5]] },
  'subject-matter': { impact: [['low', 60], ['medium', 40]], urgency: [['low', 40], ['medium', 50], ['high', 10]] },
  technical: { impact: [['low', 25], ['medium', 50], ['high', 25]], urgency: [['low', 25], ['medium', 50], ['high', 25]] },
  recurring: { impact: [['medium', 50], ['high', 50]], urgency: [['medium', 60], ['high', 40]] },
  improvement: { impact: [['low', 80], ['medium', 20]], urgency: [['low', 90], ['medium', 10]] },
};

const FAMILY_CHANNELS: Weighted<Channel> = [['phone-115', 50], ['web', 15], ['email', 20], ['chat', 10], ['service-desk', 5]];
// Business services: the vendor's support desk is reached by e-mail first.
const BUSINESS_CHANNELS: Weighted<Channel> = [['email', 70], ['web', 20], ['phone-115', 10]];
const BUSINESS = new Set(['lieferantencockpit', 'pq-portal', 'datenservice-einkauf']);

/** Share of technical tickets that report one of the service's recurring problems. */
const RECURRING_SHARE = 0.45;
/** Share of tickets the desk types in late (so SLA clocks are already running: warnings and breaches show early). */
const ENTERED_LATE_SHARE = 0.08;
const DAY_MS = 86_400_000;

/** For a service the catalogue does not know (a topology of one's own): plain words. */
const GENERIC: ServiceTexts = {
  mix: { question: 45, 'subject-matter': 20, technical: 30, improvement: 5 },
  questions: [{ subject: 'Frage zum Online-Antrag', description: 'Wie stelle ich den Antrag online und welche Unterlagen brauche ich?' }],
  subjectMatter: [{ subject: 'Fachliche Frage zum Anspruch', description: 'Habe ich in meiner Situation einen Anspruch auf die Leistung?' }],
  technical: [{ subject: 'Online-Antrag lässt sich nicht absenden', description: 'Beim Absenden erscheint eine Fehlermeldung ({browser}).' }],
  recurring: [{ id: 'generic-submit', weight: 1, subjects: ['Absenden des Antrags schlägt fehl'], description: 'Beim Absenden kommt „Fehler 500“, {schritt}, {browser}.' }],
  improvements: [{ title: 'Entwurf zwischenspeichern', description: 'Antragstellende möchten später weitermachen können.' }],
};

export interface GeneratorOptions {
  seed: number;
  lands: readonly LandInfo[];
  /** Service ids of the topology. */
  services: readonly string[];
  /** Tickets a simulated workday across all Länder. */
  perWorkday: number;
}

export interface TicketGenerator {
  /** The next ticket, without consuming it. */
  peek(): TicketDraft;
  /** The next ticket. */
  next(): TicketDraft;
}

export function createTicketGenerator(o: GeneratorOptions): TicketGenerator {
  const arrivals = seededRandom(o.seed);
  const content = seededRandom(o.seed ^ 0x5bd1e995);
  const landWeights: Weighted<string> = o.lands.map((l) => [l.code, l.population] as const);
  const serviceWeights: Weighted<string> = o.services.map((s) => [s, SERVICE_WEIGHTS[s] ?? 5] as const);
  let at = 0;
  let n = 0;
  let upcoming: TicketDraft | undefined;

  function draw(): TicketDraft {
    at = nextArrival(at, o.perWorkday, arrivals);
    n += 1;
    return draftTicket(content, { n, atOfficeMs: at, seed: ticketSeed(o.seed, n), land: pickWeighted(content, landWeights), service: pickWeighted(content, serviceWeights) });
  }
  return {
    peek: () => (upcoming ??= draw()),
    next() {
      const t = upcoming ?? draw();
      upcoming = undefined;
      return t;
    },
  };
}

function fill(random: () => number, text: string, atOfficeMs: number): string {
  const time = formatOfficeClock(officeClock(atOfficeMs)).slice(-5);
  return text
    .replaceAll('{browser}', pickOne(random, BROWSERS))
    .replaceAll('{zeit}', time)
    .replaceAll('{schritt}', pickOne(random, STEPS));
}

function draftTicket(random: () => number, base: { n: number; atOfficeMs: number; seed: number; land: string; service: string }): TicketDraft {
  const texts = CATALOGUE[base.service] ?? GENERIC;
  const category = pickWeighted(random, Object.entries(texts.mix) as [Category, number][]);
  const recurring = category === 'technical' && texts.recurring.length > 0 && random() < RECURRING_SHARE;
  let subject: string;
  let description: string;
  let problem: string | undefined;
  let improvement: Improvement | undefined;
  if (recurring) {
    const p = pickWeighted(random, texts.recurring.map((r) => [r, r.weight] as const));
    problem = p.id;
    subject = pickOne(random, p.subjects);
    description = p.description;
  } else if (category === 'improvement') {
    improvement = pickOne(random, texts.improvements);
    subject = `Verbesserungsvorschlag: ${improvement.title}`;
    description = improvement.description;
  } else {
    const topic = pickOne(random, category === 'question' ? texts.questions : category === 'subject-matter' ? texts.subjectMatter : texts.technical);
    subject = topic.subject;
    description = topic.description;
  }
  const grades = GRADES[recurring ? 'recurring' : category];
  const impact = pickWeighted(random, grades.impact);
  const urgency = pickWeighted(random, grades.urgency);
  const channel = pickWeighted(random, BUSINESS.has(base.service) ? BUSINESS_CHANNELS : FAMILY_CHANNELS);
  const withReporter = !BUSINESS.has(base.service) && random() < 0.3;
  const reporter = withReporter
    ? { name: pickOne(random, REPORTER_NAMES), ...(random() < 0.5 ? { email: `antrag-${base.n}@example.org` } : {}) }
    : undefined;
  const enteredLateMs = random() < ENTERED_LATE_SHARE ? Math.round((1 + random() * 4) * DAY_MS) : 0;
  return {
    ...base,
    category,
    impact,
    urgency,
    channel,
    subject,
    description: fill(random, description, base.atOfficeMs),
    ...(reporter ? { reporter } : {}),
    ...(problem ? { problem } : {}),
    ...(improvement ? { improvement } : {}),
    enteredLateMs,
  };
}

/** The create body a desk sends for a draft. */
export function createBody(d: TicketDraft, externalRef: string, receivedAt: string): Record<string, unknown> {
  return {
    externalRef,
    channel: d.channel,
    land: d.land,
    service: d.service,
    category: d.category,
    impact: d.impact,
    urgency: d.urgency,
    subject: d.subject,
    description: d.description,
    receivedAt,
    ...(d.reporter ? { reporter: d.reporter } : {}),
  };
}

