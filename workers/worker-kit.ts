import { MetricsTime, UnrecoverableError, Worker, type ConnectionOptions, type Job, type Processor, type WorkerOptions } from 'bullmq';
import type { Logger } from 'pino';
import { AppError } from '../src/errors.js';

export interface WorkerDeps {
  connection: ConnectionOptions;
  prefix: string;
  logger: Logger;
}

/**
 * A BullMQ worker with Lotse's rules: errors that retrying cannot fix
 * (bad payloads, refused transitions) fail the job at once with the reason;
 * everything else is retried by the job's backoff.
 */
export function makeWorker<D, R>(
  queueName: string,
  process: (job: Job<D, R>, log: Logger, token?: string) => Promise<R>,
  deps: WorkerDeps,
  options: { concurrency?: number; autorun?: boolean; settings?: WorkerOptions['settings'] } = {},
): Worker<D, R> {
  const processor: Processor<D, R> = async (job, token) => {
    const log = deps.logger.child({ queue: queueName, jobId: job.id });
    try {
      return await process(job, log, token);
    } catch (err) {
      if (err instanceof AppError && !err.retryable) {
        log.warn({ code: err.code, errors: err.details.errors }, 'job refused');
        throw new UnrecoverableError(describe(err));
      }
      throw err;
    }
  };
  const worker = new Worker<D, R>(queueName, processor, {
    connection: deps.connection,
    prefix: deps.prefix,
    concurrency: options.concurrency ?? 8,
    autorun: options.autorun ?? true,
    // BullMQ's per-minute completed/failed counts (an hour of points, then trimmed): its Prometheus export and the dashboard read them.
    metrics: { maxDataPoints: MetricsTime.ONE_HOUR },
    ...(options.settings ? { settings: options.settings } : {}),
  });
  worker.on('error', (err) => deps.logger.error({ err, queue: queueName }, 'worker error'));
  worker.on('failed', (job, err) => {
    if (job && (job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === 'UnrecoverableError')) deps.logger.warn({ queue: queueName, jobId: job.id, reason: err.message }, 'job failed');
  });
  return worker;
}

/** A failed job's reason: the message plus every wrong field. */
export function describe(err: AppError): string {
  const fields = err.details.errors?.map((e) => `${e.path || '(body)'}: ${e.message}`) ?? [];
  return fields.length > 0 ? `${err.code}: ${err.message}; ${fields.join('; ')}` : `${err.code}: ${err.message}`;
}

/** A job's payload refused before it reaches the engine. */
export function invalidPayload(what: string, issues: { path: string; message: string }[]): UnrecoverableError {
  return new UnrecoverableError(`VALIDATION_FAILED: invalid ${what}; ${issues.map((e) => `${e.path || '(body)'}: ${e.message}`).join('; ')}`);
}
