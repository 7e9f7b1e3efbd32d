import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { isStoreUnavailable } from '../../src/store/unavailable.js';

/** What ioredis reports when Redis is away or, on a Cluster, a slot has no reachable master for a moment (a failover). */
describe('isStoreUnavailable', () => {
  it.each([
    ['Command timed out', true],
    ['Connection is closed.', true],
    ['connect ECONNREFUSED 127.0.0.1:6379', true],
    ['Reached the max retries per request limit (which is 1). Refer to "maxRetriesPerRequest" option for details.', true],
    // A failover under way: the slot's master is gone and the new one not yet known; the command did not run.
    ['Too many Cluster redirections. Last error: ReplyError: MOVED 14858 127.0.0.1:46655', true],
    ['Too many Cluster redirections. Last error: ReplyError: CLUSTERDOWN The cluster is down', true],
    ['Too many Cluster redirections. Last error: Error: Connection is closed.', true],
    // A Cluster client refreshing its slots after a failover: not ready, and the offline queue is off; or no node answered.
    ["Cluster isn't ready and enableOfflineQueue options is false", true],
    ['None of startup nodes is available', true],
    ['Failed to refresh slots cache.', true],
    ['Node is disconnected', true],
    ['CLUSTERDOWN The cluster is down', true],
    ['WRONGTYPE Operation against a key holding the wrong kind of value', false],
    ['ERR Error running script', false],
  ])('%s: %s', (message, unavailable) => {
    expect(isStoreUnavailable(new Error(message))).toBe(unavailable);
  });

  it('takes a STORE_UNAVAILABLE AppError as it is, and no other code', () => {
    expect(isStoreUnavailable(new AppError('STORE_UNAVAILABLE', 'away'))).toBe(true);
    expect(isStoreUnavailable(new AppError('TICKET_NOT_FOUND', 'no'))).toBe(false);
  });
});
