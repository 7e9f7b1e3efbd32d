import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Principal } from '../../domain/access.js';
import { IdSchema, LandCodeSchema } from '../../domain/ids.js';
import type { TicketEngine } from '../../engine/ticket/index.js';
import { AppError } from '../../errors.js';
import { compareStreamIds, type PartitionEntry, type StreamEntry, type StreamSource } from '../../store/event-hub.js';
import { decodePositions, encodePositions } from '../../domain/partitions.js';
import { principalOf } from '../auth.js';
import { problemResponses } from '../problem.js';

/*
 * SSE written on reply.raw, not with @fastify/sse: every client is fed from
 * one shared reader, and dropping a slow client needs the socket's own
 * buffer size (writableLength), which the plugin's send() hides behind a
 * promise per message.
 */

/** A stream entry id; with partitions (LOTSE_PARTITIONS), one per partition joined by `_` (store/partitions.ts). */
const STREAM_ID = /^\d{1,20}-\d{1,20}(?:_\d{1,20}-\d{1,20}){0,63}$/;
const STREAM_ID_HINT = 'a stream entry id like 1767000000000-0 (with partitions, one per partition joined by _)';
const list = <T extends z.ZodType<string>>(item: T) =>
  z
    .string()
    .max(2000)
    .transform((s, ctx) => {
      const items = s.split(',').map((x) => x.trim()).filter(Boolean);
      for (const x of items) if (!item.safeParse(x).success) ctx.addIssue({ code: 'custom', message: `not valid: ${x.slice(0, 40)}` });
      return items;
    })
    .optional();

const StreamQuery = z.strictObject({
  land: list(LandCodeSchema).describe('Land codes, comma-separated'),
  service: list(IdSchema).describe('Service ids, comma-separated'),
  type: list(z.string().regex(/^[a-z0-9.-]{1,100}$/)).describe('CloudEvent types, comma-separated: lotse.ticket.created,…'),
  lastEventId: z.string().regex(STREAM_ID, STREAM_ID_HINT).optional().describe('For EventSource reconnects that cannot set the header'),
  heartbeat: z.enum(['comment', 'event']).default('comment').describe('comment: `: heartbeat` lines; event: `event: heartbeat` (visible to an EventSource)'),
});
type Filters = z.infer<typeof StreamQuery>;

export interface StreamOptions {
  heartbeatMs: number;
  /** Entries waiting for a client before it counts as too slow and is dropped. */
  maxQueued?: number;
  /** Bytes the socket may hold unsent before the client is dropped. */
  maxBuffered?: number;
  maxClients?: number;
  /** Concurrent connections one key (one principal) may hold on this process; beyond it 429 with Retry-After. */
  maxPerKey?: number;
  /** Entries a resume (Last-Event-ID) replays at most: the newest ones after the resume point. */
  replayMax?: number;
}

/** Seconds a refused stream client is asked to wait before it tries again. */
export const STREAM_RETRY_AFTER_S = 10;

interface Facts {
  land: string;
  service: string;
  reach: boolean;
  at: number;
}

const FACTS_CACHE = 1000;
/** Reach only grows (the ticket is handed on), so a yes is kept; a no is asked again after this. */
const NO_REACH_TTL_MS = 5000;

/** The ticket facts a connection's filters need, loaded once and kept briefly (bounded). */
function makeFactsCache(engine: TicketEngine, principal: Principal) {
  const cache = new Map<string, Promise<Facts | null>>();
  return async (ticketId: string, heldByCaller: boolean): Promise<Facts | null> => {
    const hit = cache.get(ticketId);
    if (hit) {
      const facts = await hit;
      const fresh = facts && (facts.reach || Date.now() - facts.at < NO_REACH_TTL_MS) && (!heldByCaller || facts.reach);
      if (fresh || facts === null) return facts;
      cache.delete(ticketId);
    }
    const load = engine.getTicket(principal, ticketId).then(
      (r) => ({ land: r.state.context.facts.land, service: r.state.context.facts.service, reach: true, at: Date.now() }) as Facts,
      async (err: unknown) => {
        if (!(err instanceof AppError && err.code === 'TICKET_NOT_FOUND')) throw err;
        // Out of reach, or gone: the land is unknown then, which no filter needs.
        return { land: '', service: '', reach: false, at: Date.now() } as Facts;
      },
    );
    if (cache.size >= FACTS_CACHE) cache.delete(cache.keys().next().value!);
    cache.set(ticketId, load.catch(() => null));
    return load;
  };
}

