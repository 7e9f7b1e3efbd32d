import { z } from 'zod';
import { closedDaysBetween, describeCalendar } from '../../domain/business-time.js';
import { clockOutcome, type Clock } from '../../domain/sla.js';
import { SlaMarkSchema } from '../../domain/ticket.js';
import type { Topology } from '../../domain/topology.js';
import type { TicketRecord } from './record.js';
import { markView } from './view.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** Business milliseconds as an ISO 8601 duration of hours, minutes and seconds: `PT1H30M`. */
export function formatBusinessMs(ms: number): string {
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `PT${h ? `${h}H` : ''}${m ? `${m}M` : ''}${s || (!h && !m) ? `${s}S` : ''}`;
}

export const SlaTimelineSchema = z
  .object({
    ticketId: z.string(),
    priority: z.string(),
    policy: z.object({ firstResponse: z.string(), resolution: z.string(), warnAt: z.number(), onBreach: z.enum(['notify', 'escalate']) }),
    paused: z.boolean(),
    pausedSince: z.string().nullable(),
    clocks: z.array(
      z.object({
        name: z.enum(['firstResponse', 'resolution']),
        level: z.number().int(),
        holder: z.string(),
        calendar: z.string().describe("The holder's calendar the clock ran on"),
        priority: z.string(),
        target: z.string().describe('ISO 8601 business duration'),
        targetBusinessTime: z.string(),
        startedAt: z.string(),
        warnAt: z.string(),
        dueAt: z.string(),
        stoppedAt: z.string().nullable(),
        outcome: z.enum(['running', 'paused', 'met', 'late', 'breached', 'handed-on']),
        pauses: z.array(z.object({ from: z.string(), to: z.string(), businessTime: z.string() })),
        pausedBusinessTime: z.string(),
        closedDays: z
          .array(z.object({ date: z.string(), reason: z.string(), name: z.string().optional() }))
          .describe('Days between the start and the due (or stop) time on which the calendar was closed or closed early'),
      }),
    ),
    warnings: z.array(SlaMarkSchema),
    breaches: z.array(SlaMarkSchema),
    nextTimer: z.object({ kind: z.string(), at: z.string(), clock: z.string().optional(), epoch: z.number().int() }).nullable(),
  })
  .describe("A ticket's SLA clocks: why each is due when it is");
export type SlaTimeline = z.infer<typeof SlaTimelineSchema>;

/** The explainable clock: every clock with its calendar, pauses, closed days, due time and outcome. */
export function toSlaTimeline(topology: Topology, record: TicketRecord): SlaTimeline {
  const ctx = record.state.context;
  const sla = ctx.sla;
  const policy = topology.config.sla[ctx.priority];
  const clockView = (c: Clock) => {
    const cal = topology.orgs.get(c.holder)?.calendar ?? '24x7';
    const end = c.stoppedAt ?? Math.max(c.dueAt, c.startedAt);
    return {
      name: c.name,
      level: c.level,
      holder: c.holder,
      calendar: describeCalendar(cal),
      priority: c.priority,
      target: c.target,
      targetBusinessTime: formatBusinessMs(c.targetMs),
      startedAt: iso(c.startedAt),
      warnAt: iso(c.warnAt),
      dueAt: iso(c.dueAt),
      stoppedAt: c.stoppedAt === null ? null : iso(c.stoppedAt),
      outcome: clockOutcome(sla, c),
      pauses: c.pauses.map((p) => ({ from: iso(p.from), to: iso(p.to), businessTime: formatBusinessMs(p.businessMs) })),
      pausedBusinessTime: formatBusinessMs(c.pausedMs),
      closedDays: closedDaysBetween(cal, c.startedAt, end).map((d) => ({ date: d.date, reason: d.reason, ...(d.name ? { name: d.name } : {}) })),
    };
  };
  return {
    ticketId: record.id,
    priority: ctx.priority,
    policy: { firstResponse: policy.firstResponse, resolution: policy.resolution, warnAt: policy.warnAt, onBreach: policy.onBreach },
    paused: sla.pausedSince !== null,
    pausedSince: sla.pausedSince === null ? null : iso(sla.pausedSince),
    clocks: sla.clocks.map(clockView),
    warnings: sla.warnings.map(markView),
    breaches: sla.breaches.map(markView),
    nextTimer: ctx.timer ? { kind: ctx.timer.kind, at: iso(ctx.timer.at), ...(ctx.timer.clock ? { clock: ctx.timer.clock } : {}), epoch: ctx.timer.epoch } : null,
  };
}
