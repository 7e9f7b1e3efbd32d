/**
 * The curl walk-through of the documents, run as written: every `sh` block of
 * the README's "Your first ticket" and of docs/guides/ticket-way.md, in order,
 * by a real shell with real curl and jq, against a real Lotse listening on a
 * free port (every worker role, as `npm start` runs them). Each block's answer
 * must be the one the document shows in the `json` or `text` block after it
 * (ticket ids and times aside), and each curl call must get the status
 * written down here. So the guide cannot drift from the API.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKER_ROLES } from '../../src/runtime.js';
import { createHarness, redisUrl, waitFor, type Harness } from '../helpers/harness.js';

const ROOT = new URL('../../', import.meta.url).pathname;
/** The address the documents use; each block runs with the test server's address in its place. */
const DOC_BASE = 'http://127.0.0.1:3000';

interface DocBlock {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  /** The answer the document shows right after the block. */
  expected?: { lang: string; text: string };
}

/**
 * The fenced blocks of a markdown file: each `sh` block with the `json` or
 * `text` block that follows it (before the next `sh` block). With `section`,
 * only the blocks under that `## ` heading.
 */
function shellBlocks(file: string, section?: string): DocBlock[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const fences: { lang: string; line: number; text: string }[] = [];
  let inSection = section === undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (section !== undefined && line.startsWith('## ')) inSection = line === `## ${section}`;
    const open = /^```(\w*)/.exec(line);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!);
    if (inSection) fences.push({ lang: open[1] ?? '', line: start + 1, text: body.join('\n') });
  }
  const blocks: DocBlock[] = [];
  for (const fence of fences) {
    if (fence.lang === 'sh') blocks.push({ file, line: fence.line, code: fence.text });
    else if ((fence.lang === 'json' || fence.lang === 'text') && blocks.length > 0 && !blocks.at(-1)!.expected) {
      blocks.at(-1)!.expected = { lang: fence.lang, text: fence.text };
    }
  }
  return blocks;
}

/** What changes from run to run: ticket ids (ULIDs with a T) and ISO times. */
function normalise(text: string): string {
  return text
    .replace(/\bT[0-9A-HJKMNP-TV-Z]{20}\b/g, '<ticket>')
    .replace(/\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\b/g, '<time>');
}

/** The JSON values written one after the other in a text (pretty-printed or one a line). */
function jsonValues(text: string): unknown[] {
  const values: unknown[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (i >= text.length) break;
    const start = i;
    let depth = 0;
    let inString = false;
    for (; i < text.length; i++) {
      const c = text[i]!;
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      } else if (depth === 0 && c === '\n') break;
    }
    values.push(JSON.parse(text.slice(start, i)));
  }
  return values;
}

function parsesAsJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

/** Compares what a block printed with what the document shows after it. */
function expectAnswer(block: DocBlock, stdout: string): void {
  const where = `${block.file}:${block.line}`;
  expect(block.expected, `${where}: an sh block of the walk-through shows its answer in a json or text block after it`).toBeDefined();
  const expected = normalise(block.expected!.text);
  const actual = normalise(stdout);
  if (block.expected!.lang === 'json') {
    expect(jsonValues(actual), `${where}: the answer differs from the document's\n${stdout}`).toEqual(jsonValues(expected));
    return;
  }
  const want = expected.trimEnd().split('\n');
  const got = actual.trimEnd().split('\n');
  expect(got.length, `${where}: the answer has ${got.length} lines, the document shows ${want.length}\n${stdout}`).toBe(want.length);
  want.forEach((line, n) => {
    if (parsesAsJson(line) && parsesAsJson(got[n]!)) expect(JSON.parse(got[n]!), `${where}, line ${n + 1}`).toEqual(JSON.parse(line));
    else expect(got[n], `${where}, line ${n + 1}`).toBe(line);
  });
}

