/**
 * Mail (issue 17): mails out and in per second through a local Postfix and
 * Dovecot (test/helpers/mail-servers.ts: needs them installed and root),
 * and the time from a handoff's commit to its mail in the vendor's Maildir,
 * each beside the raw thing in the same run: a raw SMTP send of the same
 * message into the same mailbox, and raw mail through Postfix into a
 * Dovecot mailbox.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createTransport } from 'nodemailer';
import { loadConfig } from '../src/config/env.js';
import type { Principal } from '../src/domain/access.js';
import { createLogger } from '../src/logger.js';
import { renderMail } from '../src/mail/render.js';
import { composeHandoffMail } from '../src/mail/compose.js';
import { createRuntime } from '../src/runtime.js';
import { LOTSE_FROM, mailEnv, mailTopology, VENDOR } from '../test/helpers/mail-exchange.js';
import { startMailServers, type MailServers } from '../test/helpers/mail-servers.js';
import { median, pool, until } from './support.js';

export interface MailBench {
  n: number;
  rawOutPerSecond: number;
  lotseOutPerSecond: number;
  rawInPerSecond: number;
  lotseInPerSecond: number;
  rawLatencyMs: number;
  lotseLatencyMs: number;
}

const DESK: Principal = { orgId: 'desk-HB', role: 'desk', land: 'HB' };
const body = (i: number) => ({
  externalRef: `bench-mail-${i}-${randomBytes(3).toString('hex')}`, channel: 'phone-115', land: 'HB', service: 'lieferantencockpit', category: 'technical',
  impact: 'medium', urgency: 'medium', subject: `Benchmark ${i}`, description: 'Ein Vorgang für die Messung.',
});

/** The tickets whose `[Lotse#…]` mails are in the vendor's mailbox (each file read once). */
const seenFiles = new Map<string, string | null>();
function ticketsIn(servers: MailServers): Set<string> {
  for (const f of servers.maildir('support')) {
    if (!seenFiles.has(f)) seenFiles.set(f, /Lotse#(T[0-9A-Z]{20})/.exec(readFileSync(f, 'latin1'))?.[1] ?? null);
  }
  return new Set([...seenFiles.values()].filter((v): v is string => v !== null));
}

const heads = new Map<string, string>();
const tagsIn = (servers: MailServers, user: 'support' | 'lotse', prefix: string) =>
  servers.maildir(user).filter((f) => {
    if (!heads.has(f)) heads.set(f, readFileSync(f, 'latin1').slice(0, 4000));
    return heads.get(f)!.includes(prefix);
  }).length;

export async function benchMail(url: string, o: { n: number; latencies: number }): Promise<MailBench> {
  const servers = await startMailServers();
  const topology = mailTopology();
  const prefix = `bm${randomBytes(4).toString('hex')}`;
  const runtime = await createRuntime({
    config: loadConfig({ LOTSE_PREFIX: prefix, LOG_LEVEL: 'silent' }),
    redisUrl: url,
    topology,
    logger: createLogger('silent'),
    env: mailEnv(servers, { LOTSE_MAIL_MAX_PER_DAY: '1000' }),
  });
  const smtp = createTransport({ host: '127.0.0.1', port: servers.smtpPort, secure: false, ignoreTLS: true, pool: true, maxConnections: 8 });
  try {
    await runtime.startWorkers(['relay', 'mail']);
    // Raw out: the same handoff mail, rendered, sent n times straight to Postfix.
    const runTag = randomBytes(4).toString('hex');
    const rawOut = async (i: number, tag: string) => {
      const mail = composeHandoffMail({ effectId: `raw-${tag}-${i}`, at: new Date().toISOString(), ticket: rawTicket(`${tag}-${i}`), personalData: false, recipient: { orgId: 'vendor-lc', address: VENDOR }, sender: { address: LOTSE_FROM }, thread: [] });
      await smtp.sendMail({ envelope: mail.envelope, raw: await renderMail(mail) });
    };
    let t0 = performance.now();
    await pool(o.n, 8, (i) => rawOut(i, `o${runTag}`));
    await until(() => tagsIn(servers, 'support', `RAW-o${runTag}`) >= o.n, 'raw mails in the vendor mailbox');
    const rawOutPerSecond = o.n / ((performance.now() - t0) / 1000);

    // Lotse out: n handoffs committed; the relay and the mail worker send them.
    t0 = performance.now();
    const ids: string[] = [];
    await pool(o.n, 8, async (i) => ids.push((await runtime.engine.createTicket(DESK, body(i))).record.id));
    await until(() => { const got = ticketsIn(servers); return ids.every((id) => got.has(id)); }, 'every handoff mail delivered', 50);
    const lotseOutPerSecond = o.n / ((performance.now() - t0) / 1000);

    // Commit to mailbox, one at a time, beside a raw send to mailbox.
    const rawLat: number[] = [];
    const lotseLat: number[] = [];
    for (let i = 0; i < o.latencies; i++) {
      const tag = `l${runTag}${i}`;
      let s = performance.now();
      await rawOut(0, tag);
      await until(() => tagsIn(servers, 'support', `RAW-${tag}`) >= 1, 'raw mail', 2);
      rawLat.push(performance.now() - s);
      s = performance.now();
      const { record } = await runtime.engine.createTicket(DESK, body(1000 + i));
      await until(() => ticketsIn(servers).has(record.id), 'handoff mail', 2);
      lotseLat.push(performance.now() - s);
    }

    // Raw in: n mails through Postfix into Lotse's Dovecot mailbox.
    t0 = performance.now();
    await pool(o.n, 8, (i) => smtp.sendMail({ from: VENDOR, to: 'lotse@lotse.test', subject: `RAW-i${runTag} ${i}`, text: 'Angenommen.' }));
    await until(() => servers.maildir('lotse').length >= o.n, 'raw mails in the Dovecot mailbox');
    const rawInPerSecond = o.n / ((performance.now() - t0) / 1000);

    // Lotse in: n vendor replies through Postfix to Lotse's listener; each is a receipt (ACCEPT) committed once.
    t0 = performance.now();
    await pool(o.n, 8, (i) => smtp.sendMail({ from: VENDOR, to: LOTSE_FROM, subject: `Re: [Lotse#${ids[i]!}] Übergabe`, text: 'Angenommen.' }));
    await until(async () => {
      const views = await Promise.all(ids.map(async (id) => runtime.engine.view('system', (await runtime.engine.findTicket(id))!).status));
      return views.every((s) => s === 'open');
    }, 'every reply taken as a receipt', 50);
    const lotseInPerSecond = o.n / ((performance.now() - t0) / 1000);

    return { n: o.n, rawOutPerSecond, lotseOutPerSecond, rawInPerSecond, lotseInPerSecond, rawLatencyMs: median(rawLat), lotseLatencyMs: median(lotseLat) };
  } finally {
    smtp.close();
    await runtime.close();
    await servers.stop();
  }
}

function rawTicket(tag: string) {
  return {
    id: 'T01KBX7Q9M2V8C4N6P0R3', externalRef: 'x', version: 1, land: 'HB', service: 'lieferantencockpit', themeField: 'unternehmensfuehrung',
    channel: 'phone-115', category: 'technical', impact: 'medium', urgency: 'medium', priority: 'P3', subject: `RAW-${tag}`, description: 'Ein Vorgang für die Messung.',
    attachments: [], level: 1, status: 'handoff-pending', state: 'level1.handoffPending', assignee: 'vendor-lc', createdBy: 'desk-HB', handledBy: ['desk-HB'],
    sla: { firstResponseDueAt: null, resolutionDueAt: null, paused: false, warnings: [], breaches: [] },
    receivedAt: new Date().toISOString(), createdAt: new Date().toISOString(), updatedAt: new Date().toISOString(), resolvedAt: null, closedAt: null,
  } as never;
}

export function reportMail(m: MailBench): string[] {
  return [
    `mails out/s, ${m.n} handoffs       Lotse ${m.lotseOutPerSecond.toFixed(0)}, raw SMTP send of the same mail ${m.rawOutPerSecond.toFixed(0)} (ratio ${(m.lotseOutPerSecond / m.rawOutPerSecond).toFixed(2)})`,
    `mails in/s, ${m.n} replies         Lotse (listener to receipt committed) ${m.lotseInPerSecond.toFixed(0)}, raw Postfix to Dovecot ${m.rawInPerSecond.toFixed(0)} (ratio ${(m.lotseInPerSecond / m.rawInPerSecond).toFixed(2)})`,
    `commit to vendor mailbox, p50   Lotse ${m.lotseLatencyMs.toFixed(0)} ms, raw SMTP send to mailbox ${m.rawLatencyMs.toFixed(0)} ms`,
  ];
}