type ParsedEvent = { type?: string; data?: { assignee?: unknown } };
/** Every client reads the same entry objects from the hub: each is parsed once, not once per client. */
const parsed = new WeakMap<StreamEntry, ParsedEvent | null>();
function parsedOf(entry: StreamEntry): ParsedEvent | null {
  let event = parsed.get(entry);
  if (event === undefined) {
    try {
      event = JSON.parse(entry.event) as ParsedEvent;
    } catch {
      event = null;
    }
    parsed.set(entry, event);
  }
  return event;
}

/** Whether an entry goes to this client: its type, its ticket's Land and service, and the caller's reach. */
function makeFilter(engine: TicketEngine, principal: Principal, f: Filters) {
  // Operators and the steering committee watch every event; the steering's
  // own reach is none, so its filters read the facts as the board does.
  const seesAll = principal.role === 'operator' || principal.role === 'steering';
  const facts = makeFactsCache(engine, principal.role === 'steering' ? { ...principal, role: 'operator' } : principal);
  const needsFacts = !seesAll || f.land !== undefined || f.service !== undefined;
  return async (entry: StreamEntry): Promise<boolean> => {
    const event = parsedOf(entry);
    if (!event) return false;
    if (f.type && !f.type.includes(event.type ?? '')) return false;
    if (!needsFacts) return true;
    const t = await facts(entry.subject, event.data?.assignee === principal.orgId);
    if (!t || (!seesAll && !t.reach)) return false;
    if (f.land && !f.land.includes(t.land)) return false;
    if (f.service && !f.service.includes(t.service)) return false;
    return true;
  };
}

const frame = (e: StreamEntry, id: string) => `id: ${id}\ndata: ${e.event}\n\n`;

/**
 * What of an event the steering committee may read: the envelope and the
 * facts its counts are made of, never free text (subjects, descriptions,
 * reasons, answers live in `details` and are left out), as the API gives it
 * no ticket either.
 */