/** Runs a block with bash; curl's `.curlrc` in `dir` writes each answer's status to stderr. */
function runBlock(code: string, dir: string, env: Record<string, string>): Promise<{ stdout: string; statuses: number[] }> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      ['-eo', 'pipefail', '-c', code],
      { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, CURL_HOME: dir, LANG: 'C.UTF-8', ...env }, timeout: 20_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`bash failed (${err.message}):\n${stdout}\n${stderr}`));
        else resolve({ stdout, statuses: [...stderr.matchAll(/<<HTTP (\d{3})>>/g)].map((m) => Number(m[1])) });
      },
    );
  });
}

/**
 * The status of every curl call of each block, in order. A block added to a
 * walk-through needs its line here, or the test says so.
 */
const STATUSES: Record<string, number[][]> = {
  'README.md': [
    [201], // create
    [200], // read
    [200], // ACCEPT
    [200], // history
  ],
  'docs/guides/ticket-way.md': [
    [200], // ESCALATE
    [200], // Dataport reads
    [200, 200], // Dataport accepts and resolves
    [409], // ESCALATE once resolved
    [200, 200], // CLOSE, history
    [404], // another Land's desk
    [200], // the list
  ],
};

const WALK = [...shellBlocks('README.md', 'Your first ticket'), ...shellBlocks('docs/guides/ticket-way.md')];

describe('the documents\' curl walk-through', () => {
  let harness: Harness;
  let base: string;
  let dir: string;
  const env: Record<string, string> = {};

  beforeAll(async () => {
    for (const tool of ['curl', 'jq']) {
      try {
        execFileSync(tool, ['--version'], { stdio: 'ignore' });
      } catch {
        throw new Error(`the walk-through needs ${tool} (Debian: apt install ${tool})`);
      }
    }
    harness = await createHarness({ roles: [...WORKER_ROLES] });
    const app = await harness.app();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    base = `http://127.0.0.1:${address.port}`;
    // A newcomer waits for `npm start` to come up; here: until every worker role answers.
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, { timeoutMs: 20_000, what: 'readyz' });
    dir = mkdtempSync(join(tmpdir(), 'lotse-walk-'));
    writeFileSync(join(dir, '.curlrc'), 'write-out = "%{stderr}<<HTTP %{http_code}>>\\n"\n');
    env.LOTSE = base;
  });

  afterAll(async () => {
    await harness?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has the blocks the statuses are written for', () => {
    for (const [file, statuses] of Object.entries(STATUSES)) {
      expect(WALK.filter((b) => b.file === file).length, `sh blocks of ${file}`).toBe(statuses.length);
    }
  });

  const seen: Record<string, number> = {};
  for (const block of WALK) {
    const index = (seen[block.file] = (seen[block.file] ?? -1) + 1);
    it(`${block.file}:${block.line} answers as the document shows`, async () => {
      const code = block.code.replaceAll(DOC_BASE, base);
      const { stdout, statuses } = await runBlock(code, dir, env);
      expect(statuses, `${block.file}:${block.line}: the status of each curl call`).toEqual(STATUSES[block.file]?.[index]);
      expectAnswer(block, stdout);
      // The first block keeps the new ticket in ticket.json and sets ID from it; later blocks get ID as it did.
      if (existsSync(join(dir, 'ticket.json'))) env.ID = (JSON.parse(readFileSync(join(dir, 'ticket.json'), 'utf8')) as { id: string }).id;
      if (/"type": "ESCALATE", "reason": "Fehler 500/.test(block.code)) {
        // The relay (a worker) carries the handoff to Dataport's queue after the commit: wait for the job the guide names.
        const queue = new Queue(`handoff-dataport`, { connection: { url: redisUrl() }, prefix: harness.prefix });
        try {
          const job = await waitFor(async () => (await queue.getJobs(['waiting', 'active', 'completed', 'delayed'])).find((j) => j.data?.subject === env.ID), { what: 'the handoff job on handoff-dataport' });
          expect(job.data).toMatchObject({ type: 'lotse.ticket.handoff.requested', subject: env.ID });
        } finally {
          await queue.close();
        }
      }
    }, 30_000);
  }
});
