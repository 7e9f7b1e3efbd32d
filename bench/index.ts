import { benchHandoff } from './handoff.js';
import { benchIntake } from './intake.js';
import { benchSla } from './sla.js';
import { benchRedis } from './redis.js';

/**
 * `npm run bench`: Lotse against raw BullMQ on the same Redis in the same run,
 * reported as ratios, since the machines it runs on are shared and noisy.
 */
async function main() {
  const redis = await benchRedis();
  console.log(`# Lotse benchmarks (${new Date().toISOString()}, node ${process.version}, redis ${redis.private ? 'private ' : ''}${redis.url})\n`);
  try {
    const n = Number(process.env.BENCH_N ?? 2000);
    const only = process.env.BENCH_ONLY?.split(',');
    const runs = (part: string) => !only || only.includes(part);
    if (runs('intake')) {
    const intake = await benchIntake(redis.url, { n, rounds: Number(process.env.BENCH_ROUNDS ?? 3) });
    console.log('## Intake');
    console.log(`raw BullMQ no-op jobs/s        ${intake.rawJobsPerSecond.toFixed(0)}`);
    console.log(`tickets created/s via intake   ${intake.ticketsPerSecond.toFixed(0)}`);
    console.log(`ratio (target >= 0.5)          ${intake.ratio.toFixed(2)}`);
    console.log(`the floor of a creation (bench/intake-floor.ts), jobs/s and ratio to raw:`);
    const floorName = { machine: 'BullMQ job + initialTransition', commit: '  + one Lua write of the ticket', timer: '  + its SLA timer job (in bulk)' } as const;
    for (const f of intake.floor) console.log(`  ${floorName[f.stage].padEnd(32)} ${f.perSecond.toFixed(0).padStart(6)}  ${f.ratio.toFixed(2)}`);
    console.log(`Redis commands per ticket      ${intake.commandsPerTicket.toFixed(1)} (raw BullMQ job: ${intake.commandsPerRawJob.toFixed(1)})`);
    console.log(`  most called per ticket: ${intake.top}\n`);
    }
    if (runs('sla')) {

    const background = Number(process.env.BENCH_TIMERS ?? 100_000);
    const sla = await benchSla(redis.url, { background, measured: Number(process.env.BENCH_MEASURED ?? 300) });
    console.log('## SLA timers');
    console.log(`open tickets with armed timers ${sla.armed} (created in ${sla.fillSeconds.toFixed(0)} s)`);
    console.log(`breach lateness p50 / p99 / max  Lotse ${sla.lotse.p50} / ${sla.lotse.p99} / ${sla.lotse.max} ms, raw BullMQ ${sla.raw.p50} / ${sla.raw.p99} / ${sla.raw.max} ms`);
    console.log(`p99 within raw p99 + 20 ms     ${sla.lotse.p99 <= sla.raw.p99 + 20 ? 'yes' : 'no'}`);
    console.log(`Redis memory per open ticket   ${(sla.bytesPerTicket / 1024).toFixed(2)} KiB (target <= 4 KiB)\n`);
    }
    if (runs('handoff')) {

    const kitConcurrency = process.env.BENCH_KIT_CONCURRENCY ? Number(process.env.BENCH_KIT_CONCURRENCY) : undefined;
    const handoff = await benchHandoff(redis.url, { n: Math.min(n, 1000), rounds: Number(process.env.BENCH_ROUNDS ?? 3), lifecycles: 200, ...(kitConcurrency ? { kitConcurrency } : {}) });
    console.log('## Handoffs to a provider (the provider kit)');
    console.log(`raw BullMQ round trips/s (A adds B)  ${handoff.rawRoundTripsPerSecond.toFixed(0)}`);
    console.log(`raw BullMQ job: Redis commands       ${handoff.commandsPerRawJob.toFixed(1)}`);
    for (const r of handoff.routes) {
      console.log(`kit answering ${r.route === 'http' ? 'over HTTP         ' : 'on the events queue'}`);
      console.log(`  handoffs/s, ESCALATE to receipt   ${r.handoffsPerSecond.toFixed(0)} (ratio ${r.ratio.toFixed(2)})`);
      console.log(`  Redis commands per lifecycle      ${r.commandsPerLifecycle.toFixed(1)}`);
      console.log(`  lifecycle / raw job (target <= 4) ${r.lifecycleRatio.toFixed(2)}`);
      console.log(`  most called per lifecycle: ${r.top}`);
    }
    console.log('');
    }
  } finally {
    await redis.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
