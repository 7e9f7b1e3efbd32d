import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/http/app.js';
import { bearer, createHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
let app: App;

beforeAll(async () => {
  h = await createHarness();
  app = await h.app();
});

afterAll(async () => {
  await h?.close();
});

const get = (url: string, org = 'steuerungskreis') => app.inject({ method: 'GET', url, headers: bearer(org) });

describe('the cost report by model', () => {
  it('answers each service by its agreed model unless another is asked for, and says which', async () => {
    const agreed = (await get('/v1/reports/cost-split?year=2026')).json();
    expect(agreed.model).toBe('agreed');
    expect(agreed.services.every((s: { model: string; agreedModel: string }) => s.model === 'population' && s.agreedModel === 'population')).toBe(true);
    const equal = (await get('/v1/reports/cost-split?year=2026&model=equal')).json();
    expect(equal.model).toBe('equal');
    for (const s of equal.services as { model: string; budgetCents: number; populationSource: unknown; shares: { cents: number }[] }[]) {
      expect(s.model).toBe('equal');
      expect(s.populationSource).toBeNull();
      expect(s.shares.reduce((a, x) => a + x.cents, 0)).toBe(s.budgetCents);
      const cents = s.shares.map((x) => x.cents);
      expect(Math.max(...cents) - Math.min(...cents)).toBeLessThanOrEqual(1);
    }
  });

  it('lists the services without fixed shares apart, and refuses fixed for one of them naming the model', async () => {
    const fixed = (await get('/v1/reports/cost-split?year=2026&model=fixed')).json();
    expect(fixed.services).toEqual([]);
    expect(fixed.withoutModel).toContain('uvo');
    const one = await get('/v1/reports/cost-split?year=2026&model=fixed&service=uvo');
    expect(one.statusCode).toBe(422);
    expect(one.headers['content-type']).toContain('application/problem+json');
    expect(one.json().errors[0].path).toBe('query.model');
    expect(one.json().detail).toMatch(/uvo has no fixed shares agreed/);
  });

  it('refuses an unknown model naming the field, and a missing year with an example', async () => {
    const bad = await get('/v1/reports/cost-split?year=2026&model=gdp');
    expect(bad.statusCode).toBe(400);
    expect(JSON.stringify(bad.json().errors)).toMatch(/model/);
    const noYear = await get('/v1/reports/cost-split?model=equal');
    expect(noYear.statusCode).toBe(400);
    expect(noYear.json().detail).toBe('year is required, e.g. ?year=2026');
    expect(noYear.json().errors).toEqual([{ path: 'query.year', message: 'year is required, e.g. ?year=2026' }]);
  });

  it('downloads another model as CSV with the model in its column and in the filename', async () => {
    const res = await get('/v1/reports/cost-split?year=2026&model=equal&format=csv&service=elfe', 'ops-bremen');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-disposition']).toBe('attachment; filename="lotse-kostenaufteilung-2026-elfe-equal.csv"');
    const [header, ...rows] = res.body.trimEnd().split('\r\n').map((l) => l.split(','));
    const col = header!.indexOf('model');
    expect(rows.length).toBe(16);
    expect(rows.every((r) => r[col] === 'equal')).toBe(true);
  });
});
