import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';

/**
 * Mail in over SMTP (or LMTP, so an MTA can deliver to Lotse) on
 * LOTSE_MAIL_LISTEN. Each message is handed to one handler; the sender is
 * answered 250 only after the handler resolved (the message is durably
 * taken), 451 when it failed (the MTA keeps the mail and retries), 552 when
 * the message is over the size limit. No AUTH and no STARTTLS: the listener
 * is for the MTA in front of Lotse on a trusted network (smtp-server's own
 * STARTTLS key is public); no reverse lookups (a PTR wait per connection).
 */

export interface InboundDelivery {
  raw: Buffer;
  /** MAIL FROM: '' for the null return path. */
  mailFrom: string;
  rcptTo: string[];
  remoteAddress: string;
}

export interface MailListenerOptions {
  host: string;
  port: number;
  protocol?: 'smtp' | 'lmtp';
  maxBytes: number;
  /** Resolves when the message is durably taken; a throw answers 451 (try again later). */
  onMessage(delivery: InboundDelivery): Promise<void>;
  /** Recipients Lotse takes mail for (its intake and reply addresses); others get 550 at RCPT. Default: all. */
  acceptRecipient?(address: string): boolean;
  name?: string;
  maxClients?: number;
  onError?(err: Error): void;
}

export interface MailListener {
  host: string;
  port: number;
  close(): Promise<void>;
}

type SmtpReplyError = Error & { responseCode?: number };
const reply = (code: number, text: string): SmtpReplyError => Object.assign(new Error(text), { responseCode: code });

export async function startMailListener(opts: MailListenerOptions): Promise<MailListener> {
  const server = new SMTPServer({
    lmtp: opts.protocol === 'lmtp',
    name: opts.name ?? 'lotse',
    banner: 'Lotse',
    size: opts.maxBytes,
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    disableReverseLookup: true,
    maxClients: opts.maxClients ?? 50,
    logger: false,
    onRcptTo(address, _session, callback) {
      if (opts.acceptRecipient && !opts.acceptRecipient(address.address.toLowerCase())) return callback(reply(550, '5.1.1 no such mailbox here'));
      callback();
    },
    onData(stream, session, callback) {
      readBounded(stream, opts.maxBytes).then(
        async (raw) => {
          const recipients = session.envelope.rcptTo.length;
          const answer = (err: SmtpReplyError | null) => {
            // LMTP answers per recipient; Lotse takes a message for all of them at once.
            if (opts.protocol === 'lmtp') callback(null, Array.from({ length: recipients }, () => err ?? 'OK'));
            else callback(err);
          };
          if (stream.sizeExceeded || raw === null) return answer(reply(552, `5.3.4 message exceeds the limit of ${opts.maxBytes} bytes`));
          try {
            await opts.onMessage(deliveryOf(raw, session));
            answer(null);
          } catch (err) {
            opts.onError?.(err as Error);
            answer(reply(451, '4.3.0 not taken, try again later'));
          }
        },
        (err: Error) => callback(reply(451, `4.3.0 ${err.message}`)),
      );
    },
  });
  server.on('error', (err) => opts.onError?.(err));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.server.address() as AddressInfo;
  return {
    host: address.address,
    port: address.port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The whole stream is always read (else the session stalls); only up to maxBytes is kept. Null when over. */
function readBounded(stream: SMTPServerDataStream, maxBytes: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
    });
    stream.on('end', () => resolve(size > maxBytes ? null : Buffer.concat(chunks, size)));
    stream.on('error', reject);
  });
}

function deliveryOf(raw: Buffer, session: SMTPServerSession): InboundDelivery {
  const from = session.envelope.mailFrom;
  return {
    raw,
    mailFrom: from === false ? '' : from.address.toLowerCase(),
    rcptTo: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
    remoteAddress: session.remoteAddress,
  };
}
