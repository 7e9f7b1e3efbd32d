import { AppError } from '../errors.js';

/** Seconds a caller is asked to wait before trying again while the store is away. */
export const STORE_RETRY_AFTER_S = 2;

/**
 * What ioredis says when Redis cannot be reached or does not answer: a
 * command timed out (Redis frozen or overloaded), the connection is down and
 * the offline queue is off, or retries per request ran out; on a Cluster,
 * redirections ran out (a failover under way: the slot's master is gone
 * and its replica not yet promoted). As with a closed connection, the
 * caller retries with the same key: the engine's idempotency answers what
 * a command that did run had done. While a Cluster client refreshes its
 * slots after a failover it is not ready, and with the offline queue off it
 * refuses commands ("Cluster isn't ready"), or finds no node to ask: the
 * same, Redis away for a moment.
 */
const UNREACHABLE = /Command timed out|Stream isn't writeable|Connection is closed|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|Redis did not answer|Reached the max retries per request limit|Too many Cluster redirections|Cluster isn't ready|None of startup nodes is available|Failed to refresh slots cache|Node is disconnected|^CLUSTERDOWN/;

/** Whether an error means the store is unreachable (retry later) rather than a fault of the request or the code. */
export function isStoreUnavailable(err: unknown): boolean {
  if (err instanceof AppError) return err.code === 'STORE_UNAVAILABLE';
  if (!(err instanceof Error)) return false;
  return err.name === 'MaxRetriesPerRequestError' || UNREACHABLE.test(err.message);
}

/** The error as Lotse reports it: a `STORE_UNAVAILABLE` AppError when Redis is away, else undefined. */
export function toStoreUnavailable(err: unknown): AppError | undefined {
  if (!isStoreUnavailable(err)) return undefined;
  if (err instanceof AppError) return err;
  return new AppError('STORE_UNAVAILABLE', 'The ticket store is not reachable; try again shortly');
}
