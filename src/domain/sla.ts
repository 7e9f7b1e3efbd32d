import { addBusinessMs, addBusinessTime, businessMsBetween } from './business-time.js';
import type { Calendar } from './calendar.js';
import type { Level, Priority, SlaPolicy } from './topology.js';

/**
 * SLA clocks, pure. A clock measures business time on the calendar of the
 * organisation that holds the ticket. Targets are turned into business
 * milliseconds once, when a clock starts; pauses and priority changes are
 * then plain arithmetic on those milliseconds, so paused time is never lost.
 */

export type ClockName = 'firstResponse' | 'resolution';
export const CLOCK_NAMES: readonly ClockName[] = ['firstResponse', 'resolution'];

export interface Pause {
  from: number;
  to: number;
  /** Business time inside the pause, on the clock's calendar. */
  businessMs: number;
}

export interface Clock {
  name: ClockName;
  level: Level;
  holder: string;
  priority: Priority;
  target: string;
  startedAt: number;
  targetMs: number;
  warnFraction: number;
  pausedMs: number;
  pauses: Pause[];
  warnAt: number;
  dueAt: number;
  stoppedAt: number | null;
  /** Why it stopped: the holder answered or resolved, or the ticket moved to another holder. */
  stopReason?: StopReason;
  warned: boolean;
  breached: boolean;
}

export type StopReason = 'responded' | 'resolved' | 'handed-on';

export interface Mark {
  clock: ClockName;
  level: Level;
  holder: string;
  at: number;
  dueAt: number;
}

export interface SlaState {
  clocks: Clock[];
  pausedSince: number | null;
  warnings: Mark[];
  breaches: Mark[];
}

export interface SlaRules {
  policy(priority: Priority): SlaPolicy;
  calendarOf(orgId: string): Calendar;
}

export const EMPTY_SLA: SlaState = { clocks: [], pausedSince: null, warnings: [], breaches: [] };

export function targetOf(policy: SlaPolicy, name: ClockName, level: Level): string {
  return policy.levels?.[`${level}`]?.[name] ?? policy[name];
}

const isRunning = (c: Clock) => c.stoppedAt === null;

function schedule(clock: Clock, cal: Calendar): Clock {
  return {
    ...clock,
    dueAt: addBusinessMs(cal, clock.startedAt, clock.targetMs + clock.pausedMs),
    warnAt: addBusinessMs(cal, clock.startedAt, Math.round(clock.targetMs * clock.warnFraction) + clock.pausedMs),
  };
}

function newClock(rules: SlaRules, name: ClockName, level: Level, holder: string, priority: Priority, at: number): Clock {
  const cal = rules.calendarOf(holder);
  const policy = rules.policy(priority);
  const target = targetOf(policy, name, level);
  const dueAt = addBusinessTime(cal, at, target);
  const targetMs = businessMsBetween(cal, at, dueAt);
  return {
    name, level, holder, priority, target, startedAt: at, targetMs, warnFraction: policy.warnAt,
    pausedMs: 0, pauses: [], warnAt: addBusinessMs(cal, at, Math.round(targetMs * policy.warnAt)), dueAt, stoppedAt: null, warned: false, breached: false,
  };
}

/** Ends the pause (if any) on running clocks, counting its business time. */
function settlePause(state: SlaState, rules: SlaRules, at: number): SlaState {
  const since = state.pausedSince;
  if (since === null) return state;
  const clocks = state.clocks.map((c) => {
    if (!isRunning(c)) return c;
    const cal = rules.calendarOf(c.holder);
    const businessMs = businessMsBetween(cal, since, at);
    return schedule({ ...c, pausedMs: c.pausedMs + businessMs, pauses: [...c.pauses, { from: since, to: at, businessMs }] }, cal);
  });
  return { ...state, clocks, pausedSince: null };
}

/** Stops running clocks (all, or those named), keeping them for the timeline. */
export function stopClocks(
  state: SlaState,
  rules: SlaRules,
  at: number,
  names: readonly ClockName[] = CLOCK_NAMES,
  reason: StopReason = 'resolved',
): SlaState {
  const settled = settlePause(state, rules, at);
  const pausedSince = names.length === CLOCK_NAMES.length ? null : state.pausedSince;
  const stopping = settled.clocks.filter((c) => isRunning(c) && names.includes(c.name));
  // A clock that stops past its due time unbreached (its timer came late, or another clock's breach moved the
  // ticket first) still breached: it is recorded as it stops, so no breach goes missing.
  const late = settled.pausedSince === null ? stopping.filter((c) => !c.breached && c.dueAt <= at) : [];
  return {
    ...settled,
    pausedSince,
    breaches: [...settled.breaches, ...late.map((c): Mark => ({ clock: c.name, level: c.level, holder: c.holder, at, dueAt: c.dueAt }))],
    clocks: settled.clocks.map((c) => (stopping.includes(c) ? { ...c, stoppedAt: at, stopReason: reason, ...(late.includes(c) ? { warned: true, breached: true } : {}) } : c)),
  };
}