const STEERING_DATA = ['ticketId', 'itemId', 'version', 'at', 'type', 'actor', 'from', 'to', 'level', 'assignee', 'status', 'priority', 'land', 'service'] as const;
const STEERING_ENVELOPE = ['specversion', 'id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'ticketversion'] as const;
const steeringText = new WeakMap<StreamEntry, string>();
export function steeringView(event: Record<string, unknown>): Record<string, unknown> {
  const pick = (o: Record<string, unknown>, names: readonly string[]) => Object.fromEntries(names.filter((n) => o[n] !== undefined).map((n) => [n, o[n]]));
  const data = event.data && typeof event.data === 'object' ? pick(event.data as Record<string, unknown>, STEERING_DATA) : {};
  // A desk's or provider's actor is an organisation and a role; nothing else of it goes out.
  if (data.actor && typeof data.actor === 'object') data.actor = pick(data.actor as Record<string, unknown>, ['orgId', 'role', 'system']);
  return { ...pick(event, STEERING_ENVELOPE), data };
}
function steeringFrame(e: StreamEntry, id: string): string {
  let text = steeringText.get(e);
  if (text === undefined) {
    const event = parsedOf(e);
    text = event ? JSON.stringify(steeringView(event as Record<string, unknown>)) : '{}';
    steeringText.set(e, text);
  }
  return `id: ${id}\ndata: ${text}\n\n`;
}

export function streamRoutes(engine: TicketEngine, hub: StreamSource, opts: StreamOptions): FastifyPluginAsyncZod {
  const maxQueued = opts.maxQueued ?? 2000;
  const maxBuffered = opts.maxBuffered ?? 1024 * 1024;
  const maxClients = opts.maxClients ?? 1000;
  const maxPerKey = opts.maxPerKey ?? 10;
  const replayMax = opts.replayMax ?? 1000;
  const clients = new Set<() => void>();
  /** Open connections per key (principal), on this process. */
  const perKey = new Map<string, number>();

  return async (app) => {
    app.addHook('preClose', async () => {
      for (const end of [...clients]) end();
    });

    app.get('/v1/stream', {
      config: { roles: ['desk', 'provider', 'operator', 'steering'] },
      schema: {
        tags: ['stream'],
        operationId: 'streamEvents',
        summary: 'Server-sent events of ticket events (CloudEvents), resuming after Last-Event-ID; operators see all, others the tickets in their reach',
        description: 'Each event: `id:` the stream entry id, `data:` the CloudEvent JSON. Heartbeats keep the connection open. A client that reads too slowly is dropped and resumes with Last-Event-ID.',
        querystring: StreamQuery,
        headers: z.object({ 'last-event-id': z.string().regex(STREAM_ID, STREAM_ID_HINT).optional() }),
        response: { 200: { description: 'The event stream', content: { 'text/event-stream': { schema: z.string() } } }, ...problemResponses(400, 401, 403, 429, 503) },
      },
    }, async (req, reply) => {
      const principal = principalOf(req);
      if (clients.size >= maxClients) throw new AppError('STORE_UNAVAILABLE', 'Too many stream clients on this process; try another or later');
      const keyOf = `${principal.role}:${principal.orgId}`;
      if ((perKey.get(keyOf) ?? 0) >= maxPerKey) {
        reply.header('retry-after', String(STREAM_RETRY_AFTER_S));
        throw new AppError('RATE_LIMITED', `This key holds ${maxPerKey} open streams already; close one or try again later`, { limit: maxPerKey });
      }
      const toFrame = principal.role === 'steering' ? steeringFrame : frame;
      const resumeFrom = req.headers['last-event-id'] ?? req.query.lastEventId;
      const accepts = makeFilter(engine, principal, req.query);
      const res: ServerResponse = reply.raw;
      reply.hijack();
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-content-type-options': 'nosniff',
      });
      res.write('retry: 3000\n\n');
      perKey.set(keyOf, (perKey.get(keyOf) ?? 0) + 1);

      const queue: PartitionEntry[] = [];
      // Where the client stands: one stream id per partition, sent as one `id:` (encodePositions).
      let lastSent = decodePositions(resumeFrom ?? '0-0', hub.partitions);
      /** Moves the client past an entry; false when it was there already. */
      const passes = (entry: PartitionEntry): boolean => {
        if (compareStreamIds(entry.id, lastSent[entry.partition] ?? '0-0') <= 0) return false;
        lastSent[entry.partition] = entry.id;
        return true;
      };
      const toFrameNow = (entry: PartitionEntry) => toFrame(entry, encodePositions(lastSent));
      let catchingUp = true;
      let pumping = false;
      let ended = false;

      const end = () => {
        if (ended) return;
        ended = true;
        const open = (perKey.get(keyOf) ?? 1) - 1;
        if (open > 0) perKey.set(keyOf, open);
        else perKey.delete(keyOf);
        unsubscribe();
        clearInterval(beat);
        clients.delete(end);
        res.end();
      };
      const send = (chunk: string) => {
        if (ended) return;
        res.write(chunk);
        if (res.writableLength > maxBuffered) {
          req.log.info({ buffered: res.writableLength }, 'stream client too slow; dropped');
          end();
        }
      };
      const pump = async () => {
        if (pumping || catchingUp) return;
        pumping = true;
        // The frames of what is queued go out in one write: one syscall per batch, not per event.
        let batch = '';
        try {
          while (!ended && queue.length > 0) {
            const entry = queue.shift()!;
            if (!passes(entry)) continue;
            if (await accepts(entry)) batch += toFrameNow(entry);
            if (batch.length > 64 * 1024) {
              send(batch);
              batch = '';
            }
          }
          if (batch) send(batch);
        } catch (err) {
          req.log.warn({ err: (err as Error).message }, 'stream filter failed; client dropped');
          end();
        } finally {
          pumping = false;
        }
      };
      const unsubscribe = hub.subscribe((entries) => {
        if (ended) return;
        queue.push(...entries);
        if (queue.length > maxQueued) {
          req.log.info({ queued: queue.length }, 'stream client too slow; dropped');
          end();
          return;
        }
        void pump();
      });
      const beat = setInterval(() => send(req.query.heartbeat === 'event' ? `event: heartbeat\ndata: {"at":"${new Date().toISOString()}"}\n\n` : ': heartbeat\n\n'), opts.heartbeatMs);
      clients.add(end);
      req.raw.on('close', end);

      // Catch-up: a resume replays at most the newest `replayMax` entries after
      // Last-Event-ID, read once for every client resuming from the same point;
      // then each reads what came since that read (or since the newest entry, read
      // once subscribed, so nothing falls between). Live ones wait in the queue meanwhile.
      try {
        if (resumeFrom === undefined) lastSent = await hub.tail();
        else {
          const replay = await hub.replay([...lastSent], replayMax);
          if (replay.truncated) send(`: replay limited to the newest ${replayMax} entries\n\n`);
          for (const entry of replay.entries) {
            if (ended) return;
            passes(entry);
            if (await accepts(entry)) send(toFrameNow(entry));
          }
          // Past what the bound left out, too.
          lastSent = replay.positions;
        }
        send(': connected\n\n');
        for (let read = 0; read <= Math.max(replayMax, 500); ) {
          const page = await hub.after(lastSent, 500);
          for (const entry of page) {
            if (ended) return;
            if (!passes(entry)) continue;
            if (await accepts(entry)) send(toFrameNow(entry));
          }
          read += page.length;
          if (page.length < 500 || ended) break;
        }
      } catch (err) {
        req.log.warn({ err: (err as Error).message }, 'stream catch-up failed; client dropped');
        end();
        return;
      }
      catchingUp = false;
      void pump();
    });
  };
}
