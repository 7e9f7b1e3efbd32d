#!/usr/bin/env node
// `npm run build`: compile the TypeScript (tsconfig.build.json) and copy the
// files tsc does not emit, the dashboard's static assets, beside the code
// that serves them. An optional argument names another output folder
// (the fault suite runs its processes from a build of its own).
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = resolve(root, process.argv[2] ?? 'dist');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

// The folder is emptied first: only dist/ or a folder under .build/ may be named, never the sources.
const rel = relative(root, outDir);
if (rel !== 'dist' && !(rel.startsWith(`.build${sep}`) && !rel.split(sep).includes('..'))) {
  console.error(`build: the output folder must be dist or a folder under .build/, not ${outDir}`);
  process.exit(2);
}
rmSync(outDir, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir], { stdio: 'inherit' });
cpSync(join(root, 'src/dashboard/public'), join(outDir, 'src/dashboard/public'), { recursive: true });
