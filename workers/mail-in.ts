import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Principal } from '../src/domain/access.js';
import type { Topology } from '../src/domain/topology.js';
import type { TicketEngine } from '../src/engine/ticket/index.js';
import { AppError } from '../src/errors.js';
import { failpoint } from '../src/failpoints.js';
import { createImapFetcher, type ImapFetcher } from '../src/mail/imap-fetcher.js';
import { readInboundMail, type ReadMail } from '../src/mail/inbound.js';
import { decideInbound, safeText, type Meaning, type TicketFacts } from '../src/mail/meaning.js';
import type { MatchOrganisation } from '../src/mail/match.js';
import type { ImapTarget, MailConfig } from '../src/mail/settings.js';
import { startMailListener, type MailListener } from '../src/mail/smtp-listener.js';
import { mailboxId } from '../src/store/mail-cursor.js';
import type { MailStore } from '../src/store/mail-store.js';

export interface MailInDeps {
  topology: Topology;
  engine: TicketEngine;
  store: MailStore;
  config: MailConfig;
  logger: Logger;
  now?: () => number;
}

export type TakeOutcome = { taken: false; why: 'seen' | 'unreadable' } | { taken: true; ticketId: string | null; outcome: string; read: ReadMail };

export interface MailIn {
  /** One inbound mail, end to end; resolves when it is durably taken (or was taken before). */
  take(raw: Buffer, where: { mailbox: string; envelopeFrom?: string; recipients?: string[] }): Promise<TakeOutcome>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The listener's address, once started (tests). */
  readonly listener: MailListener | null;
  readonly fetchers: readonly ImapFetcher[];
}

/**
 * Mail in, wired (role `mail`): the SMTP/LMTP listener on LOTSE_MAIL_LISTEN
 * and one IMAP fetcher per LOTSE_IMAP_URLS entry hand each message to
 * `take`, which reads it (parse, classify, match: src/mail/inbound.ts),
 * decides what it means (src/mail/meaning.ts) and carries that out through
 * the engine's one path of change.
 *
 * Exactly once: every event is sent with an idempotency key made of the
 * message's key (Message-ID, or the hash of its bytes) and the step's
 * number, and the engine writes that key's record in the event's own
 * commit; only then is the message marked seen (mail-seen.ts) and the IMAP
 * cursor moved (or the MTA answered 250). A kill between fetch and commit
 * fetches again and commits then; a kill after the commit fetches again,
 * finds the key used and commits nothing new; a message seen before is
 * skipped at once.
 */
