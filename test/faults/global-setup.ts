import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { setup as setupRedis, teardown as teardownRedis } from '../helpers/global-setup.js';

let dir: string | undefined;

/** The suite's Redis (as for `npm test`) and a file the scenarios append their counts to; the table is printed at the end. */
export async function setup(project: TestProject): Promise<void> {
  await setupRedis(project);
  dir = mkdtempSync(join(tmpdir(), 'lotse-faults-report-'));
  project.provide('faultsReport', join(dir, 'counts.jsonl'));
}

export async function teardown(): Promise<void> {
  await teardownRedis();
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
  }
}
