// @ts-check
import tseslint from 'typescript-eslint';

/**
 * The house, bottom first. A file may import its own layer and the layers of
 * a LOWER rank, nothing of its rank or above: two layers of one rank do not
 * import each other. The import rules below are generated from this table,
 * and test/unit/layering-lint.test.ts proves they catch a violation.
 *
 * | rank | layer     | paths                                                                  |
 * | ---- | --------- | ---------------------------------------------------------------------- |
 * | 0    | domain    | src/domain/ (pure: zod, date-holidays)                                 |
 * | 1    | backlog   | src/backlog/ (pure text)                                               |
 * | 1    | kernel    | src/errors.ts, src/failpoints.ts, src/logger.ts, src/package-version.ts, src/seeded-random.ts |
 * | 2    | config    | src/config/                                                            |
 * | 3    | store     | src/store/ (owns the RedisClient type)                                 |
 * | 4    | queue     | src/queue/ (may use the store's client type; the store never the queue) |
 * | 5    | webhooks  | src/webhooks/                                                          |
 * | 5    | mail      | src/mail/ (mail at the edge; workers/mail*.ts run it)                  |
 * | 5    | connectors| src/connectors/ (other ticket systems: the interface, Request Tracker) |
 * | 6    | machines  | machines/ (pure; import only xstate, zod and src/domain)               |
 * | 7    | engine    | src/engine/                                                            |
 * | 8    | metrics   | src/metrics/                                                           |
 * | 8    | provider  | src/provider/ (the provider kit)                                       |
 * | 9    | http      | src/http/                                                              |
 * | 10   | dashboard | src/dashboard/ (mounts itself on the app; HTTP never imports it)       |
 * | 11   | workers   | workers/                                                               |
 * | 12   | wiring    | src/runtime.ts, src/embedded-redis.ts, src/redis-check.ts              |
 * | 13   | demo      | src/demo/                                                              |
 * | 14   | entry     | src/cli.ts, src/index.ts                                               |
 *
 * The machines are the engine's: they sit right below it, so nothing under
 * the engine (the queue's job schemas, the store, the domain) imports them,
 * and `only` narrows what they themselves import to the domain.
 * A path ending in `/` is a folder; the others are single files.
 */

/** @typedef {{ rank: number, name: string, paths: string[], only?: string[] }} Layer */
/** @typedef {{ message: string, group?: string[], regex?: string, importNames?: string[] }} Pattern */

/** @type {Layer[]} */
export const LAYERS = [
  { rank: 0, name: 'domain', paths: ['src/domain/'] },
  { rank: 1, name: 'backlog', paths: ['src/backlog/'] },
  { rank: 1, name: 'kernel', paths: ['src/errors.ts', 'src/failpoints.ts', 'src/logger.ts', 'src/package-version.ts', 'src/seeded-random.ts'] },
  { rank: 2, name: 'config', paths: ['src/config/'] },
  { rank: 3, name: 'store', paths: ['src/store/'] },
  { rank: 4, name: 'queue', paths: ['src/queue/'] },
  { rank: 5, name: 'webhooks', paths: ['src/webhooks/'] },
  { rank: 5, name: 'mail', paths: ['src/mail/'] },
  { rank: 5, name: 'connectors', paths: ['src/connectors/'] },
  { rank: 6, name: 'machines', paths: ['machines/'], only: ['domain'] },
  { rank: 7, name: 'engine', paths: ['src/engine/'] },
  { rank: 8, name: 'metrics', paths: ['src/metrics/'] },
  { rank: 8, name: 'provider', paths: ['src/provider/'] },
  { rank: 9, name: 'http', paths: ['src/http/'] },
  { rank: 10, name: 'dashboard', paths: ['src/dashboard/'] },
  { rank: 11, name: 'workers', paths: ['workers/'] },
  { rank: 12, name: 'wiring', paths: ['src/runtime.ts', 'src/embedded-redis.ts', 'src/redis-check.ts'] },
  { rank: 13, name: 'demo', paths: ['src/demo/'] },
  { rank: 14, name: 'entry', paths: ['src/cli.ts', 'src/index.ts'] },
];

/** Layers that may import the Redis client (ioredis, the RedisClient type): the store, the queue, the provider kit, the process wiring. */
const REDIS_LAYERS = ['store', 'queue', 'provider'];
const REDIS_FILES = ['src/runtime.ts', 'src/cli.ts', 'src/embedded-redis.ts', 'src/redis-check.ts'];


