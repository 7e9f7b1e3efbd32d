/** One server-sent event (or comment) as a client reads it. */
export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

function parseFrame(block: string): SseFrame {
  const frame: SseFrame = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) frame.comment = (frame.comment ? `${frame.comment}\n` : '') + line.slice(1).trim();
    const m = /^(id|event|data): ?(.*)$/.exec(line);
    if (m) frame[m[1] as 'id' | 'event' | 'data'] = m[1] === 'data' && frame.data !== undefined ? `${frame.data}\n${m[2]}` : m[2];
  }
  return frame;
}

/**
 * A real SSE client over HTTP (fetch), reading frames as they arrive.
 * `next` waits for the next frame that matches; frames before it are kept in `seen`.
 */
export async function openStream(url: string, headers: Record<string, string> = {}) {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const frames: SseFrame[] = [];
  const waiters: (() => void)[] = [];
  let ended = false;
  const pump = (async () => {
    if (!res.body) return;
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          frames.push(parseFrame(buffer.slice(0, cut)));
          buffer = buffer.slice(cut + 2);
          waiters.splice(0).forEach((w) => w());
        }
      }
    } catch {
      // aborted
    } finally {
      ended = true;
      waiters.splice(0).forEach((w) => w());
    }
  })();
  let cursor = 0;
  return {
    status: res.status,
    headers: res.headers,
    frames,
    get ended() {
      return ended;
    },
    /** The next frame after the last one returned that matches, waiting up to `timeoutMs`. */
    async next(match: (f: SseFrame) => boolean = (f) => f.data !== undefined, timeoutMs = 10_000): Promise<SseFrame> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        while (cursor < frames.length) {
          const f = frames[cursor++]!;
          if (match(f)) return f;
        }
        if (ended) throw new Error('the stream ended');
        const left = deadline - Date.now();
        if (left <= 0) throw new Error('timed out waiting for a stream frame');
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
    async close() {
      abort.abort();
      await pump;
    },
  };
}
