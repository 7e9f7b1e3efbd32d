/**
 * The cost split's arithmetic: whole cents that add up exactly to the
 * budget (largest remainder), each share the floor or the ceiling of its
 * exact quota, ties settled the same way every time, and the topology's
 * budgets split by population with the source of the figures.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { CostSplitError, NoFixedSharesError, splitCosts, splitServiceBudget, type CostSplitInput } from '../../src/domain/cost-split.js';
import { LAND_CODES, type LandCode } from '../../src/domain/ids.js';
import { compileTopology, TopologySchema } from '../../src/domain/topology.js';

const topology = compileTopology(TopologySchema.parse(DEFAULT_TOPOLOGY));
const ALL = [...topology.lands.values()].map((l) => ({ land: l.code, population: l.population }));
const TOTAL_POPULATION = ALL.reduce((s, p) => s + p.population, 0);
const sum = (xs: { cents: number }[]) => xs.reduce((s, x) => s + x.cents, 0);
const centsOf = (shares: { land: string; cents: number }[]) => Object.fromEntries(shares.map((s) => [s.land, s.cents]));

/** Each share is the floor or the ceiling of its exact quota budget × weight ÷ total, computed in BigInt. */
function quotaProblems(input: CostSplitInput, shares: { land: string; cents: number }[]): string[] {
  const weights = input.participants.map((p) => ({
    land: p.land,
    w: BigInt(input.model.kind === 'population' ? p.population : input.model.kind === 'equal' ? 1 : Math.round(input.model.shares[p.land]! * 1e12)),
  }));
  const total = weights.reduce((s, x) => s + x.w, 0n);
  const got = centsOf(shares);
  return weights.flatMap(({ land, w }) => {
    const floor = (BigInt(input.budgetCents) * w) / total;
    const cents = BigInt(got[land]!);
    return cents === floor || cents === floor + 1n ? [] : [`${land}: ${cents} is not ${floor} or ${floor + 1n}`];
  });
}

