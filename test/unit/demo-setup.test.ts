import { describe, expect, it } from 'vitest';
import { loadTopology } from '../../src/config/topology-file.js';
import { businessMsBetween } from '../../src/domain/business-time.js';
import { backdateBusiness, DEMO_SLA, demoTopology, FAILING_PROVIDER, looksLikeDemoPrefix, SLOW_PROVIDER, SLOW_RECEIPT_DEADLINE } from '../../src/demo/demo-setup.js';
import { parseDemoArgs } from '../../src/demo/options.js';
import { prefixPattern } from '../../src/store/prefix-sweep.js';

const base = loadTopology(undefined);

describe("the demo's own Lotse", () => {
  it('runs the demo policy, a short receipt deadline for the slow provider and a webhook for the failing one; the default topology keeps its own', () => {
    const demo = demoTopology(base, 'http://127.0.0.1:9/hook');
    expect(demo.config.sla.P1).toMatchObject(DEMO_SLA.P1);
    expect(demo.orgs.get(SLOW_PROVIDER)!.receiptDeadline).toBe(SLOW_RECEIPT_DEADLINE);
    expect(demo.orgs.get(FAILING_PROVIDER)!.webhook!.url).toBe('http://127.0.0.1:9/hook');
    expect(base.config.sla.P3.firstResponse).toBe('P1D');
    expect(base.orgs.get(FAILING_PROVIDER)!.webhook).toBeUndefined();
  });

  it('backdates by business time on a calendar: the time passed since is the target, also at night and over a weekend', () => {
    const cal = base.calendarOf('desk-HB');
    for (const at of ['2026-12-07T21:30:00Z', '2026-12-07T10:00:00Z', '2026-12-06T12:00:00Z']) {
      const now = Date.parse(at);
      const from = backdateBusiness(cal, now, 90 * 60_000)!;
      expect(Math.abs(businessMsBetween(cal, from, now) - 90 * 60_000)).toBeLessThanOrEqual(1000);
      expect(from).toBeLessThan(now);
    }
    expect(backdateBusiness(cal, Date.parse('2026-12-07T10:00:00Z'), 1000 * 3_600_000)).toBeUndefined();
  });

  it('cleans only prefixes that say demo, and matches a prefix exactly', () => {
    expect(looksLikeDemoPrefix('lotse-demo')).toBe(true);
    expect(looksLikeDemoPrefix('{lotse-demo}')).toBe(true);
    expect(looksLikeDemoPrefix('lotse')).toBe(false);
    expect(prefixPattern('lotse-demo')).toBe('lotse-demo:*');
    expect(prefixPattern('a*[b]?')).toBe('a\\*\\[b\\]\\?:*');
  });

  it('reads --clean and --force, and refuses them with anything else', () => {
    expect(parseDemoArgs(['--clean'], () => 1)).toMatchObject({ clean: true, force: false });
    expect(parseDemoArgs(['--clean', '--force'], () => 1)).toMatchObject({ clean: true, force: true });
    expect(parseDemoArgs([], () => 1)).toMatchObject({ clean: false, force: false });
    expect(() => parseDemoArgs(['--force'], () => 1)).toThrow('--force: only with --clean');
    expect(() => parseDemoArgs(['--clean', '--speed', '2'], () => 1)).toThrow('--clean: takes only --force, not --speed');
  });
});
