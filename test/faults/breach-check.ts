import { STALL_SETTINGS } from '../../workers/worker-kit.js';

/**
 * The fault suite's check of one ticket's SLA breaches, pure so that a test
 * can show it fails where it must (test/faults/breach-check.test.ts).
 */
export interface BreachClock { name: string; level: number; holder: string; dueAt: string; stoppedAt: string | null; outcome: string }
export interface BreachMark { clock: string; level: number; holder: string; dueAt: string; at: string }
export interface BreachTimeline { clocks: BreachClock[]; breaches: BreachMark[]; pausedSince: string | null }

/**
 * How late a breach may come under faults and still count as kept: a timer
 * job held by a killed worker runs again once its lock has lapsed and two
 * stalled checks have passed, on a worker that may itself still be starting.
 */
export const BREACH_GRACE_MS = STALL_SETTINGS.lockDuration + 2 * STALL_SETTINGS.stalledInterval + 20_000;

export interface BreachFaults {
  breaches: number;
  /** A clock that ran (or stopped) past its due time by more than the grace without its breach. */
  missed: { clock: string; level: number; outcome: string; dueAt: string; stoppedAt: string | null }[];
  /** A clock breached more than once, or an SLA_BREACHED history entry without its mark. */
  repeated: number;
}

export function checkBreaches(historyTypes: string[], sla: BreachTimeline, now: number, graceMs = BREACH_GRACE_MS): BreachFaults {
  const marks = new Map<string, number>();
  for (const b of sla.breaches) {
    const k = `${b.clock} ${b.level} ${b.holder} ${b.dueAt}`;
    marks.set(k, (marks.get(k) ?? 0) + 1);
  }
  let repeated = [...marks.values()].filter((n) => n > 1).length;
  repeated += Math.max(0, historyTypes.filter((t) => t === 'SLA_BREACHED').length - sla.breaches.length);
  const missed: BreachFaults['missed'] = [];
  for (const c of sla.clocks) {
    const due = Date.parse(c.dueAt);
    // Not breached, yet it ran past its due time: until it stopped (`late`, or `handed-on` to the next
    // holder), until the ticket paused (`paused`), or until now (`running`).
    const ranUntil = c.outcome === 'late' || c.outcome === 'handed-on' ? Date.parse(c.stoppedAt!)
      : c.outcome === 'paused' ? Date.parse(sla.pausedSince!)
        : c.outcome === 'running' ? now : -Infinity;
    const late = ranUntil - due > graceMs;
    if (late) missed.push({ clock: c.name, level: c.level, outcome: c.outcome, dueAt: c.dueAt, stoppedAt: c.stoppedAt });
  }
  return { breaches: sla.breaches.length, missed, repeated };
}
