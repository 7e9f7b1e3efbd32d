import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CostSplitError, NoFixedSharesError, REPORT_MODELS, splitServiceBudget } from '../../domain/cost-split.js';
import { IdSchema, LandCodeSchema } from '../../domain/ids.js';
import { PRIORITIES, type Topology } from '../../domain/topology.js';
import { AppError } from '../../errors.js';
import type { ReadModel } from '../../store/read-model.js';
import { problemResponses } from '../problem.js';

const YEAR_REQUIRED = 'year is required, e.g. ?year=2026';

const Query = z.strictObject({
  // Optional in the schema only so that a missing year is answered with an example, not with "expected number".
  year: z.coerce.number().int().min(2000).max(2100).optional().describe('Required: the budget year, e.g. 2026'),
  service: IdSchema.optional(),
  model: z
    .enum(REPORT_MODELS)
    .default('agreed')
    .describe('agreed: each service by the model the alliance agreed for it (the topology\'s costModel); population, equal: every service by that model, to compare; fixed: the services with fixed shares agreed'),
  format: z.enum(['json', 'csv']).default('json').describe('csv: the same report as text/csv with a header row, one row per service and Land'),
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
  model: z.enum(['population', 'equal', 'fixed']).describe('the model this split applies'),
  agreedModel: z.enum(['population', 'equal', 'fixed']).describe('the model the alliance agreed for the service'),
  populationSource: z.object({ name: z.string(), date: z.string(), url: z.string().optional() }).nullable(),
  shares: z.array(Share),
});

type Report = { year: number; model: (typeof REPORT_MODELS)[number]; services: z.infer<typeof ServiceReport>[]; withoutBudget: string[]; withoutModel: string[] };

const CSV_HEADER = ['year', 'service', 'service_name', 'model', 'budget_eur', 'land', 'land_name', 'weight', 'percent', 'share_eur', 'tickets', 'backlog_items', 'population_source', 'population_date'];

/** A CSV field: quoted when it holds a separator, a quote or a line break; a leading =+-@ is defused for spreadsheets. */
function csvField(value: string | number): string {
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** RFC 4180: CRLF line ends, a header row, decimals with a point (machines read it; the page shows German numbers). */
function toCsv(report: Report, topology: Topology): string {
  const rows = report.services.flatMap((s) =>
    s.shares.map((sh) => [
      report.year, s.service, s.name, s.model, s.budgetEuros, sh.land, topology.lands.get(sh.land)?.name ?? sh.land, sh.weight,
      sh.percent, sh.euros, sh.tickets, sh.backlogItems, s.populationSource?.name ?? '', s.populationSource?.date ?? '',
    ]),
  );
  return [CSV_HEADER, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

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
        response: {
          200: z.union([z.object({
            year: z.number().int(),
            model: z.enum(REPORT_MODELS),
            services: z.array(ServiceReport),
            withoutBudget: z.array(z.string()).describe('services with no budget for the year'),
            withoutModel: z.array(z.string()).describe('services the model asked for cannot split (fixed: no fixed shares agreed)'),
          }), z.string().describe('text/csv with format=csv')]),
          ...problemResponses(400, 401, 403, 422),
        },
      },
    }, async (req, reply) => {
      const { year, service, model, format } = req.query;
      if (year === undefined) throw new AppError('BAD_REQUEST', YEAR_REQUIRED, { errors: [{ path: 'query.year', message: YEAR_REQUIRED }] });
      if (service !== undefined && !deps.topology.services.has(service)) throw new AppError('VALIDATION_FAILED', 'Unknown service', { errors: [{ path: 'service', message: 'unknown service' }] });
      const ids = service ? [service] : [...deps.topology.services.keys()];
      const services: z.infer<typeof ServiceReport>[] = [];
      const withoutBudget: string[] = [];
      const withoutModel: string[] = [];
      for (const id of ids) {
        let split;
        try {
          split = splitServiceBudget(deps.topology, id, year, model);
        } catch (err) {
          if (err instanceof NoFixedSharesError) {
            // One service asked for by name: a refusal naming the model; all services: the ones it cannot split are listed apart.
            if (service !== undefined) throw new AppError('VALIDATION_FAILED', err.message, { errors: [{ path: 'query.model', message: err.message }] });
            withoutModel.push(id);
            continue;
          }
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
          model: split.model, agreedModel: split.agreedModel, populationSource: split.populationSource,
          shares: split.shares.map((s, i) => ({ ...s, euros: euros(s.cents), tickets: facts[i]!.tickets, backlogItems: facts[i]!.backlogItems })),
        });
      }
      const report: Report = { year, model, services, withoutBudget, withoutModel };
      if (format === 'csv') {
        const name = `lotse-kostenaufteilung-${year}${service ? `-${service}` : ''}${model === 'agreed' ? '' : `-${model}`}.csv`;
        return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}"`).serializer((x: unknown) => x as string).send(toCsv(report, deps.topology));
      }
      return report;
    });
  };
}
