/**
 * The topology: the built-in default against docs/guides/domain.md, every broken
 * field named by its path (all of them at once), files in YAML and JSON, and
 * the `lotse config` commands as a real process.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { defaultTopologyDocument, loadTopology, parseTopology, TopologyError } from '../../src/config/topology-file.js';
import { LAND_CODES } from '../../src/domain/ids.js';
import { compileTopology, rolesFor, TopologySchema, type OrgKind, type Role, type TopologyInput } from '../../src/domain/topology.js';

const ROOT = new URL('../../', import.meta.url).pathname;

/** docs/guides/domain.md: ARS prefix and Zensus 2022 population (15 May 2022) of each Land. */
const LANDS: [code: string, ars: string, population: number][] = [
  ['SH', '01', 2_927_542], ['HH', '02', 1_808_846], ['NI', '03', 7_943_265], ['HB', '04', 693_204],
  ['NW', '05', 17_890_489], ['HE', '06', 6_207_278], ['RP', '07', 4_094_169], ['BW', '08', 11_104_040],
  ['BY', '09', 13_038_724], ['SL', '10', 1_006_864], ['BE', '11', 3_596_999], ['BB', '12', 2_534_075],
  ['MV', '13', 1_570_817], ['SN', '14', 4_038_131], ['ST', '15', 2_146_443], ['TH', '16', 2_110_396],
];

/** The services of docs/guides/domain.md, their theme fields and who holds each level. */
const SERVICES: [id: string, theme: string, l1: string, l2: string, l3: string][] = [
  ['elfe', 'familie-kind', 'land-desk', 'dataport', 'land-it'],
  ['uvo', 'familie-kind', 'land-desk', 'dataport', 'land-it'],
  ['vms', 'familie-kind', 'land-desk', 'ops-bremen', 'land-it'],
  ['ehe', 'familie-kind', 'land-desk', 'it-HE', 'land-it'],
  ['lieferantencockpit', 'unternehmensfuehrung', 'vendor-lc', 'ops-bremen', 'dataport'],
  ['pq-portal', 'unternehmensfuehrung', 'vendor-pq', 'ops-bremen', 'dataport'],
  ['datenservice-einkauf', 'unternehmensfuehrung', 'bescha', 'ops-bremen', 'dataport'],
];

const config = TopologySchema.parse(DEFAULT_TOPOLOGY);
const topology = compileTopology(config);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a topology to break field by field
type Loose = any;
/** A deep copy of the default to break. */
const broken = (change: (t: Loose) => void): unknown => {
  const t = structuredClone(DEFAULT_TOPOLOGY);
  change(t);
  return t;
};
const pathsOf = (raw: unknown): string[] => {
  const r = TopologySchema.safeParse(raw);
  return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
};

describe('the built-in topology', () => {
  it('has the 16 Länder with their ARS prefix, holiday region and Zensus 2022 population', () => {
    expect(config.lands.map((l) => [l.code, l.ars, l.population])).toEqual(LANDS);
    expect(config.lands.map((l) => l.code).sort()).toEqual([...LAND_CODES].sort());
    expect(config.lands.every((l) => l.holidays === `DE-${l.code}`)).toBe(true);
    expect(config.lands.reduce((sum, l) => sum + l.population, 0)).toBe(82_711_282);
    expect(config.populationSource).toMatchObject({ name: 'Zensus 2022', date: '2022-05-15' });
  });

  it.each(LANDS.map(([code]) => code))('%s has its desk, Fachstelle and IT provider on its own holidays', (code) => {
    const kinds = { [`desk-${code}`]: 'service-desk', [`fach-${code}`]: 'subject-matter', [`it-${code}`]: 'it-provider' };
    for (const [id, kind] of Object.entries(kinds)) {
      const org = topology.orgs.get(id);
      expect(org, id).toMatchObject({ kind, land: code, calendar: { timezone: 'Europe/Berlin', holidays: `DE-${code}` } });
    }
    // The 115 service promise: Mon–Fri 08:00–18:00.
    expect(topology.orgs.get(`desk-${code}`)!.calendar).toMatchObject({
      hours: { mon: ['08:00-18:00'], tue: ['08:00-18:00'], wed: ['08:00-18:00'], thu: ['08:00-18:00'], fri: ['08:00-18:00'] },
    });
  });

  it('has the cross-Land organisations', () => {
    const kindOf = (id: string) => topology.orgs.get(id)?.kind;
    expect(['ops-bremen', 'dataport', 'vendor-lc', 'vendor-pq', 'bescha', 'steuerungskreis'].map(kindOf))
      .toEqual(['operations', 'it-provider', 'vendor-support', 'vendor-support', 'subject-matter', 'steering']);
    expect(topology.orgs.size).toBe(16 * 3 + 6);
    expect(topology.operations).toBe('ops-bremen');
  });

  it.each(SERVICES)('service %s (%s): levels %s / %s / %s', (id, theme, l1, l2, l3) => {
    expect(topology.services.get(id)).toMatchObject({ themeField: theme, levels: { 1: l1, 2: l2, 3: l3 } });
  });

  it('shares reporter data only where a service says so, and names backlog owners', () => {
    expect(config.services.map((s) => [s.id, s.shareReporterWith, s.backlogOwner])).toEqual(
      SERVICES.map(([id]) => [id, id === 'uvo' ? ['dataport'] : [], 'ops-bremen']),
    );
  });

  it('has the SLA defaults of DOMAIN.md and the ITIL matrix', () => {
    expect(config.sla).toMatchObject({
      P1: { firstResponse: 'PT30M', resolution: 'PT4H', onBreach: 'escalate' },
      P2: { firstResponse: 'PT2H', resolution: 'P1D' },
      P3: { firstResponse: 'P1D', resolution: 'P5D', onBreach: 'notify' },
      P4: { firstResponse: 'P2D', onBreach: 'notify' },
    });
    expect(config.priorityMatrix.high.high).toBe('P1');
    expect(config).toMatchObject({ principals: [], retention: { closedTicketDays: 180 }, tickets: { reopenWindowDays: 14 } });
  });

  it('is frozen once compiled, with lookups by ARS', () => {
    expect(Object.isFrozen(topology.config.lands[0])).toBe(true);
    expect(topology.landByArs.get('09')?.code).toBe('BY');
    expect(() => topology.calendarOf('nobody')).toThrow(/unknown organisation nobody/);
  });
});

