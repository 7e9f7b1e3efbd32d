// @ts-check
import tseslint from 'typescript-eslint';

const IO_MODULES = [
  'ioredis', 'bullmq', 'fastify', 'fastify-*', '@fastify/*', '@bull-board/*', 'pino', 'pino-*', 'prom-client',
  'node:fs', 'node:fs/*', 'node:net', 'node:http', 'node:https', 'node:child_process', 'node:worker_threads',
  'fs', 'net', 'http', 'https', 'child_process', 'yaml',
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
  {
    // Machines and the domain are pure: no Redis, queues, HTTP, logging or files.
    files: ['machines/**/*.ts', 'src/domain/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: IO_MODULES, message: 'machines/ and src/domain/ stay pure: no I/O imports.' },
            { group: ['**/store/**', '**/queue/**', '**/http/**', '**/engine/**', '**/workers/**', '**/config/**'], message: 'machines/ and src/domain/ must not depend on I/O layers.' },
          ],
        },
      ],
    },
  },
  {
    // Workers and HTTP change tickets only through the engine.
    files: ['workers/**/*.ts', 'src/http/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/store/ticket-store*', '**/store/scripts*'], message: 'write through src/engine, not the store.' }] },
      ],
    },
  },
);
