import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AnswerError, createProviderWorker } from '../../src/index.js';
import { createLogger } from '../../src/logger.js';
import { dev, redisUrl, ticketBody, waitFor } from '../helpers/harness.js';
import { handedToDataport as handedOver, openDataportTest, type DataportKitOptions, type DataportTest } from '../helpers/provider.js';

/**
 * The provider kit answering over Lotse's HTTP API (`api` option) instead of
 * the `events` queue: the same answers, each keyed by Idempotency-Key, and no
 * job on the `events` queue.
 */
let t: DataportTest;
const desk = dev('desk-BY');
const operator = dev('ops-bremen');

beforeEach(async () => {
  t = await openDataportTest(['events', 'relay', 'sla'], { listen: true });
});
afterEach(() => t.close());

/** dataport's kit answering over HTTP with its development key; the handoffs it saw. */
const startProvider = (over: DataportKitOptions = {}) => t.start({ api: { url: t.url, key: 'dev-dataport' }, ...over }).handoffs;
const handedToDataport = () => handedOver(t.h.runtime.engine);
const ticket = (id: string) => t.h.runtime.engine.getTicket(operator, id);
const historyTypes = async (id: string) => (await t.h.runtime.engine.history(operator, id)).map((e) => e.type);
const eventsJobs = () => t.queues.events.getJobCounts('completed', 'failed', 'active', 'wait', 'delayed');