export function createMailIn(deps: MailInDeps): MailIn {
  const { topology, engine, store, config, logger } = deps;
  const now = deps.now ?? Date.now;
  const domain = config.domain ?? 'lotse.invalid';
  const ownAddresses = config.from ? [config.from.toLowerCase()] : [];
  const organisations: MatchOrganisation[] = [...topology.orgs.values()].flatMap((o) =>
    o.mail ? [{ orgId: o.id, address: o.mail.address.toLowerCase(), ...(o.mail.ticketNumber ? { ticketNumber: new RegExp(o.mail.ticketNumber) } : {}) }] : [],
  );
  const resolvedWhen = new Map([...topology.orgs.values()].flatMap((o) => (o.mail?.resolvedWhen ? [[o.id, new RegExp(o.mail.resolvedWhen, 'im')] as const] : [])));
  const mailboxes = topology.config.mailboxes;
  let listener: MailListener | null = null;
  let stopped = false;
  const fetchers: ImapFetcher[] = [];

  const lookups = {
    ownDomain: domain,
    organisations,
    findByExternalNumber: (orgId: string, number: string) => store.findByRef(orgId, number),
    ticketExists: async (id: string) => (await engine.findTicket(id)) !== null,
  };

  async function facts(ticketId: string | null): Promise<TicketFacts | null> {
    if (!ticketId) return null;
    const record = await engine.findTicket(ticketId);
    if (!record) return null;
    const view = engine.view('system', record);
    return { id: view.id, holder: view.assignee ?? '', status: view.status };
  }

  async function carryOut(read: ReadMail, meaning: Meaning, ticket: TicketFacts | null): Promise<{ ticketId: string | null; outcome: string }> {
    let ticketId = ticket?.id ?? null;
    let n = 0;
    let outcome = meaning.outcome;
    const steps = ticketId ? await withReplyAttachments(read, meaning.steps, ticketId) : meaning.steps;
    for (const step of steps) {
      const key = `mail-${read.key}-${n++}`;
      switch (step.do) {
        case 'ref':
          await store.keepRef(step.orgId, step.number, ticketId!);
          break;
        case 'undeliverable':
          await store.markUndeliverable({ address: step.address, at: now(), status: step.status, diagnostic: step.diagnostic, ticketId });
          break;
        case 'note':
          await refusedIsTaken(() => engine.noteOnce(ticketId!, step.text, key), (why) => (outcome = `refused: ${why}`));
          break;
        case 'event': {
          // As the organisation that holds the ticket (meaning.ts sends these only for it: its reply, or the bounce of the mail to it).
          const principal: Principal = { orgId: ticket!.holder, role: 'provider' };
          await refusedIsTaken(() => engine.applyEventOnce(principal, ticketId!, step.event, { idempotencyKey: key }), (why) => (outcome = `refused: ${why}`));
          break;
        }
        case 'create': {
          const links = await keepAttachments(read);
          const created = await engine.createTicket({ orgId: step.mailbox.orgId, role: 'desk' }, intakeBody(read, step.mailbox, topology, links), { idempotencyKey: key });
          ticketId = created.record.id;
          for (const l of links) await store.bindAttachment(l.id, ticketId);
          break;
        }
      }
    }
    return { ticketId, outcome };
  }

  /**
   * A person's mail to a ticket (a reply): its attachments are kept as an
   * intake mail's are (bounded by the same parse limits; with
   * LOTSE_MAIL_ATTACHMENT_BASE_URL stored, bound to the ticket and linked),
   * and listed under the first text the mail brings into the history (its
   * note, receipt or resolution). The history is where the ticket links them:
   * an erasure rewrites that text, and the bytes are unreachable at once.
   */
  async function withReplyAttachments(read: ReadMail, steps: Meaning['steps'], ticketId: string): Promise<Meaning['steps']> {
    const { attachments, droppedAttachments } = read.mail;
    if (read.classification.kind !== 'person' || (attachments.length === 0 && droppedAttachments.length === 0)) return steps;
    if (steps.some((s) => s.do === 'create')) return steps;
    const links = await keepAttachments(read);
    for (const l of links) await store.bindAttachment(l.id, ticketId);
    const block = attachmentBlock(read, links);
    const at = steps.findIndex((s) => s.do === 'note' || (s.do === 'event' && (s.event.type === 'NOTE' || s.event.type === 'RESOLVE' || (s.event.type === 'ACCEPT' && s.event.note))));
    const accept = steps.findIndex((s) => s.do === 'event' && s.event.type === 'ACCEPT');
    const i = at >= 0 ? at : accept;
    if (i < 0) return steps;
    const step = steps[i]!;
    const out = [...steps];
    if (step.do === 'note') out[i] = { ...step, text: `${step.text}\n\n${block}` };
    else if (step.do === 'event') {
      const e = step.event;
      if (e.type === 'NOTE') out[i] = { ...step, event: { ...e, text: `${e.text}\n\n${block}` } };
      else if (e.type === 'RESOLVE') out[i] = { ...step, event: { ...e, resolution: `${e.resolution}\n\n${block}` } };
      else if (e.type === 'ACCEPT') out[i] = { ...step, event: { ...e, note: e.note ? `${e.note}\n\n${block}` : block } };
    }
    return out;
  }

  /** A ticket that keeps changing meanwhile (VERSION_CONFLICT) is tried again a few times: the steps are idempotent by their keys. */
  /**
   * With LOTSE_MAIL_ATTACHMENT_BASE_URL, the mail's attachments (already
   * bounded by the parse limits) are kept and linked from the ticket. Their
   * ids come from the mail's key, so a re-run after a kill keeps the same ones.
   */
  async function keepAttachments(read: ReadMail): Promise<AttachmentLink[]> {
    if (!config.attachmentBaseUrl) return [];
    const links: AttachmentLink[] = [];
    for (const [i, a] of read.mail.attachments.slice(0, 20).entries()) {
      const id = createHash('sha256').update(`${read.key}|${i}`).digest('hex').slice(0, 32);
      const name = safeText(a.name, 255).replace(/[\t\n]+/g, ' ') || 'anhang';
      await store.keepAttachment(id, { name, type: a.contentType, content: a.content });
      links.push({ id, name, url: `${config.attachmentBaseUrl}/v1/mail/attachments/${id}`, size: a.size });
    }
    return links;
  }

  async function take(raw: Buffer, where: { mailbox: string; envelopeFrom?: string; recipients?: string[] }): Promise<TakeOutcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await takeOnce(raw, where);
      } catch (err) {
        if (!(err instanceof AppError && err.code === 'VERSION_CONFLICT') || attempt >= 5) throw err;
      }
    }
  }

  async function takeOnce(raw: Buffer, where: { mailbox: string; envelopeFrom?: string; recipients?: string[] }): Promise<TakeOutcome> {
    const read = await readMail(raw, where);
    if (!read) return { taken: false, why: 'unreadable' };
    return takeRead(read, where);
  }

  /** A mail no parser makes sense of is not retried forever (the MTA would keep it): it is logged and left. */
  async function readMail(raw: Buffer, where: { mailbox: string; envelopeFrom?: string }): Promise<ReadMail | null> {
    try {
      return await readInboundMailOf(raw, where);
    } catch (err) {
      if (err instanceof AppError || (err as Error).name === 'ReplyError' || /redis|ECONN|Connection/i.test((err as Error).message)) throw err;
      logger.warn({ mailbox: where.mailbox, err: (err as Error).message, bytes: raw.length }, 'mail not readable; left');
      return null;
    }
  }

  function readInboundMailOf(raw: Buffer, where: { mailbox: string; envelopeFrom?: string }): Promise<ReadMail> {
    return readInboundMail(raw, { mailbox: where.mailbox, ...(where.envelopeFrom !== undefined ? { envelopeFrom: where.envelopeFrom } : {}) }, {
      ownDomain: domain,
      ownAddresses,
      lookups,
      limits: { maxAttachments: config.maxAttachments, maxAttachmentBytes: config.maxAttachmentBytes },
      resolvedWhen,
    });
  }

  async function takeRead(read: ReadMail, where: { mailbox: string; recipients?: string[] }): Promise<TakeOutcome> {
    if (await store.hasSeen(where.mailbox, read.key)) {
      logger.info({ mailbox: where.mailbox, kind: read.classification.kind }, 'mail taken before; skipped');
      return { taken: false, why: 'seen' };
    }
    const ticket = await facts(read.match.ticketId);
    const recipients = [...new Set([...(where.recipients ?? []), ...read.mail.to, ...read.mail.cc])];
    const meaning = decideInbound(read, ticket, mailboxes, recipients, ticket ? resolvedWhen.get(ticket.holder) : undefined);
    // Fetched, read and matched; nothing committed yet (the mail-once test kills a worker here).
    failpoint('mail-in-before-commit');
    const done = await carryOut(read, meaning, ticket);
    failpoint('mail-in-after-commit');
    await store.take(where.mailbox, read.key, now());
    const party = meaning.steps.some((s) => s.do === 'create') ? 'reporter' : read.match.senderOrgId;
    if (done.ticketId) {
      await store.log(done.ticketId, read.key, {
        at: new Date(now()).toISOString(), direction: 'in', messageId: read.mail.messageId ?? null, party,
        kind: read.classification.kind, rule: read.classification.rule, match: read.match.rule, steps: read.match.steps.map((s) => `${s.rule}: ${s.outcome}`),
        outcome: done.outcome, ...(read.mail.droppedAttachments.length ? { detail: `${read.mail.droppedAttachments.length} attachment(s) over the limits not kept` } : {}),
      });
    }
    await store.noteReceived(read.match.senderOrgId, now());
    logger.info({ mailbox: where.mailbox, kind: read.classification.kind, rule: read.classification.rule, match: read.match.rule, ticketId: done.ticketId, outcome: done.outcome }, 'mail taken');
    return { taken: true, ticketId: done.ticketId, outcome: done.outcome, read };
  }

  function fetcherOf(target: ImapTarget): ImapFetcher {
    const mailbox = mailboxId(`${target.auth.user}@${target.host}:${target.port}`, target.folder);
    return createImapFetcher({
      host: target.host,
      port: target.port,
      secure: target.secure,
      auth: target.auth,
      folder: target.folder,
      plain: config.insecure,
      maxBytes: config.maxBytes,
      cursor: { read: () => store.readCursor(mailbox), write: (c) => store.writeCursor(mailbox, c) },
      // A mail whose taking fails for a passing reason (Redis away) is tried again here for a while: the fetcher moves on only after it.
      onMessage: async (m) => {
        for (let wait = 250; ; wait = Math.min(wait * 2, 10_000)) {
          try {
            return void (await take(m.raw, { mailbox }));
          } catch (err) {
            if (stopped || wait >= 10_000) throw err;
            logger.warn({ mailbox: target.name, err: (err as Error).message }, 'taking an IMAP mail failed; tried again');
            await new Promise((r) => setTimeout(r, wait));
          }
        }
      },
      onOversized: async (uid, size) => logger.warn({ mailbox: target.name, uid, size }, 'mail over LOTSE_MAIL_MAX_BYTES not fetched'),
      onError: (err) => logger.warn({ mailbox: target.name, err: err.message }, 'IMAP error'),
    });
  }

  return {
    take,
    async start() {
      if (config.listen) {
        const l = config.listen;
        listener = await startMailListener({
          host: l.host, port: l.port, protocol: l.protocol, maxBytes: config.maxBytes,
          onMessage: async (d) => void (await take(d.raw, { mailbox: `${l.protocol}:${l.host}:${l.port}`, envelopeFrom: d.mailFrom, recipients: d.rcptTo })),
          onError: (err) => logger.warn({ err: err.message }, 'mail listener error'),
        });
      }
      for (const target of config.imap) {
        const f = fetcherOf(target);
        fetchers.push(f);
        f.start().catch((err: Error) => logger.warn({ mailbox: target.name, err: err.message }, 'IMAP fetcher did not start; retried on the next start'));
      }
    },
    async stop() {
      stopped = true;
      await Promise.all(fetchers.map((f) => f.stop().catch(() => undefined)));
      if (listener) await listener.close();
    },
    get listener() {
      return listener;
    },
    fetchers,
  };
}

