import { benchIntake } from './intake.js';
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
    const intake = await benchIntake(redis.url, { n, rounds: Number(process.env.BENCH_ROUNDS ?? 3) });
    console.log('## Intake');
    console.log(`raw BullMQ no-op jobs/s        ${intake.rawJobsPerSecond.toFixed(0)}`);
    console.log(`tickets created/s via intake   ${intake.ticketsPerSecond.toFixed(0)}`);
    console.log(`ratio (target >= 0.5)          ${intake.ratio.toFixed(2)}`);
    console.log(`Redis commands per ticket      ${intake.commandsPerTicket.toFixed(1)} (raw BullMQ job: ${intake.commandsPerRawJob.toFixed(1)})`);
    console.log(`  most called per ticket: ${intake.top}\n`);
  } finally {
    await redis.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
