import { Redis } from 'ioredis';
import { initialTransition } from 'xstate';
import { createPureStepper } from '../machines/pure.js';
import { createTicketMachine } from '../machines/ticket.machine.js';
import { loadTopology } from '../src/config/topology-file.js';
import type { Principal } from '../src/domain/access.js';
import { createTicketPolicy } from '../src/domain/ticket-policy.js';
import { CreateTicketSchema, IntakeJobSchema } from '../src/domain/ticket.js';
import { fingerprint } from '../src/engine/idempotency-keys.js';
import { checkCreation } from '../src/engine/ticket/creation.js';
import { createTicketKind } from '../src/engine/ticket/kind.js';
import { newTicketId } from '../src/engine/ticket/index.js';
import { makeKeys } from '../src/store/keys.js';
import { commitCall, createRecordStore } from '../src/store/record-store.js';
import { ticketLayout, type TicketStore } from '../src/store/ticket-store.js';
import { benchBody } from './body.js';
import { listen, startRuntime } from './support.js';

/**
 * Where a ticket's CPU goes, step by step (issue 19): each step of a
 * creation timed alone, warm, in this process, in µs of CPU per ticket
 * (process.cpuUsage over `n` runs after as many unmeasured), beside the
 * whole creation through the HTTP API and through the store's commit. The
 * machine (XState), the validation, the commit's encoding, the I/O client
 * and the HTTP layer apart, so a lever can be weighed before it is built.
 */
const LANDS = ['BY', 'HB', 'NW', 'SN'] as const;
const DESK: Principal = { orgId: 'desk-BY', role: 'desk', land: 'BY' };

/** µs of this process's CPU per call of `fn`, after `n` unmeasured calls. */
function cpuPerCall(n: number, fn: (i: number) => unknown): number {
  for (let i = 0; i < n; i++) fn(i);
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) fn(n + i);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

