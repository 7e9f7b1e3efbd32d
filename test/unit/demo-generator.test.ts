import { describe, expect, it } from 'vitest';
import { CATEGORIES, CreateTicketSchema } from '../../src/domain/ticket.js';
import { WORKDAY_MS } from '../../src/demo/clock.js';
import { createBody, createTicketGenerator, populationShares, type TicketDraft } from '../../src/demo/generator.js';
import { loadTopology } from '../../src/config/topology-file.js';

const defaultTopology = loadTopology(undefined);

const lands = [...defaultTopology.lands.values()];
const services = [...defaultTopology.services.keys()];
const draw = (seed: number, count: number, perWorkday = 1200): TicketDraft[] => {
  const g = createTicketGenerator({ seed, lands, services, perWorkday });
  return Array.from({ length: count }, () => g.next());
};

describe('the demo ticket generator', () => {
  it('gives the same tickets for the same seed, and others for another seed', () => {
    expect(draw(1, 300)).toEqual(draw(1, 300));
    const other = draw(2, 300);
    expect(other.map((d) => d.subject)).not.toEqual(draw(1, 300).map((d) => d.subject));
  });

  it('peek shows the next ticket without taking it', () => {
    const g = createTicketGenerator({ seed: 5, lands, services, perWorkday: 1200 });
    const peeked = g.peek();
    expect(g.peek()).toBe(peeked);
    expect(g.next()).toBe(peeked);
    expect(g.next().n).toBe(2);
  });

  it('sends Länder tickets in proportion to their population', () => {
    const drafts = draw(1, 20_000);
    const shares = populationShares(lands);
    expect([...shares.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(shares.get('NW')).toBeCloseTo(17_890_489 / 82_711_282, 12);
    const counts = new Map<string, number>();
    for (const d of drafts) counts.set(d.land, (counts.get(d.land) ?? 0) + 1);
    expect(counts.size).toBe(16);
    for (const [code, share] of shares) {
      const seen = (counts.get(code) ?? 0) / drafts.length;
      // Bremen (0.8 %) and Nordrhein-Westfalen (21.6 %) alike, within a tenth of their share plus sampling noise.
      expect(Math.abs(seen - share), code).toBeLessThan(share * 0.1 + 0.002);
    }
    expect(counts.get('NW')!).toBeGreaterThan(counts.get('BY')!);
    expect(counts.get('BY')!).toBeGreaterThan(counts.get('HB')! * 10);
  });

  it('arrives as many tickets a workday as asked, in order of time', () => {
    const drafts = draw(3, 12_000, 600);
    for (let i = 1; i < drafts.length; i++) expect(drafts[i]!.atOfficeMs).toBeGreaterThan(drafts[i - 1]!.atOfficeMs);
    const days = drafts[drafts.length - 1]!.atOfficeMs / WORKDAY_MS;
    expect(drafts.length / days).toBeGreaterThan(600 * 0.95);
    expect(drafts.length / days).toBeLessThan(600 * 1.05);
  });

  it('writes valid create bodies in German, every category for every service, no placeholder left', () => {
    const drafts = draw(4, 5000);
    for (const d of drafts) {
      const body = CreateTicketSchema.parse(createBody(d, `demo-x-${d.n}`, new Date().toISOString()));
      expect(defaultTopology.services.has(body.service)).toBe(true);
      expect(`${d.subject} ${d.description}`).not.toMatch(/[{}]/);
      if (d.category === 'improvement') expect(d.improvement?.title).toBeTruthy();
    }
    for (const service of services) {
      const categories = new Set(drafts.filter((d) => d.service === service).map((d) => d.category));
      expect([...categories].sort(), service).toEqual([...CATEGORIES].sort());
    }
    expect(drafts.some((d) => /Geburtsurkunde/.test(d.subject))).toBe(true);
  });

  it('reports recurring technical problems from many Länder in nearly the same words', () => {
    const drafts = draw(1, 3000).filter((d) => d.problem);
    expect(drafts.every((d) => d.category === 'technical')).toBe(true);
    const byProblem = new Map<string, { lands: Set<string>; subjects: Set<string> }>();
    for (const d of drafts) {
      const entry = byProblem.get(d.problem!) ?? { lands: new Set(), subjects: new Set() };
      entry.lands.add(d.land);
      entry.subjects.add(d.subject);
      byProblem.set(d.problem!, entry);
    }
    // Every service has at least one; the most frequent ones span most of the Länder with a few phrasings.
    expect(byProblem.size).toBeGreaterThanOrEqual(services.length);
    const spread = [...byProblem.values()].filter((p) => p.lands.size >= 5);
    expect(spread.length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...[...byProblem.values()].map((p) => p.subjects.size))).toBeLessThanOrEqual(3);
  });

  it('mixes priorities: few P1, technical tickets weigh more than questions', () => {
    const drafts = draw(6, 5000);
    const matrix = defaultTopology.config.priorityMatrix;
    const priorities = drafts.map((d) => matrix[d.impact][d.urgency]);
    const share = (p: string) => priorities.filter((x) => x === p).length / drafts.length;
    expect(share('P1')).toBeGreaterThan(0);
    expect(share('P1')).toBeLessThan(0.08);
    expect(share('P4')).toBeGreaterThan(share('P2'));
    expect(drafts.some((d) => d.enteredLateMs > 0 && d.enteredLateMs <= 5 * 86_400_000)).toBe(true);
  });
});
