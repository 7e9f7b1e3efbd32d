/**
 * The topology's service settings for the backlog and the cost report:
 * budgets per year in euros (whole cents), participating Länder (default
 * every Land), the cost model, and backlog settings with a global default and
 * a per-service override merged into one object per service. Every wrong
 * field is named by its path.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { defaultTopologyDocument } from '../../src/config/topology-file.js';
import { LAND_CODES } from '../../src/domain/ids.js';
import { budgetCentsOf, DEFAULT_BACKLOG_SETTINGS, eurosToCents, EurosSchema } from '../../src/domain/service-settings.js';
import { compileTopology, TopologySchema } from '../../src/domain/topology.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a topology to change field by field
type Loose = any;
const changed = (change: (t: Loose) => void): unknown => {
  const t = structuredClone(DEFAULT_TOPOLOGY);
  change(t);
  return t;
};
const compile = (raw: unknown) => compileTopology(TopologySchema.parse(raw));
const problemsOf = (raw: unknown): string[] => {
  const r = TopologySchema.safeParse(raw);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};
const pathsOf = (raw: unknown) => problemsOf(raw).map((p) => p.split(': ')[0]);

const builtin = compile(DEFAULT_TOPOLOGY);

describe('the built-in topology', () => {
  it('gives every service an example budget for 2026 and 2027, in whole cents', () => {
    for (const service of builtin.services.values()) {
      for (const year of [2026, 2027]) {
        const cents = budgetCentsOf(service, year);
        expect(cents, `${service.id} ${year}`).toBeGreaterThan(0);
        expect(Number.isSafeInteger(cents), service.id).toBe(true);
      }
      expect(budgetCentsOf(service, 2031)).toBeUndefined();
    }
    expect(budgetCentsOf(builtin.services.get('elfe')!, '2026')).toBe(125_000_000);
  });

  it('lets every Land take part in every service, split by population', () => {
    for (const service of builtin.services.values()) {
      expect(service.participants, service.id).toEqual([...LAND_CODES]);
      expect(service.costModel).toEqual({ kind: 'population' });
    }
  });

  it('has the backlog defaults of the issue and synonyms users write, the same for every service', () => {
    expect(builtin.config.backlog).toMatchObject({
      recurring: { minTickets: 5, minLands: 2, windowDays: 7 }, similarityThreshold: 0.45, maxSuggestionsPerTicket: 3, maxLinksPerItem: 500,
    });
    expect(builtin.config.backlog.synonyms).toEqual(expect.arrayContaining([expect.arrayContaining(['hochladen', 'upload']), expect.arrayContaining(['anmeldung', 'login'])]));
    for (const service of builtin.services.values()) expect(service.backlog).toEqual(builtin.config.backlog);
  });

  it('is printed as the file has it: the global backlog once, no service carrying resolved copies', () => {
    const printed = defaultTopologyDocument() as { services: Record<string, unknown>[]; backlog: unknown };
    for (const s of printed.services) {
      expect(s).not.toHaveProperty('participants');
      expect(s).not.toHaveProperty('backlog');
    }
    expect(printed.backlog).toEqual(builtin.config.backlog);
    expect(TopologySchema.parse(JSON.parse(JSON.stringify(printed)))).toEqual(builtin.config);
  });

  it('fills in every backlog default when a topology says nothing of the backlog', () => {
    const bare = compile(changed((t) => { delete t.backlog; }));
    expect(bare.config.backlog).toEqual(DEFAULT_BACKLOG_SETTINGS);
    expect(bare.services.get('uvo')!.backlog).toEqual(DEFAULT_BACKLOG_SETTINGS);
    expect(compile(changed((t) => { t.backlog = { recurring: { windowDays: 3 } }; })).config.backlog.recurring)
      .toEqual({ minTickets: 5, minLands: 2, windowDays: 3 });
  });

  it('freezes the resolved services', () => {
    const uvo = builtin.services.get('uvo')!;
    expect(Object.isFrozen(uvo.participants)).toBe(true);
    expect(Object.isFrozen(uvo.backlog.recurring)).toBe(true);
  });
});

describe('a service of its own', () => {
  const mine = compile(changed((t) => {
    t.services[1].participants = ['HB', 'NI', 'SH'];
    t.services[1].costModel = { kind: 'fixed', shares: { HB: 0.5, NI: 0.3, SH: 0.2 } };
    t.services[1].backlog = { recurring: { minTickets: 3 }, synonyms: [['unterhalt', 'uvg']], maxLinksPerItem: 50 };
    t.services[2].costModel = { kind: 'equal' };
  }));

  it('takes its own participants and cost model', () => {
    const uvo = mine.services.get('uvo')!;
    expect(uvo.participants).toEqual(['HB', 'NI', 'SH']);
    expect(uvo.costModel).toEqual({ kind: 'fixed', shares: { HB: 0.5, NI: 0.3, SH: 0.2 } });
    expect(mine.services.get('vms')!.costModel).toEqual({ kind: 'equal' });
  });

  it('lays its backlog settings over the global ones: recurring field by field, a synonym list whole', () => {
    expect(mine.services.get('uvo')!.backlog).toEqual({
      recurring: { minTickets: 3, minLands: 2, windowDays: 7 },
      similarityThreshold: 0.45,
      synonyms: [['unterhalt', 'uvg']],
      maxSuggestionsPerTicket: 3,
      maxLinksPerItem: 50,
    });
    expect(mine.services.get('elfe')!.backlog).toEqual(mine.config.backlog);
  });

  it('accepts fixed shares whose binary sum is off by a rounding error', () => {
    const tenths = Object.fromEntries(LAND_CODES.slice(0, 10).map((c) => [c, 0.1]));
    expect(problemsOf(changed((t) => { t.services[0].participants = LAND_CODES.slice(0, 10); t.services[0].costModel = { kind: 'fixed', shares: tenths }; }))).toEqual([]);
  });

  it('reads two-decimal euros as exact cents', () => {
    expect([0.29, 0.57, 1.01, 1_250_000.1, 999_999_999.99].map(eurosToCents)).toEqual([29, 57, 101, 125_000_010, 99_999_999_999]);
    expect([0.001, 12.345, -1, Number.NaN].map((e) => EurosSchema.safeParse(e).success)).toEqual([false, false, false, false]);
  });
});

describe('wrong service settings are named by their path', () => {
  it.each([
    ['a budget with a third decimal', (t) => { t.services[0].budget = { '2026': 1000.005 }; }, 'services.0.budget.2026', /two decimals/],
    ['a negative budget', (t) => { t.services[0].budget = { '2026': -5 }; }, 'services.0.budget.2026', />=0/],
    ['a budget as text', (t) => { t.services[0].budget = { '2026': '1.000,00' }; }, 'services.0.budget.2026', /number/],
    ['a year that is not four digits', (t) => { t.services[0].budget = { '26': 5 }; }, 'services.0.budget.26', /key/],
    ['an unknown Land among the participants', (t) => { t.services[2].participants = ['HB', 'XX']; }, 'services.2.participants.1', /expected one of/],
    ['a participant named twice', (t) => { t.services[2].participants = ['HB', 'BY', 'HB']; }, 'services.2.participants.2', /twice/],
    ['no participants', (t) => { t.services[2].participants = []; }, 'services.2.participants', /1/],
    ['an unknown cost model', (t) => { t.services[3].costModel = { kind: 'gdp' }; }, 'services.3.costModel.kind', /population/],
    ['fixed shares that add up to 0.9', (t) => { t.services[3].participants = ['HB', 'NW']; t.services[3].costModel = { kind: 'fixed', shares: { HB: 0.5, NW: 0.4 } }; },
      'services.3.costModel.shares', /add up to 1; they add up to 0.9/],
    ['fixed shares missing a participant', (t) => { t.services[3].participants = ['HB', 'NW', 'BY']; t.services[3].costModel = { kind: 'fixed', shares: { HB: 0.5, NW: 0.5 } }; },
      'services.3.costModel.shares', /missing BY/],
    ['fixed shares of a Land that does not take part', (t) => { t.services[3].participants = ['HB']; t.services[3].costModel = { kind: 'fixed', shares: { HB: 0.5, NW: 0.5 } }; },
      'services.3.costModel.shares.NW', /not a participant/],
    ['fixed shares for all 16 by default, missing most', (t) => { t.services[3].costModel = { kind: 'fixed', shares: { HB: 1 } }; }, 'services.3.costModel.shares', /missing SH, HH/],
    ['a share above 1', (t) => { t.services[3].participants = ['HB']; t.services[3].costModel = { kind: 'fixed', shares: { HB: 1.5 } }; }, 'services.3.costModel.shares.HB', /<=1/],
    ['a threshold of 0', (t) => { t.backlog.similarityThreshold = 0; }, 'backlog.similarityThreshold', />0/],
    ['an unknown backlog key', (t) => { t.backlog.colour = 'red'; }, 'backlog', /colour/],
    ['a synonym group of one word', (t) => { t.backlog.synonyms = [['hochladen']]; }, 'backlog.synonyms.0', /2/],
    ['an empty synonym', (t) => { t.backlog.synonyms = [['hochladen', '  ']]; }, 'backlog.synonyms.0.1', /1/],
    ['a service asking for one ticket as a recurring problem', (t) => { t.services[1].backlog = { recurring: { minTickets: 1 } }; }, 'services.1.backlog.recurring.minTickets', />=2/],
    ['a service with no room for links', (t) => { t.services[1].backlog = { maxLinksPerItem: 0 }; }, 'services.1.backlog.maxLinksPerItem', />=1/],
    ['a service with too many suggestions per ticket', (t) => { t.services[1].backlog = { maxSuggestionsPerTicket: 1000 }; }, 'services.1.backlog.maxSuggestionsPerTicket', /<=100/],
    ['an unknown key in a service backlog', (t) => { t.services[1].backlog = { threshold: 0.3 }; }, 'services.1.backlog', /threshold/],
  ] as [string, (t: Loose) => void, string, RegExp][])('%s', (_what, change, path, message) => {
    const problems = problemsOf(changed(change));
    const found = problems.filter((p) => p.startsWith(`${path}: `));
    expect(found, problems.join('\n')).not.toEqual([]);
    expect(found.join('\n')).toMatch(message);
  });

  it('names a participant that is not a Land of this topology', () => {
    const raw = changed((t) => {
      t.lands = t.lands.filter((l: { code: string }) => l.code !== 'SL');
      t.organisations = t.organisations.filter((o: { land?: string }) => o.land !== 'SL');
      t.services[0].participants = ['HB', 'SL'];
    });
    expect(problemsOf(raw)).toContain('services.0.participants.1: SL is not a Land of this topology');
    // Without SL in the topology, a service that names no participants has the 15 others.
    const rest = compile(changed((t) => {
      t.lands = t.lands.filter((l: { code: string }) => l.code !== 'SL');
      t.organisations = t.organisations.filter((o: { land?: string }) => o.land !== 'SL');
    }));
    expect(rest.services.get('elfe')!.participants).toHaveLength(15);
    expect(rest.services.get('elfe')!.participants).not.toContain('SL');
  });

  it('reports every wrong service setting of a file at once, beside other problems', () => {
    const paths = pathsOf(changed((t) => {
      t.lands[1].ars = '2';
      t.services[0].budget = { '2026': 0.001 };
      t.services[1].costModel = { kind: 'fixed', shares: { HB: 0.3 } };
      t.services[2].backlog = { similarityThreshold: 2 };
      t.backlog.maxLinksPerItem = -1;
    }));
    expect(paths).toEqual(expect.arrayContaining([
      'lands.1.ars', 'services.0.budget.2026', 'services.1.costModel.shares', 'services.2.backlog.similarityThreshold', 'backlog.maxLinksPerItem',
    ]));
  });
});
