import { benchHandoff } from './handoff.js';
import { benchIntake } from './intake.js';
import { benchSla } from './sla.js';
import { benchRedis } from './redis.js';
import { printReport, runPart, type Part, type Section } from './report.js';
import { benchStats, reportStats } from './stats.js';
import { benchStream, reportStream } from './stream.js';
import { benchDashboard, reportDashboard } from './dashboard.js';
import { benchCeiling, reportCeiling } from './ceiling.js';
import { benchFaults, reportFaults } from './faults.js';
import { benchBacklog, reportBacklog } from './backlog.js';
import { benchConsole, reportConsole } from './console.js';
import { benchMail, reportMail } from './mail.js';
import { benchCpu, reportCpu, type CpuMix } from './cpu.js';
import { benchPartitions, reportPartitions } from './partitions.js';
import { benchSteps, reportSteps } from './steps.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

async function intakeLines(url: string): Promise<string[]> {
  const intake = await benchIntake(url, { n: env('BENCH_N', 2000), rounds: env('BENCH_ROUNDS', 3) });
  const floorName = { machine: 'BullMQ job + initialTransition', commit: '  + one Lua write of the ticket', timer: '  + its SLA timer job (in bulk)' } as const;
  return [
    `raw BullMQ no-op jobs/s        ${intake.rawJobsPerSecond.toFixed(0)}`,
    `tickets created/s via intake   ${intake.ticketsPerSecond.toFixed(0)}`,
    `ratio (target >= 0.5)          ${intake.ratio.toFixed(2)}`,
    `ratio to the floor with its timer (target >= 0.8)  ${intake.ratioToFloor.toFixed(2)} (median of the rounds: ${intake.ratiosToFloor.map((r) => r.toFixed(2)).join(', ')})`,
    `CPU ms per job, Node + Redis    Lotse ${intake.cpu.lotse.nodeMs.toFixed(3)} + ${intake.cpu.lotse.redisMs.toFixed(3)}, floor with its timer ${intake.cpu.floor.nodeMs.toFixed(3)} + ${intake.cpu.floor.redisMs.toFixed(3)}, raw job ${intake.cpu.raw.nodeMs.toFixed(3)} + ${intake.cpu.raw.redisMs.toFixed(3)}`,
    `floor's CPU / Lotse's CPU      ${intake.cpuRatioToFloor.toFixed(2)} (what the ratio to the floor would be on an idle machine if CPU were all)`,
    `the floor of a creation (bench/intake-floor.ts), jobs/s and ratio to raw:`,
    ...intake.floor.map((f) => `  ${floorName[f.stage].padEnd(32)} ${f.perSecond.toFixed(0).padStart(6)}  ${f.ratio.toFixed(2)}`),
    `Redis commands per ticket      ${intake.commandsPerTicket.toFixed(1)} (raw BullMQ job: ${intake.commandsPerRawJob.toFixed(1)})`,
    `  most called per ticket: ${intake.top}`,
  ];
}

async function slaLines(url: string): Promise<string[]> {
  const sla = await benchSla(url, { background: env('BENCH_TIMERS', 100_000), measured: env('BENCH_MEASURED', 300) });
  return [
    `open tickets with armed timers ${sla.armed} (created in ${sla.fillSeconds.toFixed(0)} s)`,
    `breach lateness p50 / p99 / max  Lotse ${sla.lotse.p50} / ${sla.lotse.p99} / ${sla.lotse.max} ms, raw BullMQ ${sla.raw.p50} / ${sla.raw.p99} / ${sla.raw.max} ms`,
    `p99 within raw p99 + 20 ms     ${sla.lotse.p99 <= sla.raw.p99 + 20 ? 'yes' : 'no'}`,
    `Redis memory per open ticket   ${(sla.bytesPerTicket / 1024).toFixed(2)} KiB raw used_memory delta (target <= 4 KiB)`,
    `  of which backlog jobs waiting  ${(sla.backlogBytesPerTicket / 1024).toFixed(2)} KiB (${sla.observeJobs} observe jobs: no backlog worker runs in this bench)`,
    `  without them                   ${((sla.bytesPerTicket - sla.backlogBytesPerTicket) / 1024).toFixed(2)} KiB (target <= 4 KiB: ${sla.bytesPerTicket - sla.backlogBytesPerTicket <= 4096 ? 'met' : 'missed'})`,
  ];
}

async function handoffLines(url: string): Promise<string[]> {
  const kitConcurrency = process.env.BENCH_KIT_CONCURRENCY ? Number(process.env.BENCH_KIT_CONCURRENCY) : undefined;
  const handoff = await benchHandoff(url, { n: Math.min(env('BENCH_N', 2000), 1000), rounds: env('BENCH_ROUNDS', 3), lifecycles: 200, ...(kitConcurrency ? { kitConcurrency } : {}) });
  const lines = [
    `raw BullMQ round trips/s (A adds B)  ${handoff.rawRoundTripsPerSecond.toFixed(0)}`,
    `raw BullMQ job: Redis commands       ${handoff.commandsPerRawJob.toFixed(1)}`,
  ];
  for (const r of handoff.routes) {
    lines.push(
      `kit answering ${r.route === 'http' ? 'over HTTP         ' : 'on the events queue'}`,
      `  handoffs/s, ESCALATE to receipt   ${r.handoffsPerSecond.toFixed(0)} (ratio ${r.ratio.toFixed(2)})`,
      `  Redis commands per lifecycle      ${r.commandsPerLifecycle.toFixed(1)}`,
      `  lifecycle / raw job (target <= 4) ${r.lifecycleRatio.toFixed(2)}`,
      `  most called per lifecycle: ${r.top}`,
    );
  }
  return lines;
}

