import { spawn } from 'node:child_process';

/**
 * The fault suite (`npm run test:faults`, test/faults/) at full size: real
 * processes killed, Redis restarted, frozen and cut off, a webhook down,
 * with LOTSE_FAULTS_TICKETS=5000 (and time enough to start them all) unless set. It takes far longer than the
 * other parts (BENCH_SKIP=faults leaves it out). Its counts come from the lines each scenario prints
 * (`fault counts {…}`), gathered into one table.
 */

export interface FaultsRun {
  rows: Record<string, unknown>[];
  exitCode: number;
  summary: string[];
  env: Record<string, string>;
}

export async function benchFaults(url: string): Promise<FaultsRun> {
  const env: Record<string, string> = {
    LOTSE_FAULTS_TICKETS: process.env.LOTSE_FAULTS_TICKETS ?? '5000',
    // Full size: every ticket started, not the CI run's two minutes of them; the bound on each scenario to match.
    LOTSE_FAULTS_KILL_S: process.env.LOTSE_FAULTS_KILL_S ?? '1200',
    LOTSE_FAULTS_TIMEOUT_S: process.env.LOTSE_FAULTS_TIMEOUT_S ?? '1800',
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('LOTSE_FAULTS_') && !['LOTSE_FAULTS_TICKETS', 'LOTSE_FAULTS_KILL_S', 'LOTSE_FAULTS_TIMEOUT_S'].includes(k)) as [string, string][]),
  };
  // BENCH_FAULTS_FILES: some scenario files only (a quick look), space-separated.
  const files = process.env.BENCH_FAULTS_FILES?.split(/\s+/).filter(Boolean) ?? [];
  const child = spawn('npx', ['vitest', 'run', '--config', 'vitest.faults.config.ts', ...files], {
    env: { ...process.env, ...env, REDIS_URL: url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (chunk: Buffer) => {
    out += chunk.toString('utf8');
    process.stderr.write(chunk);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exitCode = await new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
  const rows = [...plain.matchAll(/^\s*fault counts (\{.*\})\s*$/gm)].map((m) => JSON.parse(m[1]!) as Record<string, unknown>);
  const summary = plain.split('\n').filter((l) => /^\s*(Test Files|Tests|Duration)\s/.test(l)).map((l) => l.trim());
  return { rows, exitCode, summary, env };
}

/** One line per count, one column per scenario (as the suite's own table). */
export function reportFaults(f: FaultsRun): string[] {
  const lines = [`npm run test:faults with ${Object.entries(f.env).map(([k, v]) => `${k}=${v}`).join(' ')}: exit ${f.exitCode}`, ...f.summary.map((s) => `  ${s}`)];
  if (f.rows.length === 0) return [...lines, '  no scenario printed its counts'];
  const cell = (v: unknown) => (v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const columns = [...new Set(f.rows.flatMap((r) => Object.keys(r)))].filter((c) => c !== 'scenario');
  const names = f.rows.map((r) => cell(r.scenario));
  const keyWidth = Math.max(...columns.map((c) => c.length));
  const widths = f.rows.map((r, i) => Math.max(names[i]!.length, ...columns.map((c) => cell(r[c]).length)));
  const line = (k: string, vals: string[]) => `  ${k.padEnd(keyWidth)} | ${vals.map((v, i) => v.padStart(widths[i]!)).join(' | ')}`;
  const bad = f.rows.flatMap((r) => Object.entries(r).filter(([k, v]) => /^(lost|duplicate|repeated|unexplained|missed)/.test(k) && typeof v === 'number' && v > 0).map(([k, v]) => `${cell(r.scenario)} ${k}=${v}`));
  return [
    ...lines,
    line('', names),
    `  ${'-'.repeat(keyWidth)}-+-${widths.map((w) => '-'.repeat(w)).join('-+-')}`,
    ...columns.map((c) => line(c, f.rows.map((r) => cell(r[c])))),
    `  every lost*, duplicate*, repeated*, unexplained*, missed* count is 0: ${bad.length === 0 ? 'yes' : `no (${bad.join(', ')})`}`,
  ];
}
