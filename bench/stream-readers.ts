import { request, Agent } from 'node:http';
import { Redis } from 'ioredis';

/**
 * The stream benchmark's readers, in a process of their own so their
 * parsing does not run in the server's event loop: `sse` opens clients of
 * `/v1/stream`, `xread` raw Redis readers of a stream. Each notes when it
 * got each entry (wall clock in ms, sub-millisecond); asked, it answers the
 * delays to the stamps it is sent.
 */

export type ReaderJob =
  /** `stream` and `redisUrl`: one more reader, of Lotse's events stream itself, so the delay splits into the relay's and the API's. */
  | { mode: 'sse'; url: string; key: string; clients: number; redisUrl: string; stream: string }
  | { mode: 'xread'; url: string; stream: string; clients: number };

export type ReaderMessage = { ready: true } | { delays: number[]; missing: number; streamDelays: number[] };

const wallNow = () => performance.timeOrigin + performance.now();

/** Per reader: entry (ticket id or stream id) → when it arrived. Only the first arrival counts. */
const arrivals: Map<string, number>[] = [];
const closers: (() => void)[] = [];
/** Ticket id → when its first entry reached Lotse's events stream. */
const onStream = new Map<string, number>();

function openSse(job: Extract<ReaderJob, { mode: 'sse' }>, arrived: Map<string, number>): Promise<void> {
  const agent = new Agent({ keepAlive: false });
  return new Promise((resolve, reject) => {
    const req = request(`${job.url}/v1/stream`, { agent, headers: { authorization: `Bearer ${job.key}`, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`GET /v1/stream answered ${res.statusCode}`));
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        const at = wallNow();
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (frame.startsWith(': connected')) resolve();
          const data = frame.split('\n').find((l) => l.startsWith('data: '));
          if (!data) continue;
          // The subject is the ticket id; the first event of a ticket is its creation.
          const subject = /"subject":"([^"]+)"/.exec(data)?.[1];
          if (subject && !arrived.has(subject)) arrived.set(subject, at);
        }
      });
      res.on('error', () => undefined);
    });
    req.on('error', reject);
    req.end();
    closers.push(() => req.destroy());
  });
}

async function openXread(job: { url: string; stream: string }, arrived: Map<string, number>, bySubject = false): Promise<void> {
  const redis = new Redis(job.url, { maxRetriesPerRequest: null });
  let open = true;
  closers.push(() => {
    open = false;
    redis.disconnect();
  });
  const last = (await redis.xrevrange(job.stream, '+', '-', 'COUNT', 1)) as [string, string[]][];
  let position = last[0]?.[0] ?? '0-0';
  void (async () => {
    while (open) {
      const res = (await redis.xread('COUNT', 500, 'BLOCK', 5000, 'STREAMS', job.stream, position).catch(() => null)) as [string, [string, string[]][]][] | null;
      const at = wallNow();
      for (const [id, fields] of res?.[0]?.[1] ?? []) {
        position = id;
        if (!bySubject) arrived.set(id, at);
        else {
          const subject = fields[fields.indexOf('subject') + 1];
          if (subject && !arrived.has(subject)) arrived.set(subject, at);
        }
      }
    }
  })();
}

process.once('message', (job: ReaderJob) => {
  void (async () => {
    for (let i = 0; i < job.clients; i++) arrivals.push(new Map());
    await Promise.all(arrivals.map((arrived) => (job.mode === 'sse' ? openSse(job, arrived) : openXread(job, arrived))));
    if (job.mode === 'sse') await openXread({ url: job.redisUrl, stream: job.stream }, onStream, true);
    process.send!({ ready: true } satisfies ReaderMessage);
    // Then: the commit stamps, once every entry is out; the answer is every reader's delay per entry.
    process.on('message', (stamps: { entries: [string, number][]; waitMs: number }) => {
      void (async () => {
        const deadline = Date.now() + stamps.waitMs;
        const complete = () => arrivals.every((a) => stamps.entries.every(([id]) => a.has(id)));
        while (!complete() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        const delays: number[] = [];
        let missing = 0;
        for (const arrived of arrivals) {
          for (const [id, stamp] of stamps.entries) {
            const at = arrived.get(id);
            if (at === undefined) missing++;
            else delays.push(at - stamp);
          }
        }
        const streamDelays = stamps.entries.flatMap(([id, stamp]) => (onStream.has(id) ? [onStream.get(id)! - stamp] : []));
        for (const close of closers) close();
        process.send!({ delays, missing, streamDelays } satisfies ReaderMessage, undefined, undefined, () => process.exit(0));
      })();
    });
  })().catch((err: Error) => {
    console.error(err);
    process.exit(1);
  });
});
