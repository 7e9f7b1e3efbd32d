// The cost report: each Land's share of a service's yearly budget, in euros, with the tickets and backlog items beside it.
import { $, getJson, h, landName, replace, serviceName, startPage, t } from './console.js';
import { fmtNumber } from './format.js';

const params = new URLSearchParams(location.search);
const year = Number(params.get('year')) || new Date().getFullYear();
const service = params.get('service') ?? '';
const MODELS = ['agreed', 'population', 'equal', 'fixed'];
const model = MODELS.includes(params.get('model')) ? params.get('model') : 'agreed';
const eur = new Intl.NumberFormat('de-DE', { style: 'currency', currency: 'EUR' });
const pct = new Intl.NumberFormat('de-DE', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** `2022-05-15` → `15.05.2022`. */
const germanDate = (iso) => (/^\d{4}-\d\d-\d\d$/.test(iso) ? iso.split('-').reverse().join('.') : iso);
const euros = (cents) => eur.format(cents / 100);

function serviceTable(s) {
  const r = t.report;
  const sum = (k) => s.shares.reduce((a, x) => a + x[k], 0);
  const weight = (x) => (s.model === 'population' ? fmtNumber(x.weight) : pct.format(x.weight));
  const agreed = s.agreedModel && s.agreedModel !== s.model ? ` (${r.agreed}: ${r.models[s.agreedModel] ?? s.agreedModel})` : '';
  return h('section', { class: 'panel report-service', dataset: { service: s.service, model: s.model } },
    h('h2', {}, `${s.name} · ${r.budget} ${euros(s.budgetCents)} · ${r.model}: ${r.models[s.model] ?? s.model}${agreed}`),
    h('div', { class: 'body' },
      s.populationSource ? h('p', { class: 'muted' }, `${r.source}: ${s.populationSource.name}, ${germanDate(s.populationSource.date)}`) : null,
      h('table', { class: 'data rows' },
        h('thead', {}, h('tr', {}, [[t.columns.land], [r.weightBy?.[s.model] ?? r.weight, 1], [r.percent, 1], [r.share, 1], [r.tickets, 1], [r.backlogItems, 1]].map(([c, n]) => h('th', { class: n ? 'num' : undefined }, c)))),
        // By the Land's name as shown (the API gives them in code order: BB, BE, BW … reads unsorted by name).
        h('tbody', {}, [...s.shares].sort((a, b) => landName(a.land).localeCompare(landName(b.land), 'de')).map((x) => h('tr', {},
          h('td', {}, landName(x.land)), h('td', { class: 'num' }, weight(x)), h('td', { class: 'num' }, `${pct.format(x.percent)} %`),
          h('td', { class: 'num' }, euros(x.cents)), h('td', { class: 'num' }, fmtNumber(x.tickets)), h('td', { class: 'num' }, fmtNumber(x.backlogItems)),
        ))),
        h('tfoot', {}, h('tr', {}, h('td', {}, r.sum), h('td', {}), h('td', { class: 'num' }, `${pct.format(sum('percent'))} %`), h('td', { class: 'num sum' }, euros(sum('cents'))), h('td', { class: 'num' }, fmtNumber(sum('tickets'))), h('td', { class: 'num' }, fmtNumber(sum('backlogItems'))))),
      ),
    ),
  );
}

function toolbar() {
  const r = t.report;
  const years = [];
  for (let y = new Date().getFullYear() + 1; y >= new Date().getFullYear() - 4; y--) years.push(y);
  if (!years.includes(year)) years.push(year);
  const csv = new URLSearchParams({ year: String(year), format: 'csv' });
  if (service) csv.set('service', service);
  if (model !== 'agreed') csv.set('model', model);
  return h('form', { class: 'toolbar', method: 'get', action: '/dashboard/reports/cost-split' },
    h('label', {}, r.year, h('select', { name: 'year', id: 'year' }, years.map((y) => h('option', { value: String(y), selected: y === year }, String(y))))),
    h('label', {}, r.service, h('select', { name: 'service', id: 'service' },
      h('option', { value: '' }, r.allServices),
      Object.entries(session().names.services).map(([id, name]) => h('option', { value: id, selected: id === service }, name)))),
    h('label', {}, r.model, h('select', { name: 'model', id: 'model' },
      MODELS.map((m) => h('option', { value: m, selected: m === model }, r.chooseModel[m])))),
    h('button', { type: 'submit', class: 'action' }, r.show),
    h('a', { href: `/v1/reports/cost-split?${csv}`, id: 'csv', download: '' }, r.csv),
    h('span', { class: 'muted' }, model === 'agreed' ? r.modelNote : r.compareNote),
  );
}

let current = null;
const session = () => current;

async function start() {
  current = await startPage('report', t.report.title);
  const query = new URLSearchParams({ year: String(year) });
  if (service) query.set('service', service);
  if (model !== 'agreed') query.set('model', model);
  const res = await getJson(`/v1/reports/cost-split?${query}`);
  const services = res.ok ? res.body?.services ?? [] : [];
  // A refusal (fixed shares asked for a service without them) says why, in Lotse's words, as text.
  const noFixed = res.body?.errors?.[0]?.path === 'query.model';
  const refused = res.ok ? null : h('p', { class: 'message error', id: 'report-problem', role: 'alert' },
    noFixed ? `${t.report.refused}: ${t.report.noFixedShares} ${serviceName(service)}.` : `${t.report.refused}: ${res.body?.detail ?? res.status}`);
  const without = (res.body?.withoutBudget ?? []).map(serviceName);
  const withoutModel = (res.body?.withoutModel ?? []).map(serviceName);
  replace($('content'),
    h('div', { class: 'page-head' }, h('h1', {}, `${t.report.title} ${year}`)),
    toolbar(),
    refused ?? (services.length === 0 ? h('p', { class: 'empty' }, t.report.empty) : services.map(serviceTable)),
    without.length > 0 ? h('p', { class: 'muted' }, `${t.report.withoutBudget}: ${without.join(', ')}`) : null,
    withoutModel.length > 0 ? h('p', { class: 'muted', id: 'without-model' }, `${t.report.withoutModel}: ${withoutModel.join(', ')}`) : null,
  );
  $('content').setAttribute('aria-busy', 'false');
}

start();
