import type { Queue, QueueEvents } from 'bullmq';
import type { EventsJob } from '../queue/jobs.js';
import { KEEP } from '../queue/retention.js';

/** What the `events` worker returns for an applied answer. */
export interface AnswerResult {
  jobId: string;
  ticketId: string;
  version: number;
  state: string;
}

/** Failure codes that mean Lotse refused the answer for good (it will never apply). */
const REFUSALS = ['INVALID_TRANSITION', 'FORBIDDEN', 'TICKET_NOT_FOUND', 'VALIDATION_FAILED', 'PRECONDITION_FAILED'] as const;

/** An answer Lotse did not apply: `refused` when it never will (the ticket is not, or no longer, the provider's to move). */
export class AnswerError extends Error {
  readonly code: string;
  readonly refused: boolean;
  constructor(readonly jobId: string, readonly reason: string) {
    super(`answer ${jobId} was not applied: ${reason}`);
    this.name = 'AnswerError';
    this.code = /^([A-Z][A-Z0-9_]*):/.exec(reason)?.[1] ?? 'FAILED';
    this.refused = (REFUSALS as readonly string[]).includes(this.code);
  }
}

/**
 * Answers to one event, each with a key made of the action and the event id
 * (`answerJobId`), so a handler that runs again applies nothing twice: on the
 * `events` queue the key is the job id; over HTTP it is the Idempotency-Key.
 * Each resolves once Lotse applied the answer and rejects with an
 * `AnswerError` when it did not; awaiting one before sending the next keeps
 * them in order (the `events` worker runs jobs concurrently).
 */
export interface Answers {
  /** The receipt: ACCEPT. Shares its job id with the automatic receipt, so the two never both apply. */
  accept(note?: string): Promise<AnswerResult>;
  /** REJECT_HANDOFF: the ticket goes back to operations. */
  reject(reason: string): Promise<AnswerResult>;
  requestInfo(question?: string, opts?: SendOptions): Promise<AnswerResult>;
  resolve(resolution: string): Promise<AnswerResult>;
  escalate(reason: string): Promise<AnswerResult>;
  /** RETURN: down one level, with the answer. */
  returnAnswer(answer: string): Promise<AnswerResult>;
  /** NOTE: text for the ticket's history, the state unchanged; `key` tells apart several notes to one event. */
  note(text: string, opts?: SendOptions): Promise<AnswerResult>;
  /** Any other event (`SUGGEST_IMPROVEMENT`, `CHANGE_PRIORITY`, …); `key` tells apart repeats of one type. */
  send(event: { type: string } & Record<string, unknown>, opts?: SendOptions): Promise<AnswerResult>;
}

export interface SendOptions {
  /** Added to the job id, for a second answer of the same kind to the same event (a second question). */
  key?: string;
}

/**
 * How an answer reaches Lotse: sends the event under its key and resolves
 * with what Lotse answered, or rejects with an `AnswerError`.
 */
export type AnswerTransport = (key: string, data: EventsJob) => Promise<Omit<AnswerResult, 'jobId'>>;

/** Kept after completion so a repeated answer with the same job id stays a no-op, as Lotse keeps its own jobs. */
const JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  ...KEEP,
} as const;

const ACTIONS: Record<string, string> = {
  ACCEPT: 'receipt',
  REJECT_HANDOFF: 'reject',
  REQUEST_INFO: 'info',
  RESOLVE: 'resolve',
  ESCALATE: 'escalate',
  RETURN: 'return',
  NOTE: 'note',
};

/** The job id of an answer: `<action>-<eventId>[-<key>]`; event ids hold no `:`, and a leading word keeps it from being all digits. */
export function answerJobId(eventId: string, type: string, key?: string): string {
  const action = ACTIONS[type] ?? type.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return `${action}-${eventId}${key ? `-${key.replace(/:/g, '-')}` : ''}`;
}