describe('splitCosts', () => {
  it('splits 1,250,000.00 € across the 16 Länder by population to the cent', () => {
    const input: CostSplitInput = { budgetCents: 125_000_000, participants: ALL, model: { kind: 'population' } };
    const shares = splitCosts(input);
    expect(shares.map((s) => s.land)).toEqual([...LAND_CODES].sort());
    expect(sum(shares)).toBe(125_000_000);
    expect(quotaProblems(input, shares)).toEqual([]);
    const nw = shares.find((s) => s.land === 'NW')!;
    expect(nw.weight).toBe(17_890_489);
    expect(nw.percent).toBeCloseTo((17_890_489 / TOTAL_POPULATION) * 100, 4);
    expect(shares.reduce((s, x) => s + x.percent, 0)).toBeCloseTo(100, 2);
  });

  it('gives a single cent to the Land with the largest remainder: the most populous', () => {
    const shares = splitCosts({ budgetCents: 1, participants: ALL, model: { kind: 'population' } });
    expect(shares.filter((s) => s.cents > 0)).toEqual([expect.objectContaining({ land: 'NW', cents: 1 })]);
  });

  it('hands the odd cents of an equal split to the Länder in code order, whatever order they were listed in', () => {
    const three = (order: LandCode[]) => centsOf(splitCosts({ budgetCents: 100, participants: order.map((land) => ({ land, population: 1 })), model: { kind: 'equal' } }));
    expect(three(['NW', 'HB', 'BY'])).toEqual({ BY: 34, HB: 33, NW: 33 });
    expect(three(['HB', 'BY', 'NW'])).toEqual({ BY: 34, HB: 33, NW: 33 });
    const sixteen = splitCosts({ budgetCents: 1_000_003, participants: ALL, model: { kind: 'equal' } });
    expect(sum(sixteen)).toBe(1_000_003);
    expect(sixteen.filter((s) => s.cents === 62_501).map((s) => s.land)).toEqual(['BB', 'BE', 'BW']);
    expect(sixteen.every((s) => s.percent === 6.25)).toBe(true);
  });

  it('settles equal remainders by the larger weight before the code', () => {
    // Quotas 5/3 and 10/3 cents: remainders 2/3 and 1/3; then 2 and 1 cents of weight ties.
    const shares = splitCosts({ budgetCents: 5, participants: [{ land: 'BY', population: 1 }, { land: 'HB', population: 2 }], model: { kind: 'population' } });
    expect(centsOf(shares)).toEqual({ BY: 2, HB: 3 });
    const tie = splitCosts({ budgetCents: 3, participants: [{ land: 'BY', population: 1 }, { land: 'HB', population: 1 }, { land: 'SH', population: 2 }], model: { kind: 'population' } });
    // Quotas 0.75, 0.75, 1.5: SH has remainder 0.5, BY and HB 0.75 each: BY and HB first, in code order.
    expect(centsOf(tie)).toEqual({ BY: 1, HB: 1, SH: 1 });
  });

  it('gives the whole budget to a single Land', () => {
    expect(splitCosts({ budgetCents: 99_999, participants: [{ land: 'HB', population: 693_204 }], model: { kind: 'population' } }))
      .toEqual([{ land: 'HB', weight: 693_204, cents: 99_999, percent: 100 }]);
  });

  it('splits fixed shares with their odd cents, and a budget of nothing into zeros', () => {
    const participants = (['HB', 'NW', 'BY'] as LandCode[]).map((land) => ({ land, population: 1 }));
    const model = { kind: 'fixed' as const, shares: { HB: 0.5, NW: 0.3, BY: 0.2 } };
    // Quotas 49,999.5 / 29,999.7 / 19,999.8: two cents left, to the remainders .8 and .7.
    expect(centsOf(splitCosts({ budgetCents: 99_999, participants, model }))).toEqual({ HB: 49_999, NW: 30_000, BY: 20_000 });
    expect(splitCosts({ budgetCents: 99_999, participants, model }).map((s) => s.percent)).toEqual([20, 50, 30]);
    expect(sum(splitCosts({ budgetCents: 0, participants, model }))).toBe(0);
    const thirds = { kind: 'fixed' as const, shares: { HB: 0.333333333333, NW: 0.333333333333, BY: 0.333333333334 } };
    expect(centsOf(splitCosts({ budgetCents: 100, participants, model: thirds }))).toEqual({ BY: 34, HB: 33, NW: 33 });
  });

  it('stays exact where budget × population passes 2^53', () => {
    const input: CostSplitInput = { budgetCents: 99_999_999_999_999, participants: ALL, model: { kind: 'population' } };
    const shares = splitCosts(input);
    expect(sum(shares)).toBe(99_999_999_999_999);
    expect(quotaProblems(input, shares)).toEqual([]);
  });

  it('always adds up to the budget, each share the floor or ceiling of its quota, more weight never fewer cents', () => {
    const landsArb = fc.uniqueArray(fc.constantFrom(...LAND_CODES), { minLength: 1, maxLength: 16 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 ** 14 }), landsArb, fc.array(fc.integer({ min: 0, max: 20_000_000 }), { minLength: 16, maxLength: 16 }), fc.boolean(), (budgetCents, lands, pops, equal) => {
        const participants = lands.map((land, i) => ({ land, population: pops[i]! + (i === 0 ? 1 : 0) }));
        const input: CostSplitInput = { budgetCents, participants, model: equal ? { kind: 'equal' } : { kind: 'population' } };
        const shares = splitCosts(input);
        expect(sum(shares)).toBe(budgetCents);
        expect(quotaProblems(input, shares)).toEqual([]);
        for (const a of shares) for (const b of shares) if (a.weight > b.weight) expect(a.cents).toBeGreaterThanOrEqual(b.cents);
      }),
      { numRuns: 300, seed: 20260303 },
    );
  });

  it.each([
    ['a budget that is not whole cents', { budgetCents: 10.5, participants: ALL, model: { kind: 'population' } }, /whole cents/],
    ['a negative budget', { budgetCents: -1, participants: ALL, model: { kind: 'population' } }, /whole cents/],
    ['no participants', { budgetCents: 1, participants: [], model: { kind: 'equal' } }, /no participating Land/],
    ['a Land twice', { budgetCents: 1, participants: [ALL[0], ALL[0]], model: { kind: 'equal' } }, /twice/],
    ['participants of no population', { budgetCents: 1, participants: [{ land: 'HB', population: 0 }], model: { kind: 'population' } }, /add up to 0/],
    ['a fixed share missing', { budgetCents: 1, participants: [{ land: 'HB', population: 1 }], model: { kind: 'fixed', shares: { NW: 1 } } }, /no fixed share for HB/],
  ] as [string, CostSplitInput, RegExp][])('refuses %s', (_what, input, message) => {
    expect(() => splitCosts(input)).toThrow(CostSplitError);
    expect(() => splitCosts(input)).toThrow(message);
  });
});

