import { Redis } from 'ioredis';
import { createExecutors } from '../../src/engine/index.js';
import { createLogger } from '../../src/logger.js';
import { createRelayOutbox } from '../../src/store/outbox.js';
import { createOutboxRelay } from '../../workers/relay.worker.js';
import { redisUrl, type Harness } from './harness.js';

/** One pass of a relay over everything in the harness's outbox, then stopped: the test decides when entries are finished. */
export async function relayOnce(h: Harness): Promise<void> {
  const redis = new Redis(redisUrl());
  const outbox = createRelayOutbox(redis, h.runtime.keys, { consumer: 'test-once' });
  try {
    await createOutboxRelay({ outbox, executors: createExecutors(h.runtime.queues, Date.now), logger: createLogger('silent') }).drain();
  } finally {
    outbox.interrupt();
    redis.disconnect();
  }
}
