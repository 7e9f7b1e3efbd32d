import { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { seededRandom } from '../../src/seeded-random.js';
import type { Ledger } from './harness.js';

/**
 * A mixed load of desks and providers: tickets created over HTTP (most) and
 * on the intake queue, then random valid events over HTTP and on the events
 * queue, each chosen from the ticket's state as its last answer showed it.
 * Every request the test got a 2xx answer to, and every job it saw complete,
 * goes into the ledger; nothing else does. A create that got no answer is
 * retried with the same idempotency key, as a careful client would.
 */
export interface LoadOptions {
  url: string;
  redis: Redis;
  prefix: string;
  ledger: Ledger;
  tickets: number;
  concurrency?: number;
  seed: number;
  /** Share of tickets created on the intake queue, and of events sent on the events queue. */
  queueShare?: number;
  /** Events tried per ticket at most. */
  maxEvents?: number;
  /** Give up a ticket's requests after this long without an answer. */
  requestTimeoutMs?: number;
  /** How long a create over HTTP is retried without an answer (default 90 s). */
  createRetryMs?: number;
  /** Stop starting new tickets once this is past (ms since epoch). */
  until?: number;
  /** Called after each ticket is done, with how many are. */
  onProgress?: (done: number) => void;
}

const LANDS = ['BY', 'HB', 'NW', 'SN', 'HH', 'BE'];
const SERVICES = ['uvo', 'elfe'];
const GRADES = ['low', 'medium', 'high'] as const;

interface View {
  id: string;
  version: number;
  status: string;
  level: number | null;
  assignee: string | null;
  createdBy: string;
}

type Choice = { orgId: string; event: Record<string, unknown> };

/** A random event the ticket's holder (or its desk) may send now, by its status; null when it is closed. */
export function pickEvent(view: View, random: () => number): Choice | null {
  const one = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
  const holder = view.assignee ?? view.createdBy;
  switch (view.status) {
    case 'new':
      return { orgId: holder, event: { type: 'ACCEPT' } };
    case 'handoff-pending':
      return random() < 0.85 ? { orgId: holder, event: { type: 'ACCEPT' } } : { orgId: holder, event: { type: 'REJECT_HANDOFF', reason: 'nicht zuständig' } };
    case 'waiting':
      return { orgId: holder, event: { type: 'INFO_RECEIVED', info: 'Angaben nachgereicht' } };
    case 'open': {
      const options: Record<string, unknown>[] = [
        { type: 'RESOLVE', resolution: 'erledigt' },
        { type: 'REQUEST_INFO', question: 'Welche Fehlermeldung?' },
        { type: 'SUGGEST_IMPROVEMENT', title: 'Fehlermeldung verständlicher', description: '' },
      ];
      if (view.level !== null && view.level < 3) options.push({ type: 'ESCALATE', reason: 'braucht Betrieb' }, { type: 'ESCALATE', reason: 'braucht Betrieb' });
      if (view.level !== null && view.level > 1) options.push({ type: 'RETURN', answer: 'behoben' });
      return { orgId: holder, event: one(options) };
    }
    case 'resolved':
      return { orgId: view.createdBy, event: random() < 0.7 ? { type: 'CLOSE' } : { type: 'REOPEN', reason: 'tritt wieder auf' } };
    default:
      return null;
  }
}

async function request(url: string, orgId: string, path: string, body: unknown, headers: Record<string, string>, timeoutMs: number) {
  try {
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer dev-${orgId}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    return { status: res.status, body: json, replayed: res.headers.get('idempotent-replayed') === 'true' };
  } catch {
    return { status: 0, body: {} as Record<string, unknown>, replayed: false };
  }
}

/** Polls a job until it completed (its return value) or failed (null); bounded. */
async function jobResult<R>(queue: Queue, id: string, timeoutMs: number): Promise<R | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const job = await Job.fromId(queue, id);
      if (job?.finishedOn) return job.failedReason ? null : (job.returnvalue as R);
    } catch {
      // Redis away for a moment: ask again
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}