describe('the provider kit answering over HTTP', () => {
  it('sends the receipt and a resolution over HTTP, each applied once, with no job on the events queue', async () => {
    const id = await handedToDataport();
    const seen = startProvider();
    const job = await waitFor(() => t.queues.handoff.getJob(`${id}-v3-handoff-dataport`), { what: 'the handoff job' });
    expect(await job!.waitUntilFinished(t.queues.handoffEvents, 10_000)).toEqual({ handled: true, type: 'lotse.ticket.handoff.requested', receiptVersion: 4 });
    expect(seen).toHaveLength(1);
    expect((await ticket(id)).state.value).toEqual({ level2: 'open' });
    const accept = (await t.h.runtime.engine.history(operator, id)).at(-1)!;
    expect(accept).toMatchObject({ type: 'ACCEPT', actor: { orgId: 'dataport', role: 'provider' }, from: 'level2.handoffPending', to: 'level2.open' });

    const resolved = await t.kit!.answersFor(seen[0]!).resolve('Zertifikat erneuert');
    expect(resolved).toEqual({ jobId: `resolve-${seen[0]!.id}`, ticketId: id, version: 5, state: 'resolved' });
    // The same answer again (a handler that ran twice): answered with the ticket, nothing applied again.
    expect(await t.kit!.answersFor(seen[0]!).resolve('Zertifikat erneuert')).toEqual(resolved);
    expect(await historyTypes(id)).toEqual(['CREATED', 'ACCEPT', 'ESCALATE', 'ACCEPT', 'RESOLVE']);
    expect(await eventsJobs()).toEqual({ completed: 0, failed: 0, active: 0, wait: 0, delayed: 0 });
  });

  it('retries a handler that throws, and the retry repeats no answer', async () => {
    const id = await handedToDataport();
    let runs = 0;
    startProvider({
      then: async (_e, ctx) => {
        runs++;
        await ctx.requestInfo('Welcher Browser?');
        if (runs === 1) throw new Error('our own ticket system is down');
      },
    });
    const job = await waitFor(() => t.queues.handoff.getJob(`${id}-v3-handoff-dataport`), { what: 'the handoff job' });
    // The retry's receipt is a replay: it answers with the ticket as it is now, after the first run's question.
    expect(await job!.waitUntilFinished(t.queues.handoffEvents, 20_000)).toMatchObject({ handled: true, receiptVersion: 5 });
    expect(runs).toBe(2);
    expect(await historyTypes(id)).toEqual(['CREATED', 'ACCEPT', 'ESCALATE', 'ACCEPT', 'REQUEST_INFO']);
  });

  it('turns Lotse\'s refusals into AnswerErrors with their codes, and changes nothing', async () => {
    const id = await handedToDataport();
    const seen = startProvider();
    await waitFor(() => seen.length > 0, { what: 'the handler' });
    const answers = t.kit!.answersFor(seen[0]!);
    expect(await answers.escalate('Landesnetz betroffen')).toMatchObject({ state: 'level3.handoffPending' });
    const before = (await ticket(id)).version;

    const forbidden = await answers.send({ type: 'ACCEPT' }, { key: 'late' }).catch((err: unknown) => err);
    expect(forbidden).toBeInstanceOf(AnswerError);
    expect(forbidden).toMatchObject({ code: 'FORBIDDEN', refused: true, jobId: `receipt-${seen[0]!.id}-late` });
    expect((forbidden as AnswerError).reason).toMatch(/holder \(it-BY\)/);
    expect(await answers.resolve('doch erledigt').catch((err: unknown) => err)).toMatchObject({ code: 'INVALID_TRANSITION', refused: true });
    const invalid = await answers.send({ type: 'ESCALATE' }, { key: 'bad' }).catch((err: unknown) => err);
    expect(invalid).toMatchObject({ code: 'VALIDATION_FAILED', refused: true });
    expect((invalid as AnswerError).reason).toMatch(/reason/);

    // A ticket never handed to dataport: 404, as if it did not exist.
    const { record: other } = await t.h.runtime.engine.createTicket(desk, ticketBody({ service: 'ehe' }));
    const foreign = await t.kit!.answersFor({ id: 'made-up', subject: other.id }).accept().catch((err: unknown) => err);
    expect(foreign).toMatchObject({ code: 'TICKET_NOT_FOUND', refused: true });
    expect((await ticket(id)).version).toBe(before);
    expect((await ticket(other.id)).version).toBe(1);
  });

  it('a wrong key or an unreachable Lotse is an AnswerError that is no refusal: the handler fails and is retried', async () => {
    const id = await handedToDataport();
    const seen = startProvider({ autoReceipt: false });
    await waitFor(() => seen.length > 0, { what: 'the handler' });
    const event = seen[0]!;
    await t.kit!.close();

    const wrongKey = createProviderWorker({ orgId: 'dataport', connection: redisUrl(), prefix: t.h.prefix, logger: createLogger('silent'), api: { url: t.url, key: 'not-a-key' }, onHandoff: () => undefined });
    try {
      expect(await wrongKey.answersFor(event).accept().catch((err: unknown) => err)).toMatchObject({ code: 'UNAUTHENTICATED', refused: false });
    } finally {
      await wrongKey.close();
    }

    // A port nobody listens on any more.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const gone = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await new Promise((resolve) => server.close(resolve));
    const unreachable = createProviderWorker({ orgId: 'dataport', connection: redisUrl(), prefix: t.h.prefix, logger: createLogger('silent'), api: { url: gone, key: 'dev-dataport' }, onHandoff: () => undefined });
    try {
      expect(await unreachable.answersFor(event).accept().catch((err: unknown) => err)).toMatchObject({ code: 'UNAVAILABLE', refused: false });
    } finally {
      await unreachable.close();
    }

    // A proxy in front of Lotse that answers 502 with a page of its own.
    const proxy = createServer((_req, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad Gateway</h1>'));
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const behindProxy = createProviderWorker({ orgId: 'dataport', connection: redisUrl(), prefix: t.h.prefix, logger: createLogger('silent'), api: { url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/`, key: 'dev-dataport' }, onHandoff: () => undefined });
    try {
      expect(await behindProxy.answersFor(event).accept().catch((err: unknown) => err)).toMatchObject({ code: 'HTTP_502', refused: false });
    } finally {
      await behindProxy.close();
      await new Promise((resolve) => proxy.close(resolve));
    }
    expect((await ticket(id)).state.value).toEqual({ level2: 'handoffPending' });
  });
});