/** Answers as jobs on the `events` queue, awaited through the queue's events. */
export function queueTransport(deps: { events: Queue; queueEvents: () => Promise<QueueEvents>; timeoutMs: number }): AnswerTransport {
  return async (jobId, data) => {
    // An existing job with this id (a repeated handler) makes add a no-op that returns it.
    const listener = await deps.queueEvents();
    const job = await deps.events.add(data.event.type, data, { jobId, ...JOB_OPTIONS });
    try {
      return (await job.waitUntilFinished(listener, deps.timeoutMs)) as Omit<AnswerResult, 'jobId'>;
    } catch (err) {
      throw new AnswerError(jobId, err instanceof Error ? err.message : String(err));
    }
  };
}

/** Where Lotse's HTTP API answers and the provider's key for it. */
export interface HttpAnswerOptions {
  /** Lotse's base URL: `https://lotse.example.org`. */
  url: string;
  /** The provider's API key (`Authorization: Bearer <key>`). */
  key: string;
}

/**
 * Answers over Lotse's HTTP API: `POST /v1/tickets/{id}/events` with the
 * provider's key and the answer's key as `Idempotency-Key`, so a repeat is
 * answered with the ticket instead of being applied again. No job and no
 * listener per answer. A problem answer becomes an `AnswerError` with its
 * code; a network failure or a timeout one that is not a refusal, so the
 * handler fails and its job is retried. A repeated answer resolves with the
 * ticket's version and state as they are now (on the queue: as the answer
 * left them).
 */
export function httpTransport(o: HttpAnswerOptions & { timeoutMs: number }): AnswerTransport {
  const base = o.url.replace(/\/+$/, '');
  return async (key, data) => {
    let res: Response;
    try {
      res = await fetch(`${base}/v1/tickets/${encodeURIComponent(data.ticketId)}/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${o.key}`, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify(data.event),
        signal: AbortSignal.timeout(o.timeoutMs),
      });
    } catch (err) {
      throw new AnswerError(key, `UNAVAILABLE: ${err instanceof Error ? err.message : String(err)}`);
    }
    const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
    if (res.ok && body && typeof body.version === 'number' && typeof body.state === 'string') {
      return { ticketId: data.ticketId, version: body.version, state: body.state };
    }
    // A problem's type ends in its code in kebab case: /problems/invalid-transition.
    const type = typeof body?.type === 'string' ? body.type : '';
    const code = /\/([a-z-]+)$/.exec(type)?.[1]?.toUpperCase().replace(/-/g, '_') ?? `HTTP_${res.status}`;
    const errors = Array.isArray(body?.errors) ? (body.errors as { path?: string; message?: string }[]).map((e) => `${e.path || '(body)'}: ${e.message}`) : [];
    throw new AnswerError(key, `${code}: ${String(body?.detail ?? res.statusText)}${errors.length > 0 ? `; ${errors.join('; ')}` : ''}`);
  };
}

export function createAnswers(transport: AnswerTransport, orgId: string, ticketId: string, eventId: string): Answers {
  async function send(event: { type: string } & Record<string, unknown>, opts: SendOptions = {}): Promise<AnswerResult> {
    const jobId = answerJobId(eventId, event.type, opts.key);
    return { jobId, ...(await transport(jobId, { ticketId, orgId, event })) };
  }
  const text = <K extends string>(key: K, value: string | undefined) => (value === undefined ? {} : { [key]: value });
  return {
    accept: (note) => send({ type: 'ACCEPT', ...text('note', note) }),
    reject: (reason) => send({ type: 'REJECT_HANDOFF', reason }),
    requestInfo: (question, opts) => send({ type: 'REQUEST_INFO', ...text('question', question) }, opts),
    resolve: (resolution) => send({ type: 'RESOLVE', resolution }),
    escalate: (reason) => send({ type: 'ESCALATE', reason }),
    returnAnswer: (answer) => send({ type: 'RETURN', answer }),
    note: (note, opts) => send({ type: 'NOTE', text: note }, opts),
    send,
  };
}