/** Every part, in the order `npm run bench` runs them; BENCH_ONLY=a,b picks some, BENCH_SKIP=a,b leaves some out. */
const PARTS: Part[] = [
  { name: 'ceiling', title: 'The machine\'s ceiling (issue 11)', byDefault: true, run: async (url) => reportCeiling(await benchCeiling(url, { n: env('BENCH_CEILING_N', 200_000) })) },
  { name: 'intake', title: 'Intake (issue 2)', byDefault: true, run: intakeLines },
  { name: 'sla', title: 'SLA timers (issue 3)', byDefault: true, run: slaLines },
  { name: 'handoff', title: 'Handoffs to a provider, the provider kit (issue 4)', byDefault: true, run: handoffLines },
  {
    name: 'stats', title: 'GET /v1/stats at few and many tickets (issue 10)', byDefault: true,
    run: async (url) => reportStats(await benchStats(url, { small: env('BENCH_STATS_SMALL', 10_000), large: env('BENCH_STATS_LARGE', 200_000), requests: env('BENCH_STATS_REQUESTS', 500) })),
  },
  { name: 'dashboard', title: 'The dashboard\'s first load in bytes (issue 10)', byDefault: true, run: async (url) => reportDashboard(await benchDashboard(url)) },
  {
    name: 'stream', title: 'GET /v1/stream: commit to 50 SSE clients (issue 10)', byDefault: true,
    run: async (url) => reportStream(await benchStream(url, { clients: env('BENCH_STREAM_CLIENTS', 50), rate: env('BENCH_STREAM_RATE', 500), seconds: env('BENCH_STREAM_SECONDS', 10) })),
  },
  {
    name: 'backlog', title: 'Backlog suggestions at 1,000 and 10,000 items (issue 9)', byDefault: true,
    run: async (url) => reportBacklog(await benchBacklog(url, { small: env('BENCH_BACKLOG_SMALL', 1000), large: env('BENCH_BACKLOG_LARGE', 10_000), suggestions: env('BENCH_BACKLOG_SUGGESTIONS', 300), rounds: env('BENCH_BACKLOG_ROUNDS', 3) })),
  },
  {
    name: 'console', title: 'The console in a browser: the ticket page beside the board at many tickets (issue 16)', byDefault: true,
    run: async (url) => reportConsole(await benchConsole(url, { tickets: env('BENCH_CONSOLE_TICKETS', 200_000), rounds: env('BENCH_CONSOLE_ROUNDS', 5) })),
  },
  // Needs Postfix and Dovecot installed and root (as in CI).
  { name: 'mail', title: 'Mail through a local Postfix and Dovecot (issue 17)', byDefault: true, run: async (url) => reportMail(await benchMail(url, { n: env('BENCH_MAIL_N', 500), latencies: env('BENCH_MAIL_LATENCIES', 20) })) },
  {
    name: 'cpu', title: 'CPU-seconds per 1,000 tickets created over HTTP, background work included (issue 19)', byDefault: true,
    run: async (url) => {
      const o = { n: env('BENCH_CPU_N', 1000), quietMs: env('BENCH_CPU_QUIET_MS', 10_000), warmup: env('BENCH_CPU_WARMUP', 500) };
      const mixes = (process.env.BENCH_CPU_MIXES ?? 'varied,one-problem').split(',').filter((m): m is CpuMix => m === 'varied' || m === 'one-problem');
      const runs = [];
      for (const mix of mixes) runs.push(await benchCpu(url, { ...o, mix }));
      return reportCpu(runs);
    },
  },
  {
    // Starts its own local Redis Cluster (three masters, from the redis-server binary), fresh for each partition count: the bench's Redis is not used.
    name: 'partitions', title: 'Partitions on a Redis Cluster of three masters: Redis CPU per master at LOTSE_PARTITIONS=1 and 3 (issue 19)', byDefault: true,
    run: async () => reportPartitions(await benchPartitions({ n: env('BENCH_PARTITIONS_N', 2000), counts: [1, 3], idleMs: env('BENCH_PARTITIONS_IDLE_MS', 5000), mixes: ['question', 'technical'] })),
  },
  { name: 'steps', title: 'Where a ticket\'s CPU goes, step by step (issue 19)', byDefault: true, run: async (url) => reportSteps(await benchSteps(url, { n: env('BENCH_STEPS_N', 2000) })) },
  // The longest part (15 minutes and more at full size): BENCH_SKIP=faults leaves it out.
  { name: 'faults', title: 'The fault suite at full size (issue 11)', byDefault: true, run: async (url) => reportFaults(await benchFaults(url)) },
];

/**
 * `npm run bench`: Lotse against raw BullMQ (or raw Redis) on the same Redis
 * in the same run, reported as ratios, since the machines it runs on are
 * shared and noisy; every section again in one report at the end.
 */
async function main() {
  const redis = await benchRedis();
  console.log(`# Lotse benchmarks (${new Date().toISOString()}, node ${process.version}, redis ${redis.private ? 'private ' : ''}${redis.url})\n`);
  const names = (variable: string) => {
    const list = process.env[variable]?.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = list?.filter((name) => !PARTS.some((p) => p.name === name)) ?? [];
    if (unknown.length > 0) throw new Error(`${variable} names no part: ${unknown.join(', ')}; parts: ${PARTS.map((p) => p.name).join(', ')}`);
    return list;
  };
  const only = names('BENCH_ONLY');
  const skip = names('BENCH_SKIP') ?? [];
  const t0 = performance.now();
  const sections: Section[] = [];
  try {
    for (const part of PARTS) if ((only ? only.includes(part.name) : part.byDefault) && !skip.includes(part.name)) sections.push(await runPart(part, redis.url));
  } finally {
    await redis.stop();
  }
  printReport(sections, (performance.now() - t0) / 1000);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
