/**
 * The backlog item's score (src/domain/backlog-score.ts): worked examples of
 * the documented formula, each part moving the way its input does, a ticket
 * counted once, and parts that always add up to the score shown.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { scoreBacklogItem, scoreServiceItem, type ScoredLink } from '../../src/domain/backlog-score.js';
import { LAND_CODES, type LandCode } from '../../src/domain/ids.js';
import { compileTopology, PRIORITIES, TopologySchema, type Priority } from '../../src/domain/topology.js';

const topology = compileTopology(TopologySchema.parse(DEFAULT_TOPOLOGY));
const populationOf = (land: LandCode) => topology.lands.get(land)!.population;
const ALL = [...LAND_CODES];
const GERMANY = 82_711_282;
const score = (links: ScoredLink[], participants: LandCode[] = ALL) => scoreBacklogItem({ links, participants, populationOf });
const t = (ticketId: string, land: LandCode, priority: Priority = 'P3'): ScoredLink => ({ ticketId, land, priority });
const many = (n: number, land: LandCode = 'HB', priority: Priority = 'P3') => Array.from({ length: n }, (_, i) => t(`t${i}`, land, priority));

describe('the backlog score', () => {
  it('is 0 with no tickets', () => {
    expect(score([])).toEqual({
      score: 0,
      parts: { tickets: 0, lands: 0, population: 0, priority: 0 },
      counts: { tickets: 0, lands: [], population: 0, participatingLands: 16, participatingPopulation: GERMANY },
    });
  });

  it('works out for one P1 ticket from Bremen as documented', () => {
    const tickets = Math.round((30 / Math.log2(101)) * 100) / 100; // 4.51
    const population = Math.round(((30 * 693_204) / GERMANY) * 100) / 100; // 0.25
    expect(score([t('a', 'HB', 'P1')])).toEqual({
      score: Math.round((tickets + 1.25 + population + 20) * 100) / 100,
      parts: { tickets, lands: 1.25, population, priority: 20 },
      counts: { tickets: 1, lands: ['HB'], population: 693_204, participatingLands: 16, participatingPopulation: GERMANY },
    });
  });

  it('fills every part when 100 P1 tickets come from all 16 Länder', () => {
    const links = Array.from({ length: 100 }, (_, i) => t(`t${i}`, ALL[i % 16]!, 'P1'));
    expect(score(links)).toMatchObject({ score: 100, parts: { tickets: 30, lands: 20, population: 30, priority: 20 } });
    expect(score([...links, ...many(400, 'BY', 'P1').map((l, i) => ({ ...l, ticketId: `x${i}` }))]).parts.tickets).toBe(30);
  });

  it('counts a ticket once, however often it is linked', () => {
    const once = score([t('a', 'HB', 'P2'), t('b', 'BY', 'P4')]);
    expect(score([t('a', 'HB', 'P2'), t('b', 'BY', 'P4'), t('a', 'HB', 'P2'), t('b', 'NW', 'P1')])).toEqual(once);
  });

  it('rises with more tickets, each counting less than the one before', () => {
    const parts = [1, 2, 3, 10, 50].map((n) => score(many(n)).parts.tickets);
    expect(parts).toEqual([...parts].sort((a, b) => a - b));
    expect(parts[1]! - parts[0]!).toBeGreaterThan(parts[2]! - parts[1]!);
    expect(new Set(parts).size).toBe(parts.length);
  });

  it('weighs a Land by the people it stands for: NW over HB, same count of Länder', () => {
    const hb = score([t('a', 'HB')]);
    const nw = score([t('a', 'NW')]);
    expect(nw.parts.lands).toBe(hb.parts.lands);
    expect(nw.parts.population).toBeGreaterThan(hb.parts.population);
    expect(nw.parts.population).toBe(Math.round(((30 * 17_890_489) / GERMANY) * 100) / 100);
  });

  it('rises with more Länder for the same number of tickets', () => {
    expect(score([t('a', 'HB'), t('b', 'BY')]).score).toBeGreaterThan(score([t('a', 'HB'), t('b', 'HB')]).score);
  });

  it('weighs P1 most, then P2, P3, P4', () => {
    const byPriority = PRIORITIES.map((p) => score([t('a', 'HB', p)]).parts.priority);
    expect(byPriority).toEqual([20, 12, 6, 2]);
    expect(score([t('a', 'HB', 'P1'), t('b', 'HB', 'P4')]).parts.priority).toBe(11);
  });

  it('measures Länder and people against the participants of the service', () => {
    const three: LandCode[] = ['HB', 'NI', 'SH'];
    const s = score([t('a', 'HB'), t('b', 'NI')], three);
    expect(s.parts.lands).toBe(13.33);
    expect(s.parts.population).toBe(Math.round(((30 * (693_204 + 7_943_265)) / (693_204 + 7_943_265 + 2_927_542)) * 100) / 100);
    // A Land outside the participants still asked; the parts stay capped.
    const all = score([t('a', 'HB'), t('b', 'NI'), t('c', 'SH'), t('d', 'BY')], three);
    expect(all.parts).toMatchObject({ lands: 20, population: 30 });
    expect(all.counts.lands).toEqual(['BY', 'HB', 'NI', 'SH']);
  });

  it('always shows parts that add up to the score, within 0..100', () => {
    const link = fc.record({ ticketId: fc.constantFrom(...Array.from({ length: 40 }, (_, i) => `t${i}`)), land: fc.constantFrom(...LAND_CODES), priority: fc.constantFrom(...PRIORITIES) });
    fc.assert(
      fc.property(fc.array(link, { maxLength: 120 }), fc.uniqueArray(fc.constantFrom(...LAND_CODES), { minLength: 1 }), (links, participants) => {
        const s = scoreBacklogItem({ links, participants, populationOf });
        const { tickets, lands, population, priority } = s.parts;
        expect(Math.round((tickets + lands + population + priority) * 100)).toBe(Math.round(s.score * 100));
        expect(s.score).toBeGreaterThanOrEqual(0);
        expect(s.score).toBeLessThanOrEqual(100);
        expect(s.counts.tickets).toBe(new Set(links.map((l) => l.ticketId)).size);
      }),
      { numRuns: 300, seed: 20260303 },
    );
  });

  it("scores a service's item with its participants and the topology's Zensus figures", () => {
    const links = [t('a', 'NW', 'P2'), t('b', 'BY', 'P3')];
    expect(scoreServiceItem(topology, 'elfe', links)).toEqual(score(links));
    expect(scoreServiceItem(topology, 'elfe', links).counts.population).toBe(17_890_489 + 13_038_724);
  });
});
