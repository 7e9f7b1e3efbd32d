/**
 * What the demo changes in the Lotse it starts itself, so that every panel
 * of the board has something to show within two minutes, at any hour:
 *
 * - a DEMO POLICY of short SLA clocks (minutes and hours, not days), never
 *   the default: `lotse start` keeps the topology's own policy;
 * - tickets a desk enters a little late, so their resolution clock is past
 *   its warning and not yet due on the holder's calendar (at risk, also at
 *   night), beside the ones entered days late (breached);
 * - a provider slow to confirm its handoffs (its simulator takes them in
 *   bursts, with a short receipt deadline), and one whose webhook endpoint
 *   fails (a local HTTP server the demo starts, answering 500 or dropping
 *   the connection), with few quick retries, so dead letters appear;
 * - a key prefix of its own (`lotse-demo`), which `lotse demo --clean` removes.
 *
 * With `--against` none of this applies: the running Lotse keeps its policy.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { businessMsBetween, parseBusinessDuration } from '../domain/business-time.js';
import type { Calendar } from '../domain/calendar.js';
import type { Topology, TopologyConfig } from '../domain/topology.js';
import { parseTopology } from '../config/topology-file.js';
import { seededRandom } from '../seeded-random.js';
import type { TicketDraft } from './generator.js';

/** The demo's own key prefix when LOTSE_PREFIX is not set. */
export const DEMO_PREFIX = 'lotse-demo';

/** A prefix `--clean` removes without `--force`: one that says it is a demo's. */
export const looksLikeDemoPrefix = (prefix: string) => /demo/i.test(prefix);

/**
 * THE DEMO POLICY: short clocks so warnings and breaches show within
 * minutes. Never a policy to run a service with.
 */
export const DEMO_SLA = {
  P1: { firstResponse: 'PT5M', resolution: 'PT30M', warnAt: 0.5, onBreach: 'escalate' },
  P2: { firstResponse: 'PT10M', resolution: 'PT1H', warnAt: 0.5, onBreach: 'escalate' },
  P3: { firstResponse: 'PT20M', resolution: 'PT2H', warnAt: 0.5, onBreach: 'notify' },
  P4: { firstResponse: 'PT30M', resolution: 'PT4H', warnAt: 0.5, onBreach: 'notify' },
} as const;

/** The provider that confirms late, and the one whose webhook fails, where the topology has them. */
export const SLOW_PROVIDER = 'dataport';
export const FAILING_PROVIDER = 'vendor-pq';
/** The slow provider's receipt deadline in the demo: business time, short enough to run out. */
export const SLOW_RECEIPT_DEADLINE = 'PT10M';
/** Only for the demo's failing endpoint: it never checks a signature. */
const DEMO_WEBHOOK_SECRET = `whsec_${Buffer.from('lotse-demo-webhook-secret-not-for-use').toString('base64')}`;

/** Few, quick retries for the demo's failing endpoint (unless the environment sets them): a dead letter within seconds. */
export const DEMO_WEBHOOK_ENV = { LOTSE_WEBHOOK_ATTEMPTS: '3', LOTSE_WEBHOOK_BACKOFF_MS: '1000', LOTSE_WEBHOOK_BACKOFF_CAP_MS: '4000', LOTSE_WEBHOOK_TIMEOUT_MS: '2000' } as const;

/** The topology with the demo policy, the slow provider's short receipt deadline and the failing provider's webhook. */
export function demoTopology(topology: Topology, webhookUrl: string | undefined): Topology {
  const config = structuredClone(topology.config) as TopologyConfig;
  const organisations = config.organisations.map((org) => {
    if (org.id === SLOW_PROVIDER) return { ...org, receiptDeadline: SLOW_RECEIPT_DEADLINE };
    if (org.id === FAILING_PROVIDER && webhookUrl && !org.webhook) return { ...org, webhook: { url: webhookUrl, secret: DEMO_WEBHOOK_SECRET } };
    return org;
  });
  return parseTopology({ ...config, organisations, sla: structuredClone(DEMO_SLA) }, 'demo topology');
}

/** A webhook endpoint that fails: most requests answer 500, every third connection is dropped without an answer. */
export async function startFailingEndpoint(): Promise<{ url: string; requests: () => number; close(): Promise<void> }> {
  let n = 0;
  const server: Server = createServer((req, res) => {
    n += 1;
    req.resume();
    if (n % 3 === 0) {
      req.socket.destroy();
      return;
    }
    res.writeHead(500, { 'content-type': 'text/plain' }).end('demo: this provider\'s endpoint is down\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/lotse-webhook`,
    requests: () => n,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const DAY_MS = 86_400_000;
/** Lotse takes a receivedAt at most 7 days back; a minute's margin. */
const MAX_BACK_MS = 7 * DAY_MS - 60_000;

/** The latest instant before `now` from which `targetMs` of the calendar's open time have passed by `now`; undefined past 7 days. */
export function backdateBusiness(cal: Calendar, now: number, targetMs: number): number | undefined {
  let lo = now - MAX_BACK_MS;
  let hi = now;
  if (businessMsBetween(cal, lo, now) < targetMs) return undefined;
  // businessMsBetween(cal, r, now) falls as r grows: the largest r that still gives targetMs.
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2);
    if (businessMsBetween(cal, mid, now) >= targetMs) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** The share of tickets a desk enters a little late, so they come in at risk. */
export const AT_RISK_SHARE = 1 / 6;

/**
 * When the request behind a draft came in: days back for the ones entered
 * late (they breach), so far back for some others that their resolution
 * clock on the desk's calendar is between its warning and its due time (at
 * risk, whatever the hour), now for the rest.
 */
export function demoReceivedAt(topology: Topology, seed: number, deskOf: (land: string) => string): (d: TicketDraft, now: number) => number {
  const random = seededRandom(seed ^ 0x5eed);
  return (d, now) => {
    if (d.enteredLateMs > 0) return now - d.enteredLateMs;
    const service = topology.services.get(d.service);
    // Only where the Land's desk holds the ticket at level 1: its calendar is the clock's.
    if (!service || service.levels['1'] !== 'land-desk' || d.category === 'subject-matter' || random() >= AT_RISK_SHARE) return now;
    const priority = topology.config.priorityMatrix[d.impact][d.urgency];
    const policy = topology.config.sla[priority];
    const { days, ms } = parseBusinessDuration(policy.levels?.['1']?.resolution ?? policy.resolution);
    if (days > 0) return now;
    const passed = ms * (policy.warnAt + (0.95 - policy.warnAt) * (0.3 + 0.7 * random()));
    return backdateBusiness(topology.calendarOf(deskOf(d.land)), now, passed) ?? now;
  };
}
