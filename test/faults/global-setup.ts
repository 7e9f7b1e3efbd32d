import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { setup as setupRedis, teardown as teardownRedis } from '../helpers/global-setup.js';

let dir: string | undefined;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The suite's own build of Lotse, inside the checkout so that it finds node_modules; one per run, so two runs in one checkout keep theirs. */
const BUILD = join(ROOT, `.build/faults-${process.pid}`);

/**
 * The suite's Redis (as for `npm test`), a build of Lotse that every
 * scenario's processes run from, and a file the scenarios append their
 * counts to; the table is printed at the end.
 *
 * The processes run compiled JavaScript, as the Docker image does: a worker
 * starts in about a second instead of two through tsx (several times that on
 * loaded cores), so the kills can come every one or two seconds and still
 * find successors running.
 */
export async function setup(project: TestProject): Promise<void> {
  await setupRedis(project);
  dir = mkdtempSync(join(tmpdir(), 'lotse-faults-report-'));
  project.provide('faultsReport', join(dir, 'counts.jsonl'));
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.js'), BUILD], { cwd: ROOT, stdio: 'inherit' });
  project.provide('faultsBuild', BUILD);
}

export async function teardown(): Promise<void> {
  await teardownRedis();
  rmSync(BUILD, { recursive: true, force: true });
  if (!dir) return;
  let rows: Record<string, unknown>[] = [];
  try {
    rows = readFileSync(join(dir, 'counts.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  } catch {
    // no scenario ran
  }
  rmSync(dir, { recursive: true, force: true });
  if (rows.length === 0) return;
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => (v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  // Transposed: one line per count, one column per scenario, so the table fits a terminal.
  const scenarios = rows.map((r) => cell(r.scenario));
  const keyWidth = Math.max(...columns.map((c) => c.length));
  const colWidth = rows.map((r, i) => Math.max(scenarios[i]!.length, ...columns.map((c) => cell(r[c]).length)));
  const line = (k: string, vals: string[]) => `${k.padEnd(keyWidth)} | ${vals.map((v, i) => v.padStart(colWidth[i]!)).join(' | ')}`;
  const out = [line('', scenarios), `${'-'.repeat(keyWidth)}-+-${colWidth.map((w) => '-'.repeat(w)).join('-+-')}`];
  for (const c of columns) if (c !== 'scenario') out.push(line(c, rows.map((r) => cell(r[c]))));
  console.log(`\nFault suite counts (every lost*, duplicate*, repeated*, unexplained*, missed* must be 0):\n${out.join('\n')}\n`);
}

declare module 'vitest' {
  export interface ProvidedContext {
    faultsReport: string;
    /** The folder of the suite's build (scripts/build.js): its processes run `<it>/src/cli.js`. */
    faultsBuild: string;
  }
}
