#!/usr/bin/env node
// The `lotse` command. A built package (npm run build, the Docker image) runs
// the compiled dist/; a checkout without a build runs the TypeScript sources
// through tsx, which is a runtime dependency for exactly this reason.
import { existsSync } from 'node:fs';

const built = new URL('../dist/src/cli.js', import.meta.url);

if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli.ts', import.meta.url).href);
}
