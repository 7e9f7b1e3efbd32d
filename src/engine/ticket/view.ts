import { runningClock, type Mark } from '../../domain/sla.js';
import type { TicketView } from '../../domain/ticket.js';
import { stateInfo, type TicketRecord } from './record.js';

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());
/** A warning or breach as callers see it (SlaMarkSchema). */
export const markView = (m: Mark) => ({ clock: m.clock, level: m.level, holder: m.holder, at: iso(m.at)!, dueAt: iso(m.dueAt)! });

/** The ticket as callers see it; the reporter only when `withReporter`. */
export function toTicketView(record: TicketRecord, withReporter: boolean): TicketView {
  const { data, state } = record;
  const ctx = state.context;
  const info = stateInfo(state.value);
  const sla = ctx.sla;
  return {
    id: record.id,
    externalRef: data.externalRef,
    version: record.version,
    land: ctx.facts.land,
    ...(data.ars !== undefined ? { ars: data.ars } : {}),
    service: ctx.facts.service,
    themeField: data.themeField,
    channel: data.channel,
    category: ctx.facts.category,
    impact: ctx.impact,
    urgency: ctx.urgency,
    priority: ctx.priority,
    subject: data.subject,
    description: data.description,
    attachments: data.attachments,
    level: info.level,
    status: info.status,
    state: info.path,
    assignee: info.active ? ctx.assignee : null,
    createdBy: ctx.createdBy,
    handledBy: ctx.handledBy,
    sla: {
      firstResponseDueAt: iso(runningClock(sla, 'firstResponse')?.dueAt),
      resolutionDueAt: iso(runningClock(sla, 'resolution')?.dueAt),
      paused: sla.pausedSince !== null,
      warnings: sla.warnings.map(markView),
      breaches: sla.breaches.map(markView),
    },
    receivedAt: iso(ctx.receivedAt)!,
    createdAt: iso(ctx.createdAt)!,
    updatedAt: iso(record.updatedAt)!,
    resolvedAt: iso(ctx.resolvedAt),
    closedAt: iso(ctx.closedAt),
    ...(withReporter && record.reporter ? { reporter: record.reporter } : {}),
  };
}