describe('splitServiceBudget', () => {
  it("splits a service's budget of the year by the topology's Zensus 2022 figures and says so", () => {
    const split = splitServiceBudget(topology, 'elfe', 2026)!;
    expect(split).toMatchObject({ service: 'elfe', year: 2026, budgetCents: 125_000_000, model: 'population', populationSource: { name: 'Zensus 2022', date: '2022-05-15' } });
    expect(split.shares).toHaveLength(16);
    expect(sum(split.shares)).toBe(125_000_000);
    expect(split.shares.find((s) => s.land === 'HB')).toMatchObject({ weight: 693_204, cents: Math.round((125_000_000 * 693_204) / TOTAL_POPULATION) });
  });

  it('follows the participants and cost model of the service, without a population source when population is not the model', () => {
    const own = compileTopology(TopologySchema.parse({
      ...DEFAULT_TOPOLOGY,
      services: DEFAULT_TOPOLOGY.services.map((s) => (s.id === 'uvo' ? { ...s, participants: ['HB', 'NI', 'SH'], costModel: { kind: 'equal' }, budget: { '2026': 1000.01 } } : s)),
    }));
    const split = splitServiceBudget(own, 'uvo', 2026)!;
    expect(split).toMatchObject({ budgetCents: 100_001, model: 'equal', populationSource: null });
    expect(centsOf(split.shares)).toEqual({ HB: 33_334, NI: 33_334, SH: 33_333 });
  });

  it('splits by another model when asked, to compare, and keeps the agreed one beside it; fixed only where fixed shares are agreed', () => {
    const own = compileTopology(TopologySchema.parse({
      ...DEFAULT_TOPOLOGY,
      services: DEFAULT_TOPOLOGY.services.map((s) => (s.id === 'uvo' ? { ...s, participants: ['HB', 'NI'], costModel: { kind: 'fixed', shares: { HB: 0.25, NI: 0.75 } }, budget: { '2026': 1000 } } : s)),
    }));
    const equal = splitServiceBudget(own, 'elfe', 2026, 'equal')!;
    expect(equal).toMatchObject({ model: 'equal', agreedModel: 'population', populationSource: null });
    expect(new Set(equal.shares.map((s) => s.cents)).size).toBeLessThanOrEqual(2);
    expect(sum(equal.shares)).toBe(125_000_000);
    expect(splitServiceBudget(own, 'elfe', 2026, 'agreed')).toEqual(splitServiceBudget(own, 'elfe', 2026));
    expect(centsOf(splitServiceBudget(own, 'uvo', 2026, 'fixed')!.shares)).toEqual({ HB: 25_000, NI: 75_000 });
    expect(splitServiceBudget(own, 'uvo', 2026, 'population')).toMatchObject({ model: 'population', agreedModel: 'fixed', populationSource: { name: 'Zensus 2022' } });
    expect(() => splitServiceBudget(own, 'elfe', 2026, 'fixed')).toThrow(NoFixedSharesError);
    expect(() => splitServiceBudget(own, 'elfe', 2026, 'fixed')).toThrow(/elfe has no fixed shares agreed/);
  });

  it('has nothing to split for a year without a budget, and names an unknown service', () => {
    expect(splitServiceBudget(topology, 'elfe', 2040)).toBeUndefined();
    expect(() => splitServiceBudget(topology, 'nope', 2026)).toThrow(/unknown service nope/);
  });

  it('never sees fixed shares that do not add up to 1: the topology refuses them', () => {
    const raw = { ...DEFAULT_TOPOLOGY, services: DEFAULT_TOPOLOGY.services.map((s, i) => (i === 0 ? { ...s, participants: ['HB', 'NW'], costModel: { kind: 'fixed', shares: { HB: 0.6, NW: 0.6 } } } : s)) };
    const result = TopologySchema.safeParse(raw);
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toContain('services.0.costModel.shares: fixed shares must add up to 1; they add up to 1.2');
  });
});