/** The same for an asynchronous step, `width` at a time. */
async function cpuPerAsyncCall(n: number, width: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const run = async (from: number) => {
    let next = from;
    await Promise.all(Array.from({ length: width }, async () => {
      while (next < from + n) await fn(next++);
    }));
  };
  await run(0);
  const c0 = process.cpuUsage();
  await run(n);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

export async function benchSteps(url: string, o: { n: number }) {
  const topology = loadTopology(undefined);
  const keys = makeKeys('bench-steps');
  // start and plan read nothing from the store (only loadPlanInputs would, for a change).
  const { kind, machine } = createTicketKind({ topology, store: undefined as unknown as TicketStore, keys, source: 'urn:lotse:bench' });
  const stepper = createPureStepper(createTicketMachine(createTicketPolicy(topology)));
  const now = Date.now();
  const raw = (i: number) => ({ ...benchBody(`steps-${i}`, { land: LANDS[i % 4] }), orgId: `desk-${LANDS[i % 4]}` });
  const bodies = Array.from({ length: 2 * o.n }, (_, i) => CreateTicketSchema.parse(benchBody(`steps-${i}`, { land: LANDS[i % 4] })));
  const facts = (i: number) => {
    const body = bodies[i]!;
    return { id: newTicketId(now), facts: { service: body.service, land: body.land!, category: body.category }, createdBy: DESK.orgId, impact: body.impact, urgency: body.urgency, receivedAt: now, at: now };
  };
  const input = (i: number) => {
    const body = bodies[i]!;
    const { land, service, receivedAt } = checkCreation(topology, body, now);
    return { id: newTicketId(now), body: { ...body, createdBy: DESK.orgId }, land, service, receivedAt };
  };
  const actor = { type: 'principal' as const, orgId: DESK.orgId, role: DESK.role, land: DESK.land };
  const started = kind.start(input(0), now, actor);

  const steps: { step: string; us: number }[] = [
    { step: 'zod: the intake job (IntakeJobSchema)', us: cpuPerCall(o.n, (i) => IntakeJobSchema.parse(raw(i))) },
    { step: 'zod: the create body (CreateTicketSchema)', us: cpuPerCall(o.n, (i) => CreateTicketSchema.parse(benchBody(`z-${i}`))) },
    { step: 'topology checks (checkCreation)', us: cpuPerCall(o.n, (i) => checkCreation(topology, bodies[i]!, now)) },
    { step: 'idempotency fingerprint (canonical JSON, SHA-256)', us: cpuPerCall(o.n, (i) => fingerprint(bodies[i]!)) },
    { step: "XState initialTransition, xstate's own", us: cpuPerCall(o.n, (i) => initialTransition(machine, facts(i))) },
    { step: 'XState initialTransition, machines/pure.ts (what Lotse runs)', us: cpuPerCall(o.n, (i) => stepper.initialTransition(facts(i))) },
    { step: 'XState: restore + transition (ACCEPT)', us: cpuPerCall(o.n, () => kind.transition(kind.restore(started.after), { type: 'ACCEPT', at: now + 1, actor })) },
    { step: 'the creation step (kind.start: machine, record, history entry)', us: cpuPerCall(o.n, (i) => kind.start(input(i), now, actor)) },
    { step: 'its plan (effects with the CloudEvent, 11 index and 3 counter ops)', us: cpuPerCall(o.n, () => kind.plan({ before: null, after: started.after, entry: started.entry, actions: started.actions, actor }, [])) },
  ];
  const plan = kind.plan({ before: null, after: started.after, entry: started.entry, actions: started.actions, actor }, []);
  const request = { id: started.after.id, expectedVersion: 0, version: 1, state: started.after.state, machineVersion: kind.machineVersion, updatedAt: now, data: started.after.data, history: started.entry, effects: plan.effects, ops: plan.ops, idempotency: { key: 'k', record: 'd:fp:id', fingerprint: 'fp' } };
  steps.push({ step: "the commit's arguments (MessagePack document, JSON history and effects)", us: cpuPerCall(o.n, () => commitCall(ticketLayout(keys), request)) });

  // Whole creations against the bench's Redis, no worker running: the store's commit alone, and the HTTP API.
  const runtime = await startRuntime(url, 'bench-steps', []);
  const api = await listen(runtime);
  const redis = new Redis(url);
  const commitOne = await cpuPerAsyncCall(o.n, 1, (i) => runtime.engine.createParsedTicket(DESK, bodies[i]!, { idempotencyKey: `one-${i}`, reserve: false }));
  const commitGroup = await cpuPerAsyncCall(o.n, 16, (i) => runtime.engine.createParsedTicket(DESK, bodies[i]!, { idempotencyKey: `group-${i}`, reserve: false }));
  // The group commit alone: the same commits, 16 in flight, through a store that groups them and one that sends each alone.
  const grouped = createRecordStore(redis, ticketLayout(keys), { maxBatch: 32 });
  const alone = createRecordStore(redis, ticketLayout(keys), { maxBatch: 1 });
  const commitAs = (store: typeof grouped, tag: string) => (i: number) => {
    const id = `${tag}-${i}`;
    return store.commit({ ...request, id, idempotency: { key: `bench-steps:idem:${id}`, record: `d:fp:${id}`, fingerprint: 'fp' } });
  };
  const storeAlone = await cpuPerAsyncCall(o.n, 16, commitAs(alone, 'alone'));
  const storeGrouped = await cpuPerAsyncCall(o.n, 16, commitAs(grouped, 'grouped'));
  const app = await runtime.buildApp();
  const overHttp = await cpuPerAsyncCall(o.n, 16, async (i) => {
    const land = LANDS[i % 4];
    const res = await app.inject({ method: 'POST', url: '/v1/tickets', headers: { authorization: `Bearer dev-desk-${land}` }, payload: benchBody(`http-${i}`, { land }) });
    if (res.statusCode !== 201) throw new Error(`POST /v1/tickets answered ${res.statusCode}: ${res.body}`);
  });
  await api.close();
  await runtime.close();
  await redis.flushdb();
  redis.disconnect();
  return { n: o.n, steps, commitOne, commitGroup, overHttp, storeAlone, storeGrouped };
}

export function reportSteps(r: Awaited<ReturnType<typeof benchSteps>>): string[] {
  return [
    `µs of Node CPU per ticket, each step alone and warm (${r.n} runs after ${r.n} unmeasured)`,
    '',
    '| step | µs per ticket |',
    '| --- | --- |',
    ...r.steps.map((s) => `| ${s.step} | ${s.us.toFixed(1)} |`),
    `| a creation through the engine to its commit, one at a time (machine, plan, ioredis, no worker) | ${r.commitOne.toFixed(1)} |`,
    `| the same, 16 at a time (group commit) | ${r.commitGroup.toFixed(1)} |`,
    `| the store's commit alone (ioredis, the script call), 16 in flight, each sent alone | ${r.storeAlone.toFixed(1)} |`,
    `| the same commits grouped (COMMIT_MANY, up to 32 a call) | ${r.storeGrouped.toFixed(1)} |`,
    `| a creation over the HTTP API (Fastify inject, 16 at a time: auth, rate limit, zod, the engine, the answer) | ${r.overHttp.toFixed(1)} |`,
  ];
}