describe('a broken topology names each wrong field by its path', () => {
  it.each([
    ['an unknown organisation at a service level', (t) => { t.services[1].levels['2'] = 'dataprot'; }, ['services.1.levels.2']],
    ['an unknown backlog owner and share target', (t) => { t.services[0].backlogOwner = 'x'; t.services[0].shareReporterWith = ['y']; },
      ['services.0.backlogOwner', 'services.0.shareReporterWith.0']],
    ['a backlog owner that cannot hold an operator key', (t) => { t.services[6].backlogOwner = 'bescha'; }, ['services.6.backlogOwner']],
    ['duplicate ids', (t) => { t.organisations.push({ ...t.organisations[3] }); t.services.push({ ...t.services[0] }); t.lands.push({ ...t.lands[0] }); },
      ['lands.16.code', 'lands.16.ars', 'organisations.54.id', 'services.7.id']],
    ['a bad ARS prefix', (t) => { t.lands[3].ars = '4'; }, ['lands.3.ars']],
    ["a duration 'PT'", (t) => { t.sla.P2.firstResponse = 'PT'; }, ['sla.P2.firstResponse']],
    ['a duration in months', (t) => { t.sla.P4.resolution = 'P1M'; }, ['sla.P4.resolution']],
    ['a bad time zone', (t) => { t.organisations[0].calendar.timezone = 'Europe/Bremen'; }, ['organisations.0.calendar.timezone']],
    ['unknown keys', (t) => { t.organisations[2].colour = 'blue'; t.sla.P1.typo = 1; t.extra = true; }, ['organisations.2', 'sla.P1', '']],
    ['a role its organisation kind may not have', (t) => { t.principals = [{ key: 'env:DATAPORT_KEY', orgId: 'dataport', role: 'operator' }]; },
      ['principals.0.role']],
    ['a principal of an unknown organisation', (t) => { t.principals = [{ key: 'env:K', orgId: 'nobody', role: 'desk' }]; }, ['principals.0.orgId']],
    ['no operations organisation', (t) => { t.organisations = t.organisations.filter((o: { id: string }) => o.id !== 'ops-bremen'); delete t.tickets; },
      ['tickets.operations']],
    ['tickets.operations naming a desk', (t) => { t.tickets.operations = 'desk-HB'; }, ['tickets.operations']],
    ['a Land without its desk, needed by land-desk', (t) => { t.organisations = t.organisations.filter((o: { id: string }) => o.id !== 'desk-SL'); },
      ['services.0.levels.1']],
    ['an organisation in an unknown Land', (t) => { t.lands = t.lands.filter((l: { code: string }) => l.code !== 'SL'); },
      ['organisations.27.land']],
  ] as [string, (t: Loose) => void, string[]][])('%s', (_what, change, paths) => {
    const issues = pathsOf(broken(change));
    for (const path of paths) expect(issues, path).toContain(path);
  });

  it('reports every problem of a file at once, whatever kind they are', () => {
    const raw = broken((t) => {
      t.lands[1].ars = '2';
      t.organisations[0].kind = 'desk'; // an unknown kind: zod stops short of the cross checks unless told not to
      t.organisations[5].calendar.timezone = 'Mars/Olympus';
      t.organisations[6].colour = 'red';
      t.services[1].levels['2'] = 'dataprot';
      t.sla.P3.resolution = 'PT';
      t.principals = [{ key: 'env:K', orgId: 'dataport', role: 'desk' }];
    });
    expect(pathsOf(raw)).toEqual(expect.arrayContaining([
      'lands.1.ars', 'organisations.0.kind', 'organisations.5.calendar.timezone', 'organisations.6', 'services.1.levels.2', 'sla.P3.resolution', 'principals.0.role',
    ]));
  });

  it('still answers with issues, not a crash, when whole sections are the wrong shape', () => {
    for (const raw of [broken((t) => { t.services = 'none'; }), broken((t) => { t.organisations[0] = 7; t.principals = [null]; }), [], null, 'lands: []']) {
      expect(TopologySchema.safeParse(raw).success).toBe(false);
    }
  });

  it.each([
    ['service-desk', ['desk']], ['subject-matter', ['desk']], ['vendor-support', ['desk', 'provider']],
    ['it-provider', ['provider']], ['operations', ['operator']], ['steering', ['steering']],
  ] as [OrgKind, Role[]][])('an organisation of kind %s may hold the roles %j', (kind, roles) => {
    expect(rolesFor(kind)).toEqual(roles);
  });
});

