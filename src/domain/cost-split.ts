import type { LandCode } from './ids.js';
import { budgetCentsOf, type CostModel } from './service-settings.js';
import type { Topology } from './topology.js';

/**
 * Splitting a service's yearly budget across its participating Länder, as
 * the seed says costs are shared: by population (Zensus 2022 from the
 * topology) unless the alliance agreed equal or fixed shares.
 *
 * Shares are whole cents that add up exactly to the budget: each Land first
 * gets the floor of its exact quota (budget × weight ÷ total weight), and the
 * cents left over go one each to the largest remainders (Hamilton's largest
 * remainder method). Ties go to the larger weight, then to the Land code in
 * alphabetical order, so the same budget and participants always give the
 * same split whatever order a file lists them in. The arithmetic is exact
 * (BigInt): budget × population passes 2^53 for large budgets.
 */

export interface CostShare {
  land: LandCode;
  /** What the Land is weighed by: its population, 1 for equal shares, or its fixed share. */
  weight: number;
  cents: number;
  /** Its share of the budget under the model, in percent, to four decimals. */
  percent: number;
}

export interface CostSplitInput {
  budgetCents: number;
  participants: readonly { land: LandCode; population: number }[];
  model: CostModel;
}

export class CostSplitError extends Error {}

/** Fixed shares are read to twelve decimals (they add up to 1 within 1e-9), as integer weights. */
const FIXED_SCALE = 1e12;

/** The participants' shares of the budget, in whole cents that add up to it, in Land code order. */
export function splitCosts({ budgetCents, participants, model }: CostSplitInput): CostShare[] {
  if (!Number.isSafeInteger(budgetCents) || budgetCents < 0) throw new CostSplitError(`budget must be whole cents ≥ 0, not ${budgetCents}`);
  if (participants.length === 0) throw new CostSplitError('no participating Land to split the budget across');
  const lands = participants.map((p) => p.land);
  if (new Set(lands).size !== lands.length) throw new CostSplitError('a participating Land is named twice');

  const weightOf = (p: { land: LandCode; population: number }): number => {
    switch (model.kind) {
      case 'population':
        return p.population;
      case 'equal':
        return 1;
      case 'fixed': {
        const share = model.shares[p.land];
        if (share === undefined) throw new CostSplitError(`no fixed share for ${p.land}`);
        return share;
      }
    }
  };
  const rows = participants.map((p) => {
    const weight = weightOf(p);
    const units = model.kind === 'fixed' ? Math.round(weight * FIXED_SCALE) : weight;
    if (!Number.isSafeInteger(units) || units < 0) throw new CostSplitError(`${p.land}: weight ${weight} is not a whole number ≥ 0`);
    return { land: p.land, weight, units: BigInt(units) };
  });
  const total = rows.reduce((sum, r) => sum + r.units, 0n);
  if (total === 0n) throw new CostSplitError(`the participants' ${model.kind === 'population' ? 'populations' : 'shares'} add up to 0: nothing to split by`);

  const budget = BigInt(budgetCents);
  const quotas = rows.map((r) => ({ ...r, cents: (budget * r.units) / total, remainder: (budget * r.units) % total }));
  let left = budget - quotas.reduce((sum, q) => sum + q.cents, 0n);
  const order = [...quotas].sort(
    (a, b) => cmp(b.remainder, a.remainder) || cmp(b.units, a.units) || (a.land < b.land ? -1 : a.land > b.land ? 1 : 0),
  );
  for (const q of order) {
    if (left === 0n) break;
    q.cents += 1n;
    left -= 1n;
  }
  return quotas
    .map((q) => ({
      land: q.land,
      weight: q.weight,
      cents: Number(q.cents),
      percent: percentOf(q.units, total),
    }))
    .sort((a, b) => (a.land < b.land ? -1 : 1));
}

const cmp = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

/** units ÷ total in percent, rounded half up at the fourth decimal, computed exactly. */
function percentOf(units: bigint, total: bigint): number {
  // percent × 10^4 = units × 10^6 ÷ total; adding half the divisor rounds half up.
  return Number((2n * units * 1_000_000n + total) / (2n * total)) / 10_000;
}

/** A service's cost split for a year, as the cost report shows it. */
export interface ServiceCostSplit {
  service: string;
  year: number;
  budgetCents: number;
  /** The model this split applies. */
  model: CostModel['kind'];
  /** The model the alliance agreed for the service (the topology's `costModel`). */
  agreedModel: CostModel['kind'];
  /** Where the population figures come from (population model only). */
  populationSource: { name: string; date: string; url?: string | undefined } | null;
  shares: CostShare[];
}

/** The models a report may be asked for: the one the alliance agreed per service, or one of the three for all. */
export const REPORT_MODELS = ['agreed', 'population', 'equal', 'fixed'] as const;
export type ReportModel = (typeof REPORT_MODELS)[number];

/** A service has no fixed shares agreed, so the fixed model cannot split its budget. */
export class NoFixedSharesError extends CostSplitError {
  constructor(readonly service: string) {
    super(`${service} has no fixed shares agreed in the topology (costModel.kind fixed); choose population or equal`);
  }
}

/** The cost model a report under `model` applies to a service: its agreed one, or the one asked for (fixed only where agreed). */
export function costModelFor(service: { id: string; costModel: CostModel }, model: ReportModel): CostModel {
  switch (model) {
    case 'agreed':
      return service.costModel;
    case 'population':
    case 'equal':
      return { kind: model };
    case 'fixed':
      if (service.costModel.kind !== 'fixed') throw new NoFixedSharesError(service.id);
      return service.costModel;
  }
}

/**
 * The split of a service's budget for a year, or undefined when the topology gives it no budget for that year.
 * `model` is the agreed one unless another is asked for (a comparison: what would each Land pay by population, by equal shares).
 */
export function splitServiceBudget(topology: Topology, serviceId: string, year: number, model: ReportModel = 'agreed'): ServiceCostSplit | undefined {
  const service = topology.services.get(serviceId);
  if (!service) throw new CostSplitError(`unknown service ${serviceId}`);
  const budgetCents = budgetCentsOf(service, year);
  if (budgetCents === undefined) return undefined;
  const costModel = costModelFor(service, model);
  const participants = service.participants.map((land) => {
    const known = topology.lands.get(land);
    if (!known) throw new CostSplitError(`${serviceId}: participant ${land} is not a Land of the topology`);
    return { land, population: known.population };
  });
  return {
    service: serviceId,
    year,
    budgetCents,
    model: costModel.kind,
    agreedModel: service.costModel.kind,
    populationSource: costModel.kind === 'population' ? (topology.config.populationSource ?? null) : null,
    shares: splitCosts({ budgetCents, participants, model: costModel }),
  };
}
