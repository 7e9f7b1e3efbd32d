import type { TopologyInput } from '../domain/topology.js';
import type { LandCode } from '../domain/ids.js';

/**
 * The built-in topology: the operations model of the Betriebskoordination
 * Bremen (see docs/guides/domain.md). Every number here is configuration: print it
 * with `lotse config default`, edit, and point LOTSE_CONFIG at the file.
 */

// Zensus 2022 (reference date 15 May 2022), Statistische Ämter des Bundes und der Länder.
const POPULATION_SOURCE = { name: 'Zensus 2022', date: '2022-05-15', url: 'https://www.zensus2022.de/' };

const LANDS: { code: LandCode; name: string; ars: string; population: number }[] = [
  { code: 'SH', name: 'Schleswig-Holstein', ars: '01', population: 2_927_542 },
  { code: 'HH', name: 'Hamburg', ars: '02', population: 1_808_846 },
  { code: 'NI', name: 'Niedersachsen', ars: '03', population: 7_943_265 },
  { code: 'HB', name: 'Bremen', ars: '04', population: 693_204 },
  { code: 'NW', name: 'Nordrhein-Westfalen', ars: '05', population: 17_890_489 },
  { code: 'HE', name: 'Hessen', ars: '06', population: 6_207_278 },
  { code: 'RP', name: 'Rheinland-Pfalz', ars: '07', population: 4_094_169 },
  { code: 'BW', name: 'Baden-Württemberg', ars: '08', population: 11_104_040 },
  { code: 'BY', name: 'Bayern', ars: '09', population: 13_038_724 },
  { code: 'SL', name: 'Saarland', ars: '10', population: 1_006_864 },
  { code: 'BE', name: 'Berlin', ars: '11', population: 3_596_999 },
  { code: 'BB', name: 'Brandenburg', ars: '12', population: 2_534_075 },
  { code: 'MV', name: 'Mecklenburg-Vorpommern', ars: '13', population: 1_570_817 },
  { code: 'SN', name: 'Sachsen', ars: '14', population: 4_038_131 },
  { code: 'ST', name: 'Sachsen-Anhalt', ars: '15', population: 2_146_443 },
  { code: 'TH', name: 'Thüringen', ars: '16', population: 2_110_396 },
];

type Hours = Record<'mon' | 'tue' | 'wed' | 'thu' | 'fri', string[]>;
const weekdays = (interval: string): Hours => ({
  mon: [interval], tue: [interval], wed: [interval], thu: [interval], fri: [interval],
});
const office = (interval: string, holidays: string) => ({ timezone: 'Europe/Berlin', hours: weekdays(interval), holidays });

function landOrganisations(land: (typeof LANDS)[number]) {
  const holidays = `DE-${land.code}`;
  return [
    // The 115 service promise: Mon–Fri 08:00–18:00.
    { id: `desk-${land.code}`, name: `115 / Servicedesk ${land.name}`, kind: 'service-desk' as const, land: land.code, calendar: office('08:00-18:00', holidays) },
    { id: `fach-${land.code}`, name: `Fachstellen ${land.name}`, kind: 'subject-matter' as const, land: land.code, calendar: office('08:00-16:00', holidays) },
    { id: `it-${land.code}`, name: `IT-Dienstleister ${land.name}`, kind: 'it-provider' as const, land: land.code, calendar: office('07:00-17:00', holidays) },
  ];
}

/**
 * EXAMPLE FIGURES, not real budgets: yearly operating costs in euros that make
 * the cost report show something. Replace them with the alliance's figures.
 */
const EXAMPLE_BUDGETS: Record<string, Record<string, number>> = {
  elfe: { '2026': 1_250_000.0, '2027': 1_310_000.0 },
  uvo: { '2026': 980_000.0, '2027': 1_020_000.0 },
  vms: { '2026': 420_000.0, '2027': 435_000.0 },
  ehe: { '2026': 515_000.0, '2027': 530_000.0 },
  lieferantencockpit: { '2026': 310_000.0, '2027': 318_500.0 },
  'pq-portal': { '2026': 265_000.0, '2027': 272_000.0 },
  'datenservice-einkauf': { '2026': 640_000.0, '2027': 655_000.0 },
};

/**
 * Words users write for the same thing in support requests about online
 * services, matched as one by the backlog's text matching (written as users
 * write them; the normaliser folds case, umlauts and ß).
 */
const SYNONYMS = [
  ['hochladen', 'upload', 'uploaden', 'raufladen'],
  ['anmeldung', 'login', 'einloggen', 'anmelden'],
  ['passwort', 'kennwort'],
  ['nutzerkonto', 'servicekonto', 'bundid', 'benutzerkonto'],
  ['absenden', 'abschicken', 'übermitteln', 'einreichen'],
  ['nachweis', 'beleg'],
  ['fehlermeldung', 'error'],
];