export async function runLoad(o: LoadOptions): Promise<{ started: number; retriedCreates: number; noAnswer: number }> {
  const random = seededRandom(o.seed);
  const concurrency = o.concurrency ?? 16;
  const queueShare = o.queueShare ?? 0.2;
  const timeoutMs = o.requestTimeoutMs ?? 5000;
  // A command timeout: a frozen Redis (SIGSTOP) must not hold the client for ever.
  const connection = { host: o.redis.options.host, port: o.redis.options.port, maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 2000 };
  const intake = new Queue('intake', { connection, prefix: o.prefix });
  const events = new Queue('events', { connection, prefix: o.prefix });
  intake.on('error', () => undefined);
  events.on('error', () => undefined);
  const stats = { started: 0, retriedCreates: 0, noAnswer: 0 };
  let next = 0;
  let done = 0;

  async function createOverHttp(ref: string, body: Record<string, unknown>, orgId: string): Promise<View | null> {
    // Bounded: a client gives up after a while without an answer. The while is longer than a crashed
    // request's reservation lives (30 s, answered 409 meanwhile), so a retry after an API kill gets through.
    const giveUpAt = Date.now() + (o.createRetryMs ?? 90_000);
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) stats.retriedCreates++;
      const res = await request(o.url, orgId, '/v1/tickets', body, { 'idempotency-key': ref }, timeoutMs);
      if (res.status === 200 || res.status === 201) {
        const view = res.body as unknown as View;
        o.ledger.ackTicket({ ref, orgId, id: view.id, via: 'http', replayed: res.status === 200 });
        return view;
      }
      if (res.status >= 400 && res.status < 500 && res.status !== 409 && res.status !== 429) throw new Error(`create refused ${res.status}: ${JSON.stringify(res.body)}`);
      if (Date.now() > giveUpAt) break;
      await new Promise((r) => setTimeout(r, Math.min(1000, 200 + attempt * 100)));
    }
    stats.noAnswer++;
    return null;
  }

  async function createOnQueue(ref: string, body: Record<string, unknown>, orgId: string): Promise<View | null> {
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        await intake.add('create', { ...body, orgId }, { jobId: ref, attempts: 10, backoff: { type: 'exponential', delay: 200 } });
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 200 + attempt * 100));
      }
    }
    const result = await jobResult<{ ticketId: string }>(intake, ref, 60_000);
    if (!result) {
      stats.noAnswer++;
      return null;
    }
    o.ledger.ackTicket({ ref, orgId, id: result.ticketId, via: 'queue', replayed: false });
    return { id: result.ticketId, version: 1, status: 'new', level: 1, assignee: orgId, createdBy: orgId };
  }

  async function sendEvent(view: View, n: number, choice: Choice): Promise<View | null> {
    const key = `ev-${view.id}-${n}`;
    o.ledger.sent({ ticketId: view.id, orgId: choice.orgId, type: String(choice.event.type) });
    if (random() < queueShare) {
      try {
        await events.add('event', { ticketId: view.id, orgId: choice.orgId, event: choice.event }, { jobId: key, attempts: 5, backoff: { type: 'exponential', delay: 200 } });
      } catch {
        return null;
      }
      const result = await jobResult<{ ticketId: string; version: number; replayed?: true }>(events, key, 60_000);
      if (!result) return null;
      // A job run again after its worker died answers as a replay: the version it made is not known then.
      o.ledger.ackEvent({ ticketId: view.id, version: result.replayed ? undefined : result.version, type: String(choice.event.type), orgId: choice.orgId });
      return null; // the job's result carries no view: the next event waits for a fresh read
    }
    for (let attempt = 0; attempt < 5; attempt++) {
      const res = await request(o.url, choice.orgId, `/v1/tickets/${view.id}/events`, choice.event, { 'idempotency-key': key }, timeoutMs);
      if (res.status === 200) {
        const next = res.body as unknown as View;
        // A replay answers with the ticket as it is now: the event's own version is not known then.
        o.ledger.ackEvent({ ticketId: view.id, version: res.replayed ? undefined : next.version, type: String(choice.event.type), orgId: choice.orgId });
        return next;
      }
      if (res.status !== 0 && res.status < 500) return null; // refused (raced with a timer, or stale): not acknowledged
      await new Promise((r) => setTimeout(r, 200 + attempt * 200));
    }
    return null;
  }

  async function readView(id: string): Promise<View | null> {
    try {
      const res = await fetch(`${o.url}/v1/tickets/${id}`, { headers: { authorization: 'Bearer dev-ops-bremen' }, signal: AbortSignal.timeout(timeoutMs) });
      return res.ok ? ((await res.json()) as View) : null;
    } catch {
      return null;
    }
  }

  async function client() {
    while (next < o.tickets && (o.until === undefined || Date.now() < o.until)) {
      const i = next++;
      stats.started++;
      const land = LANDS[Math.floor(random() * LANDS.length)]!;
      const orgId = `desk-${land}`;
      const ref = `f${o.seed}-${i}`;
      const body = {
        externalRef: ref, channel: 'phone-115', land, service: SERVICES[Math.floor(random() * SERVICES.length)]!, category: 'technical',
        impact: GRADES[Math.floor(random() * 3)], urgency: GRADES[Math.floor(random() * 3)], subject: `Störung ${i}`, description: 'Fehler beim Absenden',
      };
      let view = random() < queueShare ? await createOnQueue(ref, body, orgId) : await createOverHttp(ref, body, orgId);
      const events = Math.floor(random() * ((o.maxEvents ?? 5) + 1));
      for (let n = 0; view && n < events; n++) {
        const choice = pickEvent(view, random);
        if (!choice) break;
        view = (await sendEvent(view, n, choice)) ?? (await readView(view.id));
      }
      o.onProgress?.(++done);
    }
  }

  try {
    await Promise.all(Array.from({ length: concurrency }, () => client()));
  } finally {
    await Promise.all([intake.close(), events.close()]).catch(() => undefined);
  }
  return stats;
}
