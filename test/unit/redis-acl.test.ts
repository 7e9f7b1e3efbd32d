import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { redisCredentials } from '../../src/config/redis-url.js';
import { lotseQueueNames as boardQueues } from '../../src/dashboard/queue-list.js';
import { lotseQueueNames as metricsQueues } from '../../src/metrics/labels.js';
import { BULLMQ_SCRIPT_COMMANDS } from '../../src/queue/acl.js';
import { topologyWithQueueUsers } from '../helpers/redis-acl.js';

/** Every Redis command BullMQ's Lua scripts call, read from the installed BullMQ. */
function commandsOfBullmqScripts(): string[] {
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('bullmq')), 'commands');
  const files = [...readdirSync(dir).filter((f) => f.endsWith('.lua')).map((f) => join(dir, f)), ...readdirSync(join(dir, 'includes')).map((f) => join(dir, 'includes', f))];
  const found = new Set<string>();
  for (const file of files) for (const m of readFileSync(file, 'utf8').matchAll(/(?:rcall|redis\.p?call)\(\s*["']([A-Za-z]+)["']/g)) found.add(m[1]!.toLowerCase());
  return [...found].sort();
}

describe('the queue users\' commands', () => {
  // A BullMQ upgrade whose scripts call a command the list lacks would fail queue users with NOPERM inside a script.
  it('cover every command BullMQ\'s scripts call', () => {
    const missing = commandsOfBullmqScripts().filter((c) => !(BULLMQ_SCRIPT_COMMANDS as readonly string[]).includes(c));
    expect(missing).toEqual([]);
  });
});

describe('redisCredentials', () => {
  it('reads user and password from either kind of REDIS_URL, decoded', () => {
    expect(redisCredentials('redis://lotse:p%40ss@127.0.0.1:6379')).toEqual({ username: 'lotse', password: 'p@ss' });
    expect(redisCredentials('redis+cluster://dataport:s3cret@10.0.0.1:7000,10.0.0.2:7000')).toEqual({ username: 'dataport', password: 's3cret' });
    expect(redisCredentials('redis://127.0.0.1:6379')).toEqual({});
  });
});

describe('an organisation\'s own queues', () => {
  it('are counted with Lotse\'s queues on the board and in the metrics: intake and events for a desk, events (beside its handoffs) for a provider', () => {
    const topology = topologyWithQueueUsers(['desk-BY', 'dataport']);
    for (const names of [metricsQueues(topology), boardQueues(topology)]) {
      expect(names).toEqual(expect.arrayContaining(['intake', 'events', 'intake-desk-BY', 'events-desk-BY', 'events-dataport', 'handoff-dataport']));
      expect(names).not.toContain('intake-dataport');
    }
  });
});
