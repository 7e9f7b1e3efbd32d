import type { Logger } from 'pino';
import type { Principal } from '../src/domain/access.js';
import type { Topology } from '../src/domain/topology.js';
import type { MailRouting } from '../src/engine/executors.js';
import type { TicketEngine } from '../src/engine/ticket/index.js';
import { createMailSender, type MailSender } from '../src/mail/sender.js';
import { loadMailConfig, parseSmtpUrl, type MailConfig } from '../src/mail/settings.js';
import { QUEUE } from '../src/queue/names.js';
import type { Queues } from '../src/queue/queues.js';
import type { MailHealth } from '../src/store/mail-health.js';
import type { Undeliverable } from '../src/store/mail-limits.js';
import type { MailLogEntry } from '../src/store/mail-log.js';
import type { MailStore } from '../src/store/mail-store.js';
import { attemptsToSpan, HOUR_MS, type BackoffPolicy } from '../src/webhooks/backoff.js';
import type { DeadLetters } from '../src/webhooks/dead-letters.js';
import { createMailIn, type MailIn } from './mail-in.js';
import { createMailWorker } from './mail.worker.js';
import type { KitWorker, WorkerDeps } from './worker-kit.js';

export interface MailRoomSettings {
  config: MailConfig;
  /** Organisations that work by e-mail (`organisations[].mail`). */
  mailOrgs: ReadonlySet<string>;
  backoff: BackoffPolicy;
  /** Attempts whose retries span LOTSE_MAIL_RETRY_HOURS whatever the jitter draws. */
  attempts: number;
}

/** The environment and the topology's mail parts, checked before any connection opens: a wrong one names itself. */
export function mailRoomSettings(topology: Topology, env: NodeJS.ProcessEnv): MailRoomSettings {
  const config = loadMailConfig(env);
  const mailOrgs = new Set([...topology.orgs.values()].filter((o) => o.mail).map((o) => o.id));
  if (mailOrgs.size > 0 && (!config.smtpUrl || !config.from)) {
    throw new Error(`LOTSE_SMTP_URL and LOTSE_MAIL_FROM: needed, since ${[...mailOrgs].join(', ')} work(s) by e-mail (organisations[].mail)`);
  }
  if (config.smtpUrl) parseSmtpUrl(config.smtpUrl, env);
  topology.config.mailboxes.forEach((m, i) => {
    const org = topology.orgs.get(m.orgId);
    if (!org) throw new Error(`mailboxes[${i}].orgId: unknown organisation ${m.orgId}`);
    if (!topology.services.has(m.service)) throw new Error(`mailboxes[${i}].service: unknown service ${m.service}`);
    const land = m.land ?? org.land;
    if (!land || !topology.lands.has(land)) throw new Error(`mailboxes[${i}].land: needed (the organisation names no Land) and must be a known Land`);
  });
  const backoff: BackoffPolicy = { baseMs: config.backoffMs, capMs: HOUR_MS };
  return { config, mailOrgs, backoff, attempts: attemptsToSpan(config.retryHours * HOUR_MS, backoff) };
}

export interface OrgMailHealth extends MailHealth {
  orgId: string;
  address: string;
  /** Mails waiting to be sent (first try or retry), counted up to 1000 jobs. */
  queued: number;
}

/** What operators and a ticket's readers see of mail (src/http/routes/mail.ts). */
export interface MailView {
  undeliverable(): Promise<Undeliverable[]>;
  clearUndeliverable(address: string): Promise<boolean>;
  health(): Promise<OrgMailHealth[]>;
  /** A ticket's mail log, for anyone who may read the ticket. */
  ticketLog(principal: Principal, ticketId: string): Promise<MailLogEntry[]>;
  /** An intake mail's attachment, for anyone who may read its ticket while the ticket links it; null otherwise. */
  attachment(principal: Principal, id: string): Promise<{ name: string; type: string; content: Buffer } | null>;
}

export interface MailRoom {
  configured: boolean;
  routing: MailRouting | undefined;
  start(deps: WorkerDeps, concurrency?: number): Promise<void>;
  stop(): Promise<void>;
  metrics(): Promise<string>;
  view: MailView;
  /** Mail in, once started (tests and the benchmark hand it messages). */
  readonly inbound: MailIn | null;
}

/**
 * The mail room, wired (worker role `mail`): the `mail` queue's worker
 * sends what the relay put there (workers/mail.worker.ts); the listener and
 * the IMAP fetchers take what comes in (workers/mail-in.ts); the board,
 * /metrics and /v1/mail/… read their health.
 */
