import { describe, expect, it } from 'vitest';
import { formatOfficeClock, HOUR_MS, loadFactorAt, nextArrival, officeClock, officeTimeAt, realMsFor, WORKDAY_MS } from '../../src/demo/clock.js';
import { DemoError, formatWorkday, parseDemoArgs, parseDemoKeys, parseDuration } from '../../src/demo/options.js';
import { providerDelayMs } from '../../src/demo/providers.js';
import { seededRandom } from '../../src/seeded-random.js';

describe('the demo clock', () => {
  it.each([1, 60, 600, 3600])('a 10-hour workday passes in 10 h / %d of real time', (speed) => {
    const real = (10 * HOUR_MS) / speed;
    expect(realMsFor(WORKDAY_MS, speed)).toBeCloseTo(real, 9);
    expect(officeTimeAt(real, speed)).toBeCloseTo(WORKDAY_MS, 6);
  });

  it('never runs backwards from the start', () => {
    expect(officeTimeAt(-5, 60)).toBe(0);
  });

  it.each([
    [0, 'Mo 08:00'],
    [HOUR_MS + 5 * 60_000, 'Mo 09:05'],
    [WORKDAY_MS - 60_000, 'Mo 17:59'],
    // The evening jumps to the next morning, Friday to Monday.
    [WORKDAY_MS, 'Di 08:00'],
    [4 * WORKDAY_MS + 9 * HOUR_MS, 'Fr 17:00'],
    [5 * WORKDAY_MS, 'Tag 6 Mo 08:00'],
  ])('office time %d is %s', (ms, shown) => {
    expect(formatOfficeClock(officeClock(ms))).toBe(shown);
  });

  it('spreads a day by a load curve that averages 1 (a morning peak, a quieter afternoon)', () => {
    const factors = Array.from({ length: 10 }, (_, h) => loadFactorAt(h * HOUR_MS + 1));
    expect(factors.reduce((a, b) => a + b, 0) / 10).toBeCloseTo(1, 9);
    expect(loadFactorAt(2 * HOUR_MS)).toBeGreaterThan(loadFactorAt(9 * HOUR_MS));
    expect(loadFactorAt(WORKDAY_MS + 2 * HOUR_MS)).toBe(loadFactorAt(2 * HOUR_MS));
  });

  it('draws arrivals that are later each time and the same for the same seed', () => {
    const seq = (seed: number) => {
      const random = seededRandom(seed);
      let t = 0;
      return Array.from({ length: 50 }, () => (t = nextArrival(t, 1200, random)));
    };
    const a = seq(9);
    expect(a).toEqual(seq(9));
    for (let i = 1; i < a.length; i++) expect(a[i]!).toBeGreaterThan(a[i - 1]!);
  });

  it.each([
    [60, '10 min'],
    [600, '1 min'],
    [3600, '10 s'],
    [1, '10 h'],
    [4, '2 h 30 min'],
  ])('says how long a workday takes at speed %d: %s', (speed, text) => {
    expect(formatWorkday(speed)).toBe(text);
  });

  it('lets providers work 20 simulated minutes, between 100 ms and a minute of real time', () => {
    expect(providerDelayMs(60)).toBe(20_000);
    expect(providerDelayMs(600)).toBe(2000);
    expect(providerDelayMs(1)).toBe(60_000);
    expect(providerDelayMs(100_000)).toBe(100);
  });
});

describe('lotse demo arguments', () => {
  it('has defaults that move the dashboard within seconds, bounded', () => {
    const o = parseDemoArgs([], () => 42);
    expect(o).toMatchObject({ against: undefined, port: undefined, speed: 60, seed: 42, volume: 1200, maxOpen: 2000, maxTickets: 20_000, durationMs: undefined });
    // 1200 tickets a 10-hour day at 60×: two a second.
    expect(o.volume / realMsFor(WORKDAY_MS, o.speed) * 1000).toBe(2);
  });

  it('reads every option', () => {
    const o = parseDemoArgs(['--against', 'http://127.0.0.1:3000', '--speed', '600', '--seed', '1', '--volume', '50', '--max-open', '10', '--max-tickets', '99', '--duration', '2m']);
    expect(o).toMatchObject({ speed: 600, seed: 1, volume: 50, maxOpen: 10, maxTickets: 99, durationMs: 120_000 });
    expect(o.against?.href).toBe('http://127.0.0.1:3000/');
  });

  it.each([
    [['--speed', '0'], /--speed/],
    [['--speed', 'fast'], /--speed/],
    [['--seed', '1.5'], /--seed/],
    [['--max-open', '-1'], /--max-open/],
    [['--port', '70000'], /--port/],
    [['--against', 'ftp://x'], /--against/],
    [['--against', 'not a url'], /--against/],
    [['--against', 'http://127.0.0.1:3000', '--port', '3001'], /--port/],
    [['--duration', '10 minutes'], /--duration/],
    [['--teleport'], /teleport/],
  ])('refuses %j, naming the option', (args, named) => {
    expect(() => parseDemoArgs(args)).toThrow(named);
    try {
      parseDemoArgs(args);
    } catch (err) {
      expect(err).toBeInstanceOf(DemoError);
      expect((err as DemoError).code).toBe(2);
    }
  });

  it('reads durations in seconds, minutes and hours', () => {
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
  });

  it('reads LOTSE_DEMO_KEYS, naming what is wrong', () => {
    expect(parseDemoKeys(undefined).size).toBe(0);
    expect(parseDemoKeys('{"desk-HB":"k1","ops-bremen":"k2"}').get('ops-bremen')).toBe('k2');
    expect(() => parseDemoKeys('{nope')).toThrow(/LOTSE_DEMO_KEYS: not JSON/);
    expect(() => parseDemoKeys('{"desk-HB": 5}')).toThrow(/LOTSE_DEMO_KEYS\.desk-HB/);
  });
});
