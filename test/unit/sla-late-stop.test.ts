import { describe, expect, it } from 'vitest';
import { EMPTY_SLA, startClocks, stopClocks } from '../../src/domain/sla.js';
import { HOUR, MINUTE, T0, world24x7 } from './ticket-fixtures.js';

const rules = world24x7.policy;
// P1 on a 24x7 calendar: first response due in 30 minutes, resolution in 4 hours (the default targets).
const started = startClocks(EMPTY_SLA, rules, { level: 2, holder: 'dataport', priority: 'P1', at: T0, names: ['firstResponse', 'resolution'] });

describe('a clock that stops past its due time', () => {
  it('records its breach as it stops, when no timer recorded it first', () => {
    const stopped = stopClocks(started, rules, T0 + 31 * MINUTE, ['firstResponse'], 'responded');
    expect(stopped.breaches.map((b) => b.clock)).toEqual(['firstResponse']);
    expect(stopped.clocks.find((c) => c.name === 'firstResponse')).toMatchObject({ breached: true, stopReason: 'responded' });
    expect(stopped.clocks.find((c) => c.name === 'resolution')).toMatchObject({ breached: false, stoppedAt: null });
  });

  it('records every clock past due when the ticket is handed on, and none that was still in time', () => {
    const handedOn = startClocks(started, rules, { level: 3, holder: 'it-HB', priority: 'P1', at: T0 + 5 * HOUR, names: ['resolution'] });
    expect(handedOn.breaches.map((b) => `${b.clock}@${b.level}`).sort()).toEqual(['firstResponse@2', 'resolution@2']);
    const inTime = startClocks(started, rules, { level: 3, holder: 'it-HB', priority: 'P1', at: T0 + 10 * MINUTE, names: ['resolution'] });
    expect(inTime.breaches).toEqual([]);
  });

  it('records a breach once: a clock a timer already breached is not recorded again', () => {
    const breached = { ...started, clocks: started.clocks.map((c) => (c.name === 'firstResponse' ? { ...c, warned: true, breached: true } : c)), breaches: [{ clock: 'firstResponse' as const, level: 2 as const, holder: 'dataport', at: T0 + 30 * MINUTE, dueAt: T0 + 30 * MINUTE }] };
    expect(stopClocks(breached, rules, T0 + HOUR, ['firstResponse'], 'responded').breaches).toHaveLength(1);
  });
});
