import { ImapFlow } from 'imapflow';
import type { MailCursor } from '../store/mail-cursor.js';

/**
 * Mail in from an IMAP mailbox: catch up from the cursor (UIDVALIDITY and
 * the last UID taken, kept in Redis), then wait with IDLE (imapflow enters
 * it by itself when the server has it, and polls with NOOP when not) and
 * take what arrives. Each message goes to the handler in UID order; the
 * cursor moves after the handler resolved (the message is durably taken),
 * so a kill between fetch and commit re-fetches it, and the seen marks
 * (src/store/mail-seen.ts) make a re-fetch take nothing twice. The mailbox
 * is never changed (no flags, no deletes): what Lotse took is in Redis.
 *
 * imapflow: one client is one connection and does not reconnect; on close
 * a new client is built and resumes from the cursor.
 */

export interface ImapMessage {
  raw: Buffer;
  uid: number;
  uidValidity: string;
}

export interface CursorStore {
  read(): Promise<MailCursor | null>;
  write(cursor: MailCursor): Promise<void>;
}

export interface ImapFetcherOptions {
  host: string;
  port: number;
  secure: boolean;
  auth: { user: string; pass: string };
  folder?: string;
  cursor: CursorStore;
  /** Resolves when the message is durably taken; a throw stops this run and the next starts from the same message. */
  onMessage(message: ImapMessage): Promise<void>;
  /** A message over maxBytes is not downloaded: this is told instead, and the cursor moves past it. */
  onOversized?(uid: number, size: number): Promise<void>;
  maxBytes?: number;
  /** Plain IMAP on a trusted loopback (tests): no STARTTLS. */
  plain?: boolean;
  /** A pino-compatible logger; default none (imapflow would log to stdout). */
  logger?: NonNullable<ConstructorParameters<typeof ImapFlow>[0]>['logger'];
  reconnectDelayMs?: number;
  /** Quiet time before IDLE starts (imapflow's default is 15 s, so a mail in that window waited as long). */
  idleAfterMs?: number;
  onError?(err: Error): void;
}

export interface ImapFetcher {
  /** Connect, take everything new, log out. The number of messages taken. */
  fetchOnce(): Promise<number>;
  /** Keep a connection, take what arrives (IDLE), reconnect after a close. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Messages taken by the running connection so far (for a health view). */
  readonly taken: number;
}

export function createImapFetcher(opts: ImapFetcherOptions): ImapFetcher {
  const folder = opts.folder ?? 'INBOX';
  const maxBytes = opts.maxBytes ?? 25 * 1024 * 1024;
  let client: ImapFlow | null = null;
  let stopped = true;
  let taken = 0;
  let running: Promise<void> = Promise.resolve();
  let again = false;
  let reconnectTimer: NodeJS.Timeout | null = null;

  const newClient = () =>
    new ImapFlow({
      host: opts.host,
      port: opts.port,
      secure: opts.secure,
      auth: opts.auth,
      logger: opts.logger ?? false,
      ...(opts.plain ? { doSTARTTLS: false } : {}),
      missingIdleCommand: 'NOOP',
      autoIdleDelay: opts.idleAfterMs ?? 1000,
      maxLockHoldTime: false,
    });

  async function takeNew(c: ImapFlow): Promise<number> {
    const lock = await c.getMailboxLock(folder, { readOnly: true });
    try {
      const mailbox = c.mailbox;
      if (!mailbox) throw new Error(`mailbox ${folder} not open`);
      const uidValidity = String(mailbox.uidValidity);
      let cursor = await opts.cursor.read();
      if (!cursor || cursor.uidValidity !== uidValidity) {
        // New mailbox or renumbered: start again; the seen marks drop what was taken before.
        cursor = { uidValidity, uid: 0 };
        await opts.cursor.write(cursor);
      }
      if (mailbox.exists === 0) return 0;
      const pending: { uid: number; size: number }[] = [];
      // No other command inside the loop: imapflow would deadlock.
      for await (const m of c.fetch(`${cursor.uid + 1}:*`, { uid: true, size: true }, { uid: true })) {
        if (m.uid > cursor.uid) pending.push({ uid: m.uid, size: m.size ?? 0 });
      }
      pending.sort((a, b) => a.uid - b.uid);
      let count = 0;
      for (const { uid, size } of pending) {
        if (size > maxBytes) {
          await opts.onOversized?.(uid, size);
        } else {
          const m = await c.fetchOne(String(uid), { uid: true, source: true }, { uid: true });
          if (m && m.source) {
            await opts.onMessage({ raw: m.source, uid, uidValidity });
            count++;
            taken++;
          }
        }
        cursor = { uidValidity, uid };
        await opts.cursor.write(cursor);
      }
      return count;
    } finally {
      lock.release();
    }
  }

  /** One run at a time; an arrival during a run asks for one more. */
  function schedule(c: ImapFlow): void {
    again = true;
    running = running.then(async () => {
      while (again && !stopped && client === c) {
        again = false;
        try {
          await takeNew(c);
        } catch (err) {
          opts.onError?.(err as Error);
          return;
        }
      }
    });
  }

  async function connect(): Promise<void> {
    const c = newClient();
    c.on('error', (err: Error) => opts.onError?.(err));
    c.on('exists', () => schedule(c));
    c.on('close', () => {
      if (client !== c || stopped) return;
      client = null;
      reconnectTimer = setTimeout(() => {
        reconnectTimer = null;
        if (!stopped) connect().catch((err: Error) => opts.onError?.(err));
      }, opts.reconnectDelayMs ?? 5_000);
    });
    await c.connect();
    client = c;
    schedule(c);
    await running;
  }

  return {
    async fetchOnce() {
      const c = newClient();
      c.on('error', (err: Error) => opts.onError?.(err));
      await c.connect();
      try {
        return await takeNew(c);
      } finally {
        await c.logout().catch(() => c.close());
      }
    },
    async start() {
      stopped = false;
      await connect();
    },
    async stop() {
      stopped = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      await running.catch(() => undefined);
      const c = client;
      client = null;
      if (c) await c.logout().catch(() => c.close());
    },
    get taken() {
      return taken;
    },
  };
}
