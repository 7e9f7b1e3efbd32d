import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KEY_COUNT_FIRST_SCRIPTS } from '../../src/store/redis-client.js';

const STORE = new URL('../../src/store/', import.meta.url);

/**
 * A script defined without `numberOfKeys` takes its key count as its first
 * argument, which ioredis's auto-pipelining on a Cluster takes for its key:
 * each must be in KEY_COUNT_FIRST_SCRIPTS, which Cluster connections
 * send outside the auto-pipeline (src/queue/connections.ts).
 */
describe('scripts and auto-pipelining on a Cluster', () => {
  it('names every store script defined without numberOfKeys', () => {
    const defined = readdirSync(STORE)
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => [...readFileSync(new URL(f, STORE), 'utf8').matchAll(/defineCommand\('(\w+)', \{([^}]*)\}/g)])
      .map((m) => ({ name: m[1]!, counted: /numberOfKeys/.test(m[2]!) }));
    expect(defined.length).toBeGreaterThan(0);
    expect(defined.filter((d) => !d.counted).map((d) => d.name).sort()).toEqual([...KEY_COUNT_FIRST_SCRIPTS].sort());
  });
});
