import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { createLogger } from '../../src/logger.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { createProviderWorker, HANDOFF_EVENT_TYPES, type HandoffRequestedEvent, type ProviderWorker } from '../../src/index.js';
import { bearer, defaultTopology, dropPrefix, newPrefix, openConnections, redisUrl, ticketBody, waitFor } from '../helpers/harness.js';
import type { App } from '../../src/http/app.js';

// The harness's logger takes no destination, so this test wires its own runtime with one that keeps every line.
const REPORTER = { name: 'Erika Mustermann', email: 'erika@example.org', phone: '+49 421 1234567' };
const PERSONAL = Object.values(REPORTER);
const lines: string[] = [];
const logger = createLogger('trace', { write: (line: string) => void lines.push(line) });
const prefix = newPrefix('pd');
let runtime: Runtime;
let app: App;
let kit: ProviderWorker;
let admin: Redis;
let handoffs: Queue;
const handed: HandoffRequestedEvent[] = [];

beforeAll(async () => {
  admin = new Redis(redisUrl());
  runtime = await createRuntime({ config: loadConfig({ LOTSE_PREFIX: prefix, LOTSE_RELAY_CLAIM_IDLE_MS: '300', LOTSE_MAX_EVENT_LOOP_DELAY_MS: '0' }), redisUrl: redisUrl(), topology: defaultTopology, logger, env: {} });
  await runtime.startWorkers(['intake', 'events', 'relay', 'sla']);
  app = await runtime.buildApp();
  handoffs = new Queue('handoff-dataport', { connection: { url: redisUrl() }, prefix });
  kit = createProviderWorker({ orgId: 'dataport', connection: redisUrl(), prefix, logger, onHandoff: (e) => void handed.push(e), onUpdate: () => undefined, onWithdrawn: () => undefined });
});

afterAll(async () => {
  await kit.close();
  await handoffs.close();
  await app.close();
  await runtime.close();
  await waitFor(async () => (await openConnections(admin, prefix)).length === 0, { what: 'connections to close' });
  await dropPrefix(admin, prefix);
  admin.disconnect();
});

async function post(orgId: string, url: string, payload: object) {
  const res = await app.inject({ method: 'POST', url, headers: bearer(orgId), payload });
  expect(res.statusCode, res.body).toBeLessThan(300);
  return res.json() as { id: string; version: number };
}

/** Created over HTTP with the reporter, handed to dataport (receipt by the kit), changed by the desk, handed on by dataport. */
async function throughDataport(service: string): Promise<string> {
  const { id } = await post('desk-BY', '/v1/tickets', ticketBody({ service, reporter: REPORTER }));
  await post('desk-BY', `/v1/tickets/${id}/events`, { type: 'ACCEPT' });
  await post('desk-BY', `/v1/tickets/${id}/events`, { type: 'ESCALATE', reason: 'Fehler 500' });
  const event = await waitFor(() => handed.find((e) => e.subject === id), { what: `the ${service} handoff` });
  await post('desk-BY', `/v1/tickets/${id}/events`, { type: 'CHANGE_PRIORITY', impact: 'high', urgency: 'medium', reason: 'mehr Betroffene' });
  await waitFor(() => handoffs.getJob(`${id}-v5-updated-dataport`), { what: 'the update' });
  await kit.answersFor(event).escalate('Landesnetz');
  await waitFor(() => handoffs.getJob(`${id}-v6-withdrawn-dataport`), { what: 'the withdrawal' });
  return id;
}

it("keeps the reporter out of a provider's events unless the service shares it, and out of every log line", async () => {
  const elfe = await throughDataport('elfe');
  const uvo = await throughDataport('uvo');

  const jobs = await handoffs.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
  const payloads = (ticketId: string) => jobs.filter((j) => j.data.subject === ticketId).map((j) => ({ type: j.data.type as string, json: JSON.stringify(j.data) }));
  const types = (ticketId: string) => payloads(ticketId).map((p) => p.type).sort();
  const all = [HANDOFF_EVENT_TYPES.requested, HANDOFF_EVENT_TYPES.updated, HANDOFF_EVENT_TYPES.withdrawn].sort();
  expect(types(elfe)).toEqual(all);
  expect(types(uvo)).toEqual(all);

  for (const p of payloads(elfe)) for (const value of PERSONAL) expect(p.json, `${p.type} of elfe`).not.toContain(value);
  // uvo shares the reporter with dataport: every event that carries the ticket carries it whole.
  for (const p of payloads(uvo).filter((p) => p.type !== HANDOFF_EVENT_TYPES.withdrawn)) {
    for (const value of PERSONAL) expect(p.json, `${p.type} of uvo`).toContain(value);
  }

  // Everything logged meanwhile, at trace level, by Lotse's workers, HTTP and the provider kit.
  expect(lines.length).toBeGreaterThan(20);
  const leaked = lines.filter((l) => PERSONAL.some((v) => l.includes(v)));
  expect(leaked).toEqual([]);
  // Nor on the event stream, which any consumer may read.
  const stream = JSON.stringify(await admin.xrange(`${prefix}:events`, '-', '+'));
  for (const value of PERSONAL) expect(stream).not.toContain(value);
});