describe('topology files', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'lotse-topology-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => { const file = join(dir, name); writeFileSync(file, text); return file; };
  const small: TopologyInput = broken((t) => { t.principals = [{ key: 'env:LOTSE_OPERATOR_KEY', orgId: 'ops-bremen', role: 'operator' }]; }) as TopologyInput;
  const bad = broken((t) => { t.services[1].levels['2'] = 'dataprot'; t.lands[3].ars = 'x4'; t.sla.P1.firstResponse = 'PT'; });
  const BAD_PATHS = ['services.1.levels.2', 'lands.3.ars', 'sla.P1.firstResponse'];

  it.each([
    ['YAML', 'topology.yaml', () => toYaml(small)],
    ['JSON', 'topology.json', () => JSON.stringify(small, null, 2)],
  ])('loads a %s file', (_kind, name, text) => {
    const t = loadTopology(write(name, text()));
    expect(t.lands.size).toBe(16);
    expect(t.config.principals).toEqual([{ key: 'env:LOTSE_OPERATOR_KEY', orgId: 'ops-bremen', role: 'operator' }]);
    expect(t.services.get('uvo')?.levels['2']).toBe('dataport');
  });

  it('loads the built-in default without a file', () => {
    expect(loadTopology(undefined).config).toEqual(config);
  });

  it('names the file and every wrong path', () => {
    const file = write('bad.yaml', toYaml(bad));
    const err = (() => { try { loadTopology(file); } catch (e) { return e; } })() as TopologyError;
    expect(err).toBeInstanceOf(TopologyError);
    expect(err.file).toBe(file);
    expect(err.problems.map((p) => p.split(':')[0])).toEqual(expect.arrayContaining(BAD_PATHS));
    expect(err.message).toContain(`${file}: ${err.problems.length} problems`);
  });

  it('parseTopology lists unknown keys by name', () => {
    expect(() => parseTopology(broken((t) => { t.lands[0].flag = 'x'; }), 'mine')).toThrow(/lands\.0: .*flag/);
  });

  it.each([
    ['a missing file', () => join(dir, 'missing.yaml'), /cannot read the file/],
    ['text that is not YAML', () => write('broken.yaml', 'lands: [\n  {code: HB'), /not valid YAML or JSON/],
    ['an empty file', () => write('empty.yaml', ''), /\(root\)/],
  ])('%s is a TopologyError', (_what, file, message) => {
    expect(() => loadTopology(file())).toThrow(TopologyError);
    expect(() => loadTopology(file())).toThrow(message);
  });

  describe('the lotse config command', () => {
    const lotse = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'silent' } });

    it('config default prints JSON that parses back to the default', () => {
      const run = lotse('config', 'default');
      expect(run.status, run.stderr).toBe(0);
      const printed: unknown = JSON.parse(run.stdout);
      expect(TopologySchema.parse(printed)).toEqual(config);
      expect(printed).toEqual(JSON.parse(JSON.stringify(defaultTopologyDocument())));
    });

    it('config check FILE exits 2 and prints every wrong path', () => {
      const run = lotse('config', 'check', write('bad-cli.json', JSON.stringify(bad)));
      expect(run.status).toBe(2);
      for (const path of BAD_PATHS) expect(run.stderr).toContain(`${path}:`);
      expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    });

    it('config check FILE exits 0 on a good file', () => {
      const run = lotse('config', 'check', write('good-cli.yaml', toYaml(small)));
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/valid \(16 Länder, 54 organisations, 7 services\)/);
    });

    it('config check without a file is a usage error', () => {
      expect(lotse('config', 'check').status).toBe(2);
    });
  });
});
