import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CostSplitError, splitServiceBudget } from '../../domain/cost-split.js';
import { IdSchema, LandCodeSchema } from '../../domain/ids.js';
import { PRIORITIES, type Topology } from '../../domain/topology.js';
import { AppError } from '../../errors.js';
import type { ReadModel } from '../../store/read-model.js';
import { problemResponses } from '../problem.js';

const Query = z.strictObject({
  year: z.coerce.number().int().min(2000).max(2100),
  service: IdSchema.optional(),
});

const Share = z.object({
  land: LandCodeSchema,
  weight: z.number().describe('population, 1 for equal shares, or the fixed share'),
  cents: z.number().int(),
  euros: z.string().describe('the share in euros, two decimals'),
  percent: z.number(),
  tickets: z.number().int().describe('tickets the Land created for the service in the year'),
  backlogItems: z.number().int().describe('backlog items of the service the Land\'s tickets ask for'),
});

const ServiceReport = z.object({
  service: z.string(),
  name: z.string(),
  year: z.number().int(),
  budgetCents: z.number().int(),
  budgetEuros: z.string(),
  model: z.enum(['population', 'equal', 'fixed']),
  populationSource: z.object({ name: z.string(), date: z.string(), url: z.string().optional() }).nullable(),
  shares: z.array(Share),
});

const euros = (cents: number) => `${Math.trunc(cents / 100)}.${String(Math.abs(cents % 100)).padStart(2, '0')}`;

/** The seed's cost split: each service's yearly budget across its Länder, with their tickets and backlog items beside. */
export function reportRoutes(deps: { topology: Topology; readModel: Pick<ReadModel, 'readCostFacts'> }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/v1/reports/cost-split', {
      config: { roles: ['operator', 'steering'] },
      schema: {
        tags: ['reports'],
        operationId: 'getCostSplitReport',
        summary: "Each participating Land's share of each service's yearly budget (by population unless the alliance set another model)",
        querystring: Query,
        response: { 200: z.object({ year: z.number().int(), services: z.array(ServiceReport), withoutBudget: z.array(z.string()) }), ...problemResponses(400, 401, 403, 422) },
      },
    }, async (req) => {
      const { year, service } = req.query;
      if (service !== undefined && !deps.topology.services.has(service)) throw new AppError('VALIDATION_FAILED', 'Unknown service', { errors: [{ path: 'service', message: 'unknown service' }] });
      const ids = service ? [service] : [...deps.topology.services.keys()];
      const services: z.infer<typeof ServiceReport>[] = [];
      const withoutBudget: string[] = [];
      for (const id of ids) {
        let split;
        try {
          split = splitServiceBudget(deps.topology, id, year);
        } catch (err) {
          if (err instanceof CostSplitError) throw new AppError('VALIDATION_FAILED', err.message, { errors: [{ path: 'year', message: err.message }] });
          throw err;
        }
        if (!split) {
          withoutBudget.push(id);
          continue;
        }
        const facts = await deps.readModel.readCostFacts(year, split.shares.map((s) => ({ service: id, land: s.land })), PRIORITIES);
        services.push({
          service: id, name: deps.topology.services.get(id)!.name, year, budgetCents: split.budgetCents, budgetEuros: euros(split.budgetCents),
          model: split.model, populationSource: split.populationSource,
          shares: split.shares.map((s, i) => ({ ...s, euros: euros(s.cents), tickets: facts[i]!.tickets, backlogItems: facts[i]!.backlogItems })),
        });
      }
      return { year, services, withoutBudget };
    });
  };
}
