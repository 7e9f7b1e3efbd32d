import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { findRedis, type FoundRedis } from './find-redis.js';

let found: FoundRedis | undefined;

export async function setup(project: TestProject): Promise<void> {
  found = await findRedis();
  project.provide('redisUrl', found.url);
}

export async function teardown(): Promise<void> {
  await found?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
