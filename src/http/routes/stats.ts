import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { problemResponses } from '../problem.js';

const CountSchema = z.object({
  count: z.number().int(),
  list: z.string().describe('The list query that lists exactly the tickets counted'),
});
const Counts = z.record(z.string(), CountSchema);

const QueueCountsSchema = z.object({
  waiting: z.number().int(),
  active: z.number().int(),
  delayed: z.number().int(),
  prioritized: z.number().int(),
  'waiting-children': z.number().int(),
  failed: z.number().int(),
  completed: z.number().int(),
  list: z.string().describe('Where bull-board shows the queue'),
});

export const StatsSchema = z
  .object({
    at: z.string(),
    tickets: z.object({
      total: Counts.describe('all: every ticket kept; active: tickets at a level'),
      status: Counts,
      level: Counts.describe('active tickets by level'),
      assignee: Counts.describe('active tickets by holding organisation'),
      land: Counts.describe('active tickets by Land'),
      service: Counts.describe('active tickets by service'),
      priority: Counts.describe('active tickets by priority'),
      sla: Counts.describe('at-risk: a running clock warned; breached: a clock breached, tickets still at a level only (resolved and closed ones not counted: the count is the length of ?sla=breached)'),
    }),
    queues: z.record(z.string(), QueueCountsSchema).describe('BullMQ job counts per Lotse queue'),
    deadLetters: CountSchema,
  })
  .describe('Counts from the read model kept by each commit; the cost does not grow with the number of tickets');

/**
 * Where the route reads its counts. The process wiring hands in the
 * dashboard's stats reader: HTTP names what it needs and imports nothing of
 * the dashboard, and the compiler checks the reader's answer against the schema.
 */
export interface StatsSource {
  read(): Promise<z.infer<typeof StatsSchema>>;
}

export function statsRoutes(stats: StatsSource): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/v1/stats', {
      config: { roles: ['operator', 'steering'] },
      schema: {
        tags: ['stats'],
        operationId: 'getStats',
        summary: 'Counts by status, level, organisation, Land, service, priority and SLA; queue depths; dead letters. Each count names the list it counts.',
        response: { 200: StatsSchema, ...problemResponses(401, 403) },
      },
    }, async () => stats.read());
  };
}