/** A refusal that retrying cannot change (the ticket is closed, the event is not allowed now) takes the mail all the same. */
async function refusedIsTaken(run: () => Promise<unknown>, refused: (why: string) => void): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (err instanceof AppError && !err.retryable) return refused(err.code);
    throw err;
  }
}

/** A reply's attachments as its text lists them: links where they are kept, else names and sizes; how many were over the limits. */
function attachmentBlock(read: ReadMail, links: AttachmentLink[]): string {
  const { attachments, droppedAttachments } = read.mail;
  const name = (n: string) => safeText(n, 255).replace(/[\t\n]+/g, ' ') || 'anhang';
  const lines: string[] = [];
  if (links.length > 0) lines.push('Anhänge:', ...links.map((l) => `- ${l.name} (${l.size} Bytes): ${l.url}`));
  else if (attachments.length > 0) lines.push(`[Anhänge: ${attachments.map((a) => `${name(a.name)} (${a.size} Bytes)`).join(', ')}]`);
  if (droppedAttachments.length > 0) lines.push(`[${droppedAttachments.length} Anhang/Anhänge über den Grenzen nicht übernommen]`);
  return lines.join('\n');
}

const BIDI = /[\u202a-\u202e\u2066-\u2069]/g;

interface AttachmentLink {
  id: string;
  name: string;
  url: string;
  size: number;
}