export const DEFAULT_TOPOLOGY: TopologyInput = {
  populationSource: POPULATION_SOURCE,
  lands: LANDS.map((l) => ({ ...l, holidays: `DE-${l.code}` })),
  organisations: [
    ...LANDS.flatMap(landOrganisations),
    { id: 'ops-bremen', name: 'Betriebskoordination Bremen', kind: 'operations', land: 'HB', calendar: office('08:00-17:00', 'DE-HB') },
    { id: 'dataport', name: 'Dataport AöR', kind: 'it-provider', calendar: office('07:00-18:00', 'DE-SH'), receiptDeadline: 'PT1H' },
    { id: 'vendor-lc', name: 'Support Lieferantencockpit', kind: 'vendor-support', calendar: office('09:00-17:00', 'DE-HB') },
    { id: 'vendor-pq', name: 'Support PQ-Portal', kind: 'vendor-support', calendar: office('09:00-17:00', 'DE-HB') },
    { id: 'bescha', name: 'Beschaffungsamt des BMI (BeschA)', kind: 'subject-matter', calendar: office('08:00-16:00', 'DE-NW') },
    { id: 'steuerungskreis', name: 'Steuerungskreis der Nachnutzungsallianz', kind: 'steering', calendar: office('09:00-16:00', 'DE-HB') },
  ],
  services: [
    { id: 'elfe', name: 'ELFE – Einfach Leistungen für Eltern', themeField: 'familie-kind', levels: { '1': 'land-desk', '2': 'dataport', '3': 'land-it' }, backlogOwner: 'ops-bremen', budget: EXAMPLE_BUDGETS['elfe'] },
    { id: 'uvo', name: 'Unterhaltsvorschuss online', themeField: 'familie-kind', levels: { '1': 'land-desk', '2': 'dataport', '3': 'land-it' }, backlogOwner: 'ops-bremen', shareReporterWith: ['dataport'], budget: EXAMPLE_BUDGETS['uvo'] },
    { id: 'vms', name: 'Vaterschaftsanerkennung und Sorgeerklärung', themeField: 'familie-kind', levels: { '1': 'land-desk', '2': 'ops-bremen', '3': 'land-it' }, backlogOwner: 'ops-bremen', budget: EXAMPLE_BUDGETS['vms'] },
    { id: 'ehe', name: 'Eheschließung', themeField: 'familie-kind', levels: { '1': 'land-desk', '2': 'it-HE', '3': 'land-it' }, backlogOwner: 'ops-bremen', budget: EXAMPLE_BUDGETS['ehe'] },
    { id: 'lieferantencockpit', name: 'Lieferantencockpit', themeField: 'unternehmensfuehrung', levels: { '1': 'vendor-lc', '2': 'ops-bremen', '3': 'dataport' }, subjectMatter: 'vendor-lc', backlogOwner: 'ops-bremen', budget: EXAMPLE_BUDGETS['lieferantencockpit'] },
    { id: 'pq-portal', name: 'PQ-Portal', themeField: 'unternehmensfuehrung', levels: { '1': 'vendor-pq', '2': 'ops-bremen', '3': 'dataport' }, subjectMatter: 'vendor-pq', backlogOwner: 'ops-bremen', budget: EXAMPLE_BUDGETS['pq-portal'] },
    { id: 'datenservice-einkauf', name: 'Datenservice Öffentlicher Einkauf', themeField: 'unternehmensfuehrung', levels: { '1': 'bescha', '2': 'ops-bremen', '3': 'dataport' }, subjectMatter: 'bescha', backlogOwner: 'ops-bremen', budget: EXAMPLE_BUDGETS['datenservice-einkauf'] },
  ],
  sla: {
    P1: { firstResponse: 'PT30M', resolution: 'PT4H', warnAt: 0.8, onBreach: 'escalate' },
    P2: { firstResponse: 'PT2H', resolution: 'P1D', warnAt: 0.8, onBreach: 'escalate' },
    P3: { firstResponse: 'P1D', resolution: 'P5D', warnAt: 0.8, onBreach: 'notify' },
    P4: { firstResponse: 'P2D', resolution: 'P10D', warnAt: 0.8, onBreach: 'notify' },
  },
  principals: [],
  retention: { closedTicketDays: 180 },
  tickets: { reopenWindowDays: 14, operations: 'ops-bremen' },
  // Every service shares these unless it names its own under services[].backlog.
  backlog: {
    recurring: { minTickets: 5, minLands: 2, windowDays: 7 },
    similarityThreshold: 0.55,
    synonyms: SYNONYMS,
    maxSuggestionsPerTicket: 3,
    maxLinksPerItem: 500,
  },
};