export function createMailRoom(o: {
  settings: MailRoomSettings;
  topology: Topology;
  engine: TicketEngine;
  store: MailStore;
  queues: Queues;
  deadLetters: DeadLetters;
  logger: Logger;
  now: () => number;
}): MailRoom {
  const { settings, topology, store, logger } = o;
  const { config } = settings;
  const configured = settings.mailOrgs.size > 0 || config.listen !== undefined || config.imap.length > 0;
  let worker: Pick<KitWorker, 'close'> | null = null;
  let sender: MailSender | null = null;
  let inbound: MailIn | null = null;

  async function queuedByOrg(): Promise<Map<string, number>> {
    const jobs = await o.queues.queue(QUEUE.mail).getJobs(['waiting', 'delayed', 'active', 'prioritized'], 0, 999);
    const out = new Map<string, number>();
    for (const job of jobs) {
      const orgId = (job?.data as { orgId?: string } | undefined)?.orgId;
      if (orgId) out.set(orgId, (out.get(orgId) ?? 0) + 1);
    }
    return out;
  }

  async function health(): Promise<OrgMailHealth[]> {
    const ids = [...settings.mailOrgs];
    const [h, queued] = await Promise.all([store.readHealth(ids), queuedByOrg()]);
    return ids.map((id) => ({ orgId: id, address: topology.orgs.get(id)!.mail!.address, queued: queued.get(id) ?? 0, ...h.get(id)! }));
  }

  const view: MailView = {
    undeliverable: () => store.listUndeliverable(),
    clearUndeliverable: (address) => store.clearUndeliverable(address),
    health,
    async ticketLog(principal, ticketId) {
      await o.engine.getTicket(principal, ticketId);
      return store.readLog(ticketId);
    },
    async attachment(principal, id) {
      const a = await store.readAttachment(id);
      if (!a || !a.ticketId) return null;
      const record = await o.engine.getTicket(principal, a.ticketId);
      // Linked from the ticket's attachments (intake mail), or from the text of a reply in its history (an erasure rewrites both).
      const path = `/v1/mail/attachments/${id}`;
      const linked = o.engine.view('system', record).attachments.some((x) => x.url.endsWith(path))
        || (await o.engine.history(principal, a.ticketId)).some((e) => JSON.stringify(e.details ?? {}).includes(path));
      if (!linked) {
        // The ticket no longer links it (erased): the bytes go now.
        await store.dropAttachment(id);
        return null;
      }
      return { name: a.name, type: a.type, content: a.content };
    },
  };

  return {
    configured,
    routing: settings.mailOrgs.size > 0
      ? { has: (orgId) => settings.mailOrgs.has(orgId), mailOnly: (orgId) => settings.mailOrgs.has(orgId) && topology.orgs.get(orgId)?.queues === undefined, attempts: settings.attempts }
      : undefined,
    async start(deps, concurrency) {
      if (config.smtpUrl && config.from && !worker) {
        const sent = store.sent;
        sender = createMailSender({
          smtp: parseSmtpUrl(config.smtpUrl, process.env),
          sent,
          ignoreTLS: config.insecure,
          checks: {
            undeliverable: (address) => store.undeliverable(address),
            count: (recipient, ticketId, effectId, at) => store.count(recipient, ticketId, effectId, at, config.maxPerDay),
          },
        });
        worker = createMailWorker({ ...deps, topology, engine: o.engine, store, sender, deadLetters: o.deadLetters, from: { address: config.from }, backoff: settings.backoff, now: o.now }, concurrency);
      }
      if ((config.listen || config.imap.length > 0) && !inbound) {
        inbound = createMailIn({ topology, engine: o.engine, store, config, logger, now: o.now });
        await inbound.start();
      }
    },
    async stop() {
      await Promise.all([worker?.close(), inbound?.stop()]);
      sender?.close();
    },
    async metrics() {
      if (settings.mailOrgs.size === 0 && !configured) return '';
      const rows = await health();
      const bad = await store.listUndeliverable();
      const family = (name: string, type: string, help: string, value: (h: OrgMailHealth) => number | null) =>
        [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...rows.flatMap((h) => (value(h) === null ? [] : [`${name}{org="${h.orgId}"} ${value(h)}`]))].join('\n');
      return [
        family('lotse_mail_sent_total', 'counter', 'Mails sent to the organisation (accepted by the SMTP server)', (h) => h.sent),
        family('lotse_mail_received_total', 'counter', 'Mails taken from the organisation (listener and IMAP)', (h) => h.received),
        family('lotse_mail_queued', 'gauge', 'Mails to the organisation waiting to be sent or retried', (h) => h.queued),
        family('lotse_mail_failing', 'gauge', 'Sends to the organisation that failed since its last success', (h) => h.failing),
        family('lotse_mail_dead_lettered_total', 'counter', 'Mails to the organisation that became dead letters', (h) => h.deadLettered),
        family('lotse_mail_last_success_timestamp_seconds', 'gauge', 'When a mail to the organisation was last accepted by the SMTP server', (h) => (h.lastSentAt === null ? null : h.lastSentAt / 1000)),
        ['# HELP lotse_mail_undeliverable_addresses Addresses marked undeliverable after a permanent bounce (GET /v1/mail/undeliverable)', '# TYPE lotse_mail_undeliverable_addresses gauge', `lotse_mail_undeliverable_addresses ${bad.length}`].join('\n'),
      ].join('\n') + '\n';
    },
    view,
    get inbound() {
      return inbound;
    },
  };
}