/** Machines, the domain and the text analysis are pure: no Redis, queues, HTTP, logging or files. */
const IO_MODULES = [
  'ioredis', 'bullmq', 'fastify', 'fastify-*', '@fastify/*', '@bull-board/*', 'pino', 'pino-*', 'prom-client',
  'node:fs', 'node:fs/*', 'node:net', 'node:http', 'node:https', 'node:child_process', 'node:worker_threads',
  'fs', 'net', 'http', 'https', 'child_process', 'yaml',
];
const PURE_LAYERS = ['domain', 'machines', 'backlog'];

/** @param {string} s */
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `files` globs of a layer. @param {Layer} layer */
const globsOf = (layer) => layer.paths.map((p) => (p.endsWith('/') ? `${p}**/*.ts` : p));

/**
 * A regex for the import specifiers that reach a layer. Imports are relative
 * (`../dashboard/routes.js`, `../../machines/ticket.machine.js`,
 * `../src/domain/ids.js`, `./runtime.js`), so the regex looks for the
 * layer's folder or file name right after the leading `./` and `../` steps.
 * src/index.ts is left out as a target: every folder may have an index.ts
 * of its own, and nothing imports the package's door from inside.
 * @param {Layer} layer
 */
function targetRegex(layer) {
  const alternatives = layer.paths
    .filter((p) => p !== 'src/index.ts')
    .map((p) => {
      const bare = p.replace(/^src\//, '');
      return p.endsWith('/') ? `${escape(bare)}` : `${escape(bare.replace(/\.ts$/, ''))}(?:\\.[cm]?[jt]s)?$`;
    });
  return `^(?:\\.{1,2}/)+(?:src/)?(?:${alternatives.join('|')})`;
}

/**
 * Everything a layer's files may not import.
 * @param {Layer} layer
 * @param {{ redis: boolean }} o  whether the Redis client is forbidden too
 * @returns {Pattern[]}
 */
function importPatterns(layer, { redis }) {
  /** @type {Pattern[]} */
  const patterns = LAYERS.filter((other) => other.name !== layer.name).flatMap((other) => {
    const above = other.rank >= layer.rank;
    if (!above && (!layer.only || layer.only.includes(other.name))) return [];
    const why = above ? `${other.name} (rank ${other.rank})` : `${other.name}: it imports only ${layer.only?.join(', ')}`;
    return [{ regex: targetRegex(other), message: `${layer.name} (rank ${layer.rank}) must not import ${why}. See the layer table in eslint.config.js.` }];
  });
  if (PURE_LAYERS.includes(layer.name)) patterns.push({ group: IO_MODULES, message: `${layer.name} stays pure: no I/O imports.` });
  if (layer.name === 'machines') {
    patterns.push({ regex: '^(?![./])(?!(?:xstate|zod)(?:/|$))', message: 'machines/ import only xstate, zod and src/domain.' });
  }
  if (layer.name === 'workers' || layer.name === 'http') {
    patterns.push({ group: ['**/store/ticket-store*', '**/store/scripts*'], message: 'write through src/engine, not the store.' });
  }
  if (redis) {
    const message = 'Only src/store, src/queue, src/provider and the process wiring speak to Redis: use a src/store module.';
    patterns.push(
      { regex: '^ioredis(?:/|$)', message },
      { regex: '(?:^|/)store/redis-client(?:\\.[cm]?[jt]s)?$', message },
      { regex: '(?:^|/)queue/connections(?:\\.[cm]?[jt]s)?$', importNames: ['RedisClient'], message },
    );
  }
  return patterns;
}

/** @param {string[]} files @param {Pattern[]} patterns */
const restrict = (files, patterns) => ({ files, rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] } });

/** @param {string} file */
const layerOf = (file) => LAYERS.find((l) => l.paths.some((p) => (p.endsWith('/') ? file.startsWith(p) : file === p)));

const layerRules = [
  ...LAYERS.map((layer) => restrict(globsOf(layer), importPatterns(layer, { redis: !REDIS_LAYERS.includes(layer.name) }))),
  // Later entries replace the rule's options for their files: the same layer rules without the Redis one.
  ...REDIS_FILES.map((file) => {
    const layer = layerOf(file);
    if (!layer) throw new Error(`eslint.config.js: ${file} is in no layer`);
    return restrict([file], importPatterns(layer, { redis: false }));
  }),
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.build/**', 'scratch/**', 'coverage/**', '.lotse/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  ...layerRules,
);