/** The ticket an intake mailbox makes of a mail: the reporter's name and address are its personal data. */
function intakeBody(read: ReadMail, mailbox: { orgId: string; service: string; land?: string | undefined }, topology: Topology, links: AttachmentLink[]) {
  const { mail } = read;
  const land = mailbox.land ?? topology.orgs.get(mailbox.orgId)?.land;
  const subject = safeText(mail.subject.replace(BIDI, ''), 200).replace(/[\t\n]+/g, ' ') || '(ohne Betreff)';
  const name = mail.from?.name ? safeText(mail.from.name.replace(BIDI, ''), 200).replace(/\n/g, ' ') : '';
  const dropped = mail.droppedAttachments.length ? `\n\n[${mail.droppedAttachments.length} Anhang/Anhänge über den Grenzen nicht übernommen]` : '';
  const kept = mail.attachments.length && links.length === 0 ? `\n\n[Anhänge: ${mail.attachments.map((a) => `${a.name.replace(/[\t\n]/g, ' ')} (${a.size} Bytes)`).join(', ')}]` : '';
  return {
    externalRef: `mail-${read.key.slice(0, 120)}`,
    channel: 'email',
    ...(land ? { land } : {}),
    service: mailbox.service,
    category: 'question',
    impact: 'medium',
    urgency: 'medium',
    subject,
    description: safeText(`${mail.text}${kept}${dropped}`, 20_000),
    ...(mail.from ? { reporter: { ...(name ? { name } : {}), email: mail.from.address } } : {}),
    ...(links.length ? { attachments: links.map((l) => ({ name: l.name, url: l.url, size: l.size })) } : {}),
  };
}