/** A ticket reached a new holder: the running clocks end, new ones start on its calendar. */
export function startClocks(
  state: SlaState,
  rules: SlaRules,
  opts: { level: Level; holder: string; priority: Priority; at: number; names: readonly ClockName[] },
): SlaState {
  const stopped = stopClocks(state, rules, opts.at, CLOCK_NAMES, 'handed-on');
  const started = opts.names.map((n) => newClock(rules, n, opts.level, opts.holder, opts.priority, opts.at));
  return { ...stopped, clocks: [...stopped.clocks, ...started] };
}

export function pauseClocks(state: SlaState, at: number): SlaState {
  return state.pausedSince === null ? { ...state, pausedSince: at } : state;
}

export function resumeClocks(state: SlaState, rules: SlaRules, at: number): SlaState {
  return settlePause(state, rules, at);
}

/** New targets for the running clocks; elapsed and paused business time are kept. */
export function reprioritize(state: SlaState, rules: SlaRules, priority: Priority, at: number): SlaState {
  const policy = rules.policy(priority);
  const clocks = state.clocks.map((c) => {
    if (!isRunning(c)) return c;
    const cal = rules.calendarOf(c.holder);
    const target = targetOf(policy, c.name, c.level);
    const targetMs = businessMsBetween(cal, c.startedAt, addBusinessTime(cal, c.startedAt, target));
    const next = schedule({ ...c, priority, target, targetMs, warnFraction: policy.warnAt }, cal);
    // A looser target lifts a warning or breach that has not happened under it yet.
    return { ...next, warned: c.warned && next.warnAt <= at, breached: c.breached && next.dueAt <= at };
  });
  return { ...state, clocks };
}

export type SlaDeadlineKind = 'warning' | 'breach';
export interface SlaDeadline {
  kind: SlaDeadlineKind;
  clock: ClockName;
  at: number;
}

/** The nearest deadline of the running clocks; none while paused. */
export function nextSlaDeadline(state: SlaState): SlaDeadline | null {
  if (state.pausedSince !== null) return null;
  let best: SlaDeadline | null = null;
  for (const c of state.clocks) {
    if (!isRunning(c)) continue;
    const candidate: SlaDeadline | null = !c.warned
      ? { kind: 'warning', clock: c.name, at: c.warnAt }
      : !c.breached
        ? { kind: 'breach', clock: c.name, at: c.dueAt }
        : null;
    if (candidate && (!best || candidate.at < best.at)) best = candidate;
  }
  return best;
}

function mark(state: SlaState, name: ClockName, at: number, kind: SlaDeadlineKind): SlaState {
  const clock = state.clocks.find((c) => isRunning(c) && c.name === name);
  if (!clock) return state;
  const entry: Mark = { clock: name, level: clock.level, holder: clock.holder, at, dueAt: clock.dueAt };
  const clocks = state.clocks.map((c) =>
    c === clock ? { ...c, warned: true, breached: kind === 'breach' ? true : c.breached } : c,
  );
  return kind === 'warning'
    ? { ...state, clocks, warnings: [...state.warnings, entry] }
    : { ...state, clocks, breaches: [...state.breaches, entry] };
}

export const recordWarning = (s: SlaState, name: ClockName, at: number) => mark(s, name, at, 'warning');
export const recordBreach = (s: SlaState, name: ClockName, at: number) => mark(s, name, at, 'breach');

export function runningClock(state: SlaState, name: ClockName): Clock | undefined {
  return state.clocks.find((c) => isRunning(c) && c.name === name);
}

/** At risk: a running clock has warned and not breached. */
export function isAtRisk(state: SlaState): boolean {
  return state.clocks.some((c) => isRunning(c) && c.warned && !c.breached);
}

export function hasBreached(state: SlaState): boolean {
  return state.breaches.length > 0;
}

export type ClockOutcome = 'running' | 'paused' | 'met' | 'late' | 'breached' | 'handed-on';

/** How a clock stands: running or paused, else how it ended. */
export function clockOutcome(state: SlaState, c: Clock): ClockOutcome {
  if (c.breached) return 'breached';
  if (isRunning(c)) return state.pausedSince !== null ? 'paused' : 'running';
  if (c.stopReason === 'handed-on') return 'handed-on';
  return c.stoppedAt! <= c.dueAt ? 'met' : 'late';
}
