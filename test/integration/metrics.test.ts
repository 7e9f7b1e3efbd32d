import { get } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/env.js';
import { freePort } from '../../src/embedded-redis.js';
import { labelSetsOf, lotseQueueNames } from '../../src/metrics/index.js';
import { mergeExpositions } from '../../src/metrics/exposition.js';
import { defaultTopology, dev, harnessPerTest, ticketBody, waitFor, type Harness } from '../helpers/harness.js';
import { expectProblem } from '../helpers/http.js';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { parseTopology } from '../../src/config/topology-file.js';
import type { TopologyInput } from '../../src/domain/topology.js';
import { createDeadLetterStore } from '../../src/store/dead-letters.js';

const harness = harnessPerTest();
const desk = dev('desk-BY');
const provider = dev('dataport');

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (label values unescaped). */
function parseExposition(text: string): Sample[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((line) => {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
      if (!m) throw new Error(`not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
      return { name: m[1]!, labels, value: Number(m[3]) };
    });
}

/** A GET on a connection of its own: the test closes and reopens listeners on one port, and a pooled socket would outlive them. */
const fetchOnce = (url: string) =>
  new Promise<{ status: number; text: string }>((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    }).on('error', reject);
  });

async function scrape(h: Harness, path = '/metrics') {
  const res = await (await h.app()).inject({ method: 'GET', url: path });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return { text: res.body, samples: parseExposition(res.body) };
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length)?.value;

/** A ticket handed to dataport, received 42 s later on a clock the test moves. */
async function handOffAndReceive(h: Harness, clock: { t: number }, body: Record<string, unknown>) {
  const engine = h.runtime.engine;
  const { record } = await engine.createTicket(desk, body);
  await engine.applyEvent(desk, record.id, { type: 'ACCEPT' });
  await engine.applyEvent(desk, record.id, { type: 'ESCALATE', reason: 'Fehler 500 beim Absenden' });
  clock.t += 42_000;
  await engine.applyEvent(provider, record.id, { type: 'ACCEPT' });
  return record.id;
}

describe('GET /metrics', () => {
  it('exports every Lotse metric family, BullMQ\'s queue metrics for every Lotse queue and process metrics, each HELP and TYPE once', async () => {
    const h = await harness();
    const { text, samples } = await scrape(h);
    const families = [...text.matchAll(/^# TYPE (\S+) (\w+)$/gm)].map((m) => [m[1]!, m[2]!] as const);
    const names = families.map(([n]) => n);
    expect(new Set(names).size, 'a family announced twice makes Prometheus refuse the scrape').toBe(names.length);
    expect(Object.fromEntries(families.filter(([n]) => n.startsWith('lotse_')))).toEqual({
      lotse_handoff_receipt_seconds: 'histogram',
      // This process's workers replaced by their watchdog (workers/worker-kit.ts): announced, without samples while none was.
      lotse_worker_replacements_total: 'counter',
      lotse_tickets_created_total: 'counter',
      lotse_events_total: 'counter',
      lotse_sla_warnings_total: 'counter',
      lotse_sla_breaches_total: 'counter',
      lotse_tickets_open: 'gauge',
      lotse_tickets_by_status: 'gauge',
      lotse_webhook_dead_letters: 'gauge',
      // Mail's and the connectors' dead letters, each in its own family: announced, without samples here (no organisation has mail or a connector).
      lotse_mail_dead_letters: 'gauge',
      lotse_connector_dead_letters: 'gauge',
      lotse_outbox_dead_entries: 'gauge',
      lotse_outbox_entries: 'gauge',
      lotse_outbox_pending_entries: 'gauge',
      lotse_outbox_undelivered_entries: 'gauge',
      lotse_outbox_oldest_age_seconds: 'gauge',
      // Per organisation with a connector (docs/reference/connectors.md): announced, without samples here.
      lotse_connector_last_success_timestamp_seconds: 'gauge',
      lotse_connector_queued: 'gauge',
      lotse_connector_failing: 'gauge',
      lotse_connector_changes_total: 'counter',
      lotse_connector_unmapped_out_total: 'counter',
    });
    expect(names).toEqual(expect.arrayContaining(['bullmq_job_count', 'bullmq_job_completed_total', 'bullmq_job_failed_total', 'process_cpu_user_seconds_total', 'nodejs_eventloop_lag_seconds']));
    const queues = new Set(samples.filter((s) => s.name === 'bullmq_job_count').map((s) => s.labels.queue));
    expect([...queues].sort()).toEqual(lotseQueueNames(defaultTopology).sort());
    expect(queues).toContain('handoff-dataport');
  });

  it('puts no personal data and no ticket id in the metrics, and takes every label value from a bounded set', async () => {
    const clock = { t: Date.now() };
    const h = await harness({ roles: ['relay'], now: () => clock.t });
    const reporter = { name: 'Erika Mustermann-Geheim', email: 'erika.geheim@example.org', phone: '+49 421 5550199' };
    const subject = 'Antrag Zeichenfolge-QX7 hängt';
    const handedOff = await handOffAndReceive(h, clock, ticketBody({ externalRef: 'ext-privacy-QX7', reporter, subject }));
    const { record: waiting } = await h.runtime.engine.createTicket(desk, ticketBody({ reporter, subject }));
    // A dead letter names an event of the ticket: the id must not leak through the count.
    await h.redis.zadd(h.runtime.keys.deadLetterIndex('dataport'), Date.now(), `${handedOff}-v3-handoff-dataport`);
    await h.redis.hincrby(h.runtime.keys.stats('created'), `2026|BY|${handedOff}|P2`, 1);
    await h.redis.hincrby(h.runtime.keys.stats('events'), reporter.email, 1);

    const { text, samples } = await scrape(h);
    for (const secret of [handedOff, waiting.id, reporter.name, reporter.email, reporter.phone, subject, 'QX7', 'Mustermann']) {
      expect(text, `metrics must not contain ${secret}`).not.toContain(secret);
    }
    const sets = labelSetsOf(defaultTopology);
    const bullmqStates = new Set(['active', 'completed', 'delayed', 'failed', 'paused', 'prioritized', 'waiting', 'waiting-children']);
    const allowed: Record<string, ReadonlySet<string>> = {
      land: sets.lands, service: sets.services, priority: sets.priorities, type: sets.eventTypes, clock: sets.clocks,
      level: sets.levels, status: sets.statuses, org: sets.handoffOrgs, queue: sets.queues, state: bullmqStates,
    };
    const ours = samples.filter((s) => s.name.startsWith('lotse_') || s.name.startsWith('bullmq_'));
    expect(ours.length).toBeGreaterThan(20);
    for (const s of ours) {
      for (const [label, v] of Object.entries(s.labels)) {
        if (label === 'le') expect(v === '+Inf' || Number.isFinite(Number(v)), `${s.name} le=${v}`).toBe(true);
        else expect(allowed[label]?.has(v), `${s.name}{${label}="${v}"} must come from a bounded set`).toBe(true);
      }
    }
    // The counts themselves, from the index sets and the dead letters.
    expect(value(samples, 'lotse_tickets_open', { level: '1' })).toBe(1);
    expect(value(samples, 'lotse_tickets_open', { level: '2' })).toBe(1);
    expect(value(samples, 'lotse_tickets_by_status', { status: 'new' })).toBe(1);
    expect(value(samples, 'lotse_tickets_by_status', { status: 'open' })).toBe(1);
    expect(value(samples, 'lotse_tickets_by_status', { status: 'handoff-pending' })).toBe(0);
    expect(value(samples, 'lotse_webhook_dead_letters', { org: 'dataport' })).toBe(1);
    // And the commit's counters, as every process reads them.
    const created = samples.filter((s) => s.name === 'lotse_tickets_created_total');
    expect(created.map((s) => [s.labels.land, s.labels.service, s.value])).toEqual([['BY', 'uvo', 2]]);
    expect(value(samples, 'lotse_events_total', { type: 'CREATED' })).toBe(2);
    expect(value(samples, 'lotse_events_total', { type: 'ACCEPT' })).toBe(2);
    expect(value(samples, 'lotse_events_total', { type: 'ESCALATE' })).toBe(1);
  });

  it('counts each dead letter once, in its channel\'s family: webhook, mail, connector', async () => {
    const base = structuredClone(DEFAULT_TOPOLOGY) as TopologyInput;
    base.organisations = base.organisations.map((o) =>
      o.id === 'vendor-lc' ? { ...o, connector: { kind: 'rt', url: 'http://127.0.0.1:9', token: 'env:RT_TOKEN', queue: 'Lotse' } }
        : o.id === 'vendor-pq' ? { ...o, mail: { address: 'support@pq.example' } }
          : o,
    ) as TopologyInput['organisations'];
    const topology = parseTopology(base, 'exchange topology');
    const h = await harness({ topology, principalEnv: { RT_TOKEN: 'x', LOTSE_SMTP_URL: 'smtp://127.0.0.1:9', LOTSE_MAIL_FROM: 'lotse@lotse.example' } });
    const store = createDeadLetterStore(h.runtime.redis, h.runtime.keys);
    const letter = (id: string, orgId: string, channel?: 'mail' | 'connector') => {
      const eventId = id.replace(/^(mail|cx)-/, '');
      return {
        id, orgId, reason: 'failed for good', attempts: 3, lastStatus: null, failedAt: new Date().toISOString(), jobId: id, ...(channel ? { channel } : {}),
        event: { specversion: '1.0', id: eventId, source: 'lotse', type: 'lotse.ticket.handoff.requested', subject: 'T1', time: new Date().toISOString() } as never,
      };
    };
    await store.add(letter('T1-v1-handoff-vendor-lc', 'vendor-lc'));
    await store.add(letter('cx-T2-v1-handoff-vendor-lc', 'vendor-lc', 'connector'));
    await store.add(letter('T3-v1-handoff-vendor-pq', 'vendor-pq'));
    await store.add(letter('mail-T4-v1-handoff-vendor-pq', 'vendor-pq', 'mail'));
    await store.add(letter('mail-T5-v1-handoff-vendor-pq', 'vendor-pq', 'mail'));
    const before = (await scrape(h)).samples;
    expect(value(before, 'lotse_webhook_dead_letters', { org: 'vendor-lc' })).toBe(1);
    expect(value(before, 'lotse_connector_dead_letters', { org: 'vendor-lc' })).toBe(1);
    expect(value(before, 'lotse_webhook_dead_letters', { org: 'vendor-pq' })).toBe(1);
    expect(value(before, 'lotse_mail_dead_letters', { org: 'vendor-pq' })).toBe(2);
    // Only organisations with mail or a connector have those families' samples.
    expect(before.filter((s) => s.name === 'lotse_mail_dead_letters').map((s) => s.labels.org)).toEqual(['vendor-pq']);
    expect(before.filter((s) => s.name === 'lotse_connector_dead_letters').map((s) => s.labels.org)).toEqual(['vendor-lc']);
    // The sum over the families is every dead letter, once.
    const sum = before.filter((s) => /^lotse_(webhook|mail|connector)_dead_letters$/.test(s.name)).reduce((n, s) => n + s.value, 0);
    expect(sum).toBe(5);

    // A replayed mail leaves its channel's count; the webhook count does not move.
    const res = await (await h.app()).inject({ method: 'POST', url: '/v1/dead-letters/mail-T4-v1-handoff-vendor-pq/replay', headers: { authorization: 'Bearer dev-ops-bremen' } });
    expect(res.statusCode, res.body).toBe(202);
    const after = (await scrape(h)).samples;
    expect(value(after, 'lotse_mail_dead_letters', { org: 'vendor-pq' })).toBe(1);
    expect(value(after, 'lotse_webhook_dead_letters', { org: 'vendor-pq' })).toBe(1);
  });

  it('measures a handoff\'s receipt latency where the receipt is applied, by receiving organisation', async () => {
    const clock = { t: Date.now() };
    const h = await harness({ now: () => clock.t });
    await handOffAndReceive(h, clock, ticketBody());
    const { samples } = await scrape(h);
    expect(value(samples, 'lotse_handoff_receipt_seconds_count', { org: 'dataport' })).toBe(1);
    expect(value(samples, 'lotse_handoff_receipt_seconds_sum', { org: 'dataport' })).toBe(42);
    expect(value(samples, 'lotse_handoff_receipt_seconds_bucket', { org: 'dataport', le: '30' })).toBe(0);
    expect(value(samples, 'lotse_handoff_receipt_seconds_bucket', { org: 'dataport', le: '60' })).toBe(1);
  });

  it('reads created, event and SLA counts from the commit\'s counter hashes, summing the years and the fields an older Lotse wrote, dropping fields outside the known values', async () => {
    const h = await harness();
    const stats = { created: h.runtime.keys.stats('created'), events: h.runtime.keys.stats('events'), sla: h.runtime.keys.stats('sla') };
    await h.redis
      .multi()
      .hincrby(stats.created, 'HB|elfe|P2', 3)
      .hincrby(stats.created, '2026|HB|elfe|P2', 2)
      .hincrby(stats.created, '2027|HB|elfe|P2', 1)
      .hincrby(stats.created, '2027|BY|uvo|P1', 7)
      .hincrby(stats.created, 'XX|elfe|P2', 5)
      .hincrby(stats.created, '2027|XX|elfe|P2', 5)
      .hincrby(stats.created, 'HB|elfe|P9', 5)
      .hincrby(stats.created, 'year|HB|elfe|P2', 5)
      .hincrby(stats.events, 'ACCEPT', 2)
      .hincrby(stats.events, 'CREATED', 3)
      .hincrby(stats.events, 'DROP_TABLE', 1)
      .hincrby(stats.sla, 'breach|resolution|P1', 1)
      .hincrby(stats.sla, 'warning|firstResponse|P3', 4)
      .hincrby(stats.sla, 'warning|lunch|P3', 4)
      .exec();
    const { samples } = await scrape(h);
    const of = (name: string) => samples.filter((s) => s.name === name).map((s) => [s.labels, s.value]);
    expect(of('lotse_tickets_created_total')).toEqual(expect.arrayContaining([[{ land: 'HB', service: 'elfe', priority: 'P2' }, 6], [{ land: 'BY', service: 'uvo', priority: 'P1' }, 7]]));
    expect(of('lotse_tickets_created_total')).toHaveLength(2);
    expect(of('lotse_events_total')).toEqual(expect.arrayContaining([[{ type: 'ACCEPT' }, 2], [{ type: 'CREATED' }, 3]]));
    expect(of('lotse_events_total')).toHaveLength(2);
    expect(of('lotse_sla_breaches_total')).toEqual([[{ clock: 'resolution', priority: 'P1' }, 1]]);
    expect(of('lotse_sla_warnings_total')).toEqual([[{ clock: 'firstResponse', priority: 'P3' }, 4]]);
  });

  it('shows the outbox lag while no relay runs, and none once the relay has carried the effects out', async () => {
    const h = await harness();
    await h.runtime.engine.createTicket(desk, ticketBody());
    await h.runtime.engine.createTicket(desk, ticketBody());
    const before = (await scrape(h)).samples;
    expect(value(before, 'lotse_outbox_entries')).toBe(2);
    expect(value(before, 'lotse_outbox_undelivered_entries')).toBe(2);
    expect(value(before, 'lotse_outbox_pending_entries')).toBe(0);
    expect(value(before, 'lotse_outbox_oldest_age_seconds')).toBeGreaterThanOrEqual(0);

    await h.runtime.startWorkers(['relay']);
    const after = await waitFor(async () => {
      const { samples } = await scrape(h);
      return value(samples, 'lotse_outbox_entries') === 0 && samples;
    }, { what: 'the relay to empty the outbox' });
    expect(value(after, 'lotse_outbox_pending_entries')).toBe(0);
    expect(value(after, 'lotse_outbox_undelivered_entries')).toBe(0);
    expect(value(after, 'lotse_outbox_oldest_age_seconds')).toBe(0);
  });

  it('serves on the path LOTSE_METRICS_PATH names, and nowhere else', async () => {
    const h = await harness({ env: { LOTSE_METRICS_PATH: '/internal/prometheus' } });
    const { samples } = await scrape(h, '/internal/prometheus');
    expect(value(samples, 'lotse_outbox_entries')).toBe(0);
    expectProblem(await (await h.app()).inject({ method: 'GET', url: '/metrics' }), 404);
  });

  it('serves on a port of its own with LOTSE_METRICS_PORT: all figures beside the API, only the process\'s own in a worker process', async () => {
    const port = await freePort();
    const h = await harness({ env: { LOTSE_METRICS_PORT: String(port), PORT: '3000' } });
    expectProblem(await (await h.app()).inject({ method: 'GET', url: '/metrics' }), 404);

    const withApi = await h.runtime.listenMetrics({ api: true });
    try {
      expect(withApi?.url).toBe(`http://127.0.0.1:${port}/metrics`);
      const { status, text } = await fetchOnce(withApi!.url);
      expect(status).toBe(200);
      expect(text).toMatch(/^lotse_outbox_entries 0$/m);
      expect(text).toMatch(/^# TYPE lotse_handoff_receipt_seconds histogram$/m);
      expect((await fetchOnce(`http://127.0.0.1:${port}/v1/tickets`)).status).toBe(404);
    } finally {
      await withApi?.close();
    }

    const workerOnly = await h.runtime.listenMetrics({ api: false });
    try {
      const { text } = await fetchOnce(workerOnly!.url);
      expect(text).toMatch(/^# TYPE lotse_handoff_receipt_seconds histogram$/m);
      expect(text).toMatch(/^# TYPE process_cpu_user_seconds_total counter$/m);
      // Figures every process would read alike from Redis come from the API's processes only.
      expect(text).not.toContain('lotse_tickets_open');
      expect(text).not.toContain('bullmq_job_count');
    } finally {
      await workerOnly?.close();
    }
  });
});

describe('metrics settings', () => {
  it.each([
    ['LOTSE_METRICS_PATH', 'metrics'],
    ['LOTSE_METRICS_PATH', '/v1/metrics'],
    ['LOTSE_METRICS_PATH', '/docs'],
    ['LOTSE_METRICS_PORT', '70000'],
    ['LOTSE_METRICS_PORT', 'nine'],
  ])('refuses %s=%s, naming the variable', (name, v) => {
    expect(() => loadConfig({ [name]: v })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: v })).toThrow(new RegExp(name));
  });

  it('defaults to /metrics on the API\'s port', () => {
    expect(loadConfig({})).toMatchObject({ metricsPath: '/metrics', metricsPort: undefined });
  });
});

describe('mergeExpositions', () => {
  it('keeps each family\'s HELP and TYPE once and every sample', () => {
    const queue = (name: string, n: number) => `# HELP bullmq_job_count Jobs\n# TYPE bullmq_job_count gauge\nbullmq_job_count{queue="${name}", state="waiting"} ${n}\n# HELP bullmq_job_completed_total Done\n# TYPE bullmq_job_completed_total counter\nbullmq_job_completed_total{queue="${name}"} 0`;
    expect(mergeExpositions([queue('a', 1), queue('b', 2)])).toBe(
      '# HELP bullmq_job_count Jobs\n# TYPE bullmq_job_count gauge\nbullmq_job_count{queue="a", state="waiting"} 1\nbullmq_job_count{queue="b", state="waiting"} 2\n' +
        '# HELP bullmq_job_completed_total Done\n# TYPE bullmq_job_completed_total counter\nbullmq_job_completed_total{queue="a"} 0\nbullmq_job_completed_total{queue="b"} 0\n',
    );
  });
});
