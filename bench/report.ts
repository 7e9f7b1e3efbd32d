import { loadavg } from 'node:os';

/** One part's figures, as printed when it finished and again in the report at the end. */
export interface Section {
  part: string;
  title: string;
  lines: string[];
  seconds: number;
  /** The 1-minute load average when the part started and when it ended: the machine is shared. */
  loadBefore: number;
  loadAfter: number;
}

export interface Part {
  name: string;
  title: string;
  /** Parts that take long run only when named in BENCH_ONLY. */
  byDefault: boolean;
  run(url: string): Promise<string[]>;
}

const heading = (s: Section) => `## ${s.title} (BENCH_ONLY=${s.part}; ${s.seconds.toFixed(0)} s, load ${s.loadBefore.toFixed(1)} → ${s.loadAfter.toFixed(1)})`;

export async function runPart(part: Part, url: string): Promise<Section> {
  const loadBefore = loadavg()[0]!;
  const t0 = performance.now();
  let lines: string[];
  try {
    lines = await part.run(url);
  } catch (err) {
    // One part failing (a colleague's suite not there yet) must not hide the others' figures.
    lines = [`FAILED: ${(err as Error).stack ?? String(err)}`];
  }
  const section: Section = { part: part.name, title: part.title, lines, seconds: (performance.now() - t0) / 1000, loadBefore, loadAfter: loadavg()[0]! };
  console.log(`${heading(section)}\n${lines.join('\n')}\n`);
  return section;
}

/** Every section's table together, so one screen holds the run. */
export function printReport(sections: Section[], totalSeconds: number): void {
  console.log(`# Report: every part of this run together (${totalSeconds.toFixed(0)} s in all, load now ${loadavg().map((l) => l.toFixed(1)).join(' ')})\n`);
  for (const s of sections) console.log(`${heading(s)}\n${s.lines.join('\n')}\n`);
}
