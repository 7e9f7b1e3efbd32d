/**
 * No file in the repository points to a file that is not in it. Scanned:
 * every markdown file (its links, with their #anchors, and every mention of
 * a repository path such as `src/…`, `test/…`, `docs/…`), and the comments
 * of the sources, tests, scripts and container files (mentions of a path).
 * Nothing is skipped: a path that moved fails here, listed with the file and
 * line that names it, so the test is the list of what to fix after a move.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;
/** Not the repository's own files: dependencies, builds, local data. */
const NOT_OURS = new Set(['node_modules', '.git', 'dist', '.build', '.lotse', 'scratch', 'coverage', 'test-artifacts']);
const CODE = /\.(ts|js|mjs|cjs)$/;
const HASH_COMMENTED = /(^|\/)(Dockerfile|run|[^/]+\.(ya?ml|sh))$/;

function repositoryFiles(dir = ROOT): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir)) {
    if (NOT_OURS.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files.push(...repositoryFiles(path));
    else files.push(relative(ROOT, path));
  }
  return files;
}

/** A mention of a path in the repository: a top-level folder, then path characters. */
const MENTION = /(?<![\w./@-])((?:\.ci|bench|bin|docker|docs|machines|scripts|shared|src|test|workers)\/[\w./-]*[\w-]|(?:[A-Z][A-Z_-]*\.md))(?![\w/<{*…-])/g;
const MD_LINK = /\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;

interface Pointer {
  file: string;
  line: number;
  target: string;
  /** Where the target is looked for: the repository root, or the pointing file's folder too. */
  from: string;
  anchor?: string;
}

/** The text of the comments of a source file, each line kept at its line number (the rest blanked). */
function commentsOf(source: string): string {
  let out = '';
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === '/' && next === '/') {
      const end = source.indexOf('\n', i);
      const stop = end < 0 ? source.length : end;
      out += source.slice(i, stop);
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end < 0 ? source.length : end + 2;
      out += source.slice(i, stop);
      i = stop;
    } else if (c === '"' || c === "'" || c === '`') {
      // Skip a string (template literals without nesting): paths in code are checked by the code's own tests.
      let j = i + 1;
      while (j < source.length && source[j] !== c) {
        if (source[j] === '\\') j++;
        else if (source[j] === '\n' && c !== '`') break;
        j++;
      }
      out += source.slice(i, j + 1).replace(/[^\n]/g, ' ');
      i = j + 1;
    } else {
      out += c === '\n' ? '\n' : ' ';
      i++;
    }
  }
  return out;
}

function hashComments(source: string): string {
  return source
    .split('\n')
    .map((line) => (/^\s*#/.test(line) ? line : line.includes(' # ') ? line.slice(line.indexOf(' # ')) : ''))
    .join('\n');
}

/** The links and path mentions of a file (in a source file, of its comments only). */
function pointersOf(file: string): Pointer[] {
  const source = readFileSync(join(ROOT, file), 'utf8');
  const isMarkdown = file.endsWith('.md');
  const text = isMarkdown ? source : CODE.test(file) ? commentsOf(source) : hashComments(source);
  const pointers: Pointer[] = [];
  text.split('\n').forEach((line, n) => {
    if (isMarkdown) {
      for (const m of line.matchAll(MD_LINK)) {
        const link = m[1]!;
        if (/^[a-z][a-z+.-]*:/i.test(link)) continue; // https:, mailto:
        const [path, anchor] = link.split('#') as [string, string | undefined];
        pointers.push({ file, line: n + 1, target: path === '' ? file : normalize(join(dirname(file), path)), from: 'root', anchor });
      }
    }
    for (const m of line.matchAll(MENTION)) pointers.push({ file, line: n + 1, target: m[1]!.replace(/\.$/, ''), from: dirname(file) });
  });
  return pointers;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(file: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of readFileSync(join(ROOT, file), 'utf8').split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const h = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (!h) continue;
    const base = slug(h[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

function brokenPointers(): string[] {
  const files = repositoryFiles().filter((f) => f.endsWith('.md') || CODE.test(f) || HASH_COMMENTED.test(f));
  const broken = new Set<string>();
  for (const p of files.flatMap(pointersOf)) {
    const candidates = p.from === 'root' ? [p.target] : [p.target, join(p.from, p.target)];
    // A compiled file's name (`src/cli.js` of a build) stands for its TypeScript source.
    const found = candidates.find((c) => existsSync(join(ROOT, c)) || (c.endsWith('.js') && existsSync(join(ROOT, c.replace(/\.js$/, '.ts')))));
    if (!found) broken.add(`${p.file}:${p.line} names ${p.target}, which is not in the repository`);
    else if (p.anchor && found.endsWith('.md') && !anchorsOf(found).has(p.anchor)) {
      broken.add(`${p.file}:${p.line} links to ${found}#${p.anchor}, a heading ${found} does not have`);
    }
  }
  return [...broken];
}

describe('pointers to files in the repository', () => {
  it('finds the mentions it is meant to find', () => {
    expect(pointersOf('README.md').length, 'the README links to docs/').toBeGreaterThan(0);
    const comment = commentsOf("const a = 'src/not-a-comment.ts'; // see docs/README.md\n/* and src/cli.ts */");
    expect([...comment.matchAll(MENTION)].map((m) => m[1])).toEqual(['docs/README.md', 'src/cli.ts']);
    expect(slug('`handoff-<orgId>`')).toBe('handoff-orgid');
    expect(slug("The ticket's events")).toBe('the-tickets-events');
    expect(slug('API keys (principals)')).toBe('api-keys-principals');
  });

  it('every link and path mention points to a file (and heading) that exists', () => {
    const broken = brokenPointers();
    expect(broken, `${broken.length} pointers to files that are not in the repository:\n${broken.join('\n')}\n`).toEqual([]);
  });
});
