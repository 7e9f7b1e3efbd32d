/**
 * The one live line the demo keeps on the terminal: rewritten in place on a
 * terminal, a plain line now and then otherwise (a log file, a pipe, a test).
 */
import { formatOfficeClock, officeClock } from './clock.js';

/** What the demo counts itself, from its own requests and the tickets it looked at. */
export interface DemoCounters {
  created: number;
  /** Tickets the demo still follows that are neither resolved nor closed. */
  open: number;
  resolved: number;
  /** Tickets seen with at least one SLA breach. */
  breached: number;
  /** Times a ticket was seen with a new IT provider or vendor desk. */
  handoffs: number;
  /** Times a provider was seen to have moved a ticket it held (resolved, escalated, returned). */
  answered: number;
  /** Arrivals not created because a cap was reached. */
  skipped: number;
  failed: number;
}

export const zeroCounters = (): DemoCounters => ({ created: 0, open: 0, resolved: 0, breached: 0, handoffs: 0, answered: 0, skipped: 0, failed: 0 });

/** Counts Lotse itself reports (GET /v1/stats), where it reports them; they win over the demo's own. */
export interface ApiCounts {
  open?: number;
  breached?: number;
  handoffsPending?: number;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/**
 * Reads the counts the progress line needs out of a `/v1/stats` answer
 * (`tickets.total.active`, `tickets.sla.breached`, `tickets.status.<s>`,
 * each `{ count, list }`), taking only what is plainly there.
 */
export function readStats(body: Record<string, unknown>): ApiCounts {
  const tickets = obj(body.tickets);
  const count = (group: string, name: string) => num(obj(obj(tickets[group])[name]).count);
  const open = count('total', 'active');
  const breached = count('sla', 'breached');
  const handoffsPending = count('status', 'handoff-pending');
  return { ...(open === undefined ? {} : { open }), ...(breached === undefined ? {} : { breached }), ...(handoffsPending === undefined ? {} : { handoffsPending }) };
}

export interface ProgressState {
  officeMs: number;
  counters: DemoCounters;
  api: ApiCounts | undefined;
  capped: string | undefined;
}

/** A count with its noun in the right number: `1 Ticket`, `2 Tickets`, `1 Übergabe`. */
const counted = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * `Mo 09:42 · 123 Tickets angelegt · 45 offen · 60 gelöst · 3 SLA-Verstöße · 17 Übergaben (12 beantwortet)`;
 * shorter (`Mo 09:42 123 angelegt, 45 offen, …, 17 Übergaben`) where that does not fit in `width`.
 */
export function renderProgress(s: ProgressState, width = Infinity): string {
  const c = s.counters;
  const open = s.api?.open ?? c.open;
  const breached = s.api?.breached ?? c.breached;
  const render = (short: boolean) => {
    const parts = [
      formatOfficeClock(officeClock(s.officeMs)),
      short ? `${c.created} angelegt` : `${counted(c.created, 'Ticket', 'Tickets')} angelegt`,
      `${open} offen`,
      `${c.resolved} gelöst`,
      breached === 1 ? '1 SLA-Verstoß' : `${breached} SLA-Verstöße`,
      short ? counted(c.handoffs, 'Übergabe', 'Übergaben') : `${counted(c.handoffs, 'Übergabe', 'Übergaben')} (${c.answered} beantwortet)`,
    ];
    if (c.failed > 0) parts.push(`${c.failed} Fehler`);
    if (s.capped) parts.push(s.capped);
    return short ? `${parts[0]} ${parts.slice(1).join(', ')}` : parts.join(' · ');
  };
  const full = render(false);
  return full.length <= width ? full : render(true);
}

export interface ProgressWriter {
  /** Columns the line may take: a terminal's width, unbounded elsewhere. */
  width(): number;
  update(line: string): void;
  /** Ends the live line, so what follows starts on a line of its own. */
  finish(): void;
}

/** On a terminal: one line rewritten with \r. Elsewhere: a plain line at most every `plainEveryMs`. */
export function createProgressWriter(out: NodeJS.WriteStream, plainEveryMs: number, now: () => number = Date.now): ProgressWriter {
  const tty = out.isTTY === true;
  let last = -Infinity;
  let width = 0;
  let shown = false;
  return {
    width: () => (tty ? (out.columns ?? 120) - 1 : Infinity),
    update(line) {
      if (tty) {
        const columns = (out.columns ?? 120) - 1;
        const text = line.length > columns ? line.slice(0, columns) : line;
        out.write(`\r${text}${' '.repeat(Math.max(0, width - text.length))}`);
        width = text.length;
        shown = true;
        return;
      }
      if (now() - last < plainEveryMs) return;
      last = now();
      out.write(`${line}\n`);
    },
    finish() {
      if (tty && shown) out.write('\n');
      shown = false;
    },
  };
}
