import { Job, Queue, type ConnectionOptions } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { CloudEvent } from '../domain/cloudevent.js';
import { handoffQueueName, QUEUE } from './names.js';
import type { BacklogJob, RetentionJob, TimerJob } from './jobs.js';
import { JOB_RETENTION, KEEP } from './retention.js';
import { createDelayedJobRemover } from '../store/delayed-jobs.js';
import { delayedJobKeys } from './job-keys.js';

/**
 * The only place that adds jobs. Queues are opened on first use and shared;
 * every one has an error listener.
 */
export function createQueues(connection: ConnectionOptions, prefix: string, logger: Logger) {
  const open = new Map<string, Queue>();
  // A timer still delayed is removed by Lotse's own script (3 commands, not BullMQ's 17) on the connection the queues share.
  const removeDelayed = connection instanceof Redis || connection instanceof Cluster ? createDelayedJobRemover(connection) : undefined;
  const queue = (name: string): Queue => {
    let q = open.get(name);
    if (!q) {
      q = new Queue(name, { connection, prefix });
      q.on('error', (err) => logger.error({ err, queue: name }, 'queue error'));
      open.set(name, q);
    }
    return q;
  };

  /** Tickets' timers: delayed jobs whose ids name the ticket and the arming. */
  async function armTimers(timers: { jobId: string; data: TimerJob; fireAt: number }[], now: number) {
    if (timers.length === 0) return;
    await queue(QUEUE.sla).addBulk(
      timers.map((t) => ({
        name: 'timer',
        data: t.data,
        // Lean options: one of these waits per open ticket. A timer that fired
        // is followed by one of a new epoch, so its job need not be kept.
        opts: { jobId: t.jobId, delay: Math.max(0, t.fireAt - now), attempts: 8, backoff: 1000, removeOnComplete: true, removeOnFail: { age: JOB_RETENTION.failed.age, count: 1000 }, stackTraceLimit: 0 },
      })),
    );
  }

  return {
    queue,
    armTimers,
    /**
     * Reschedules armed timers, by job id: changeDelay is tried without
     * loading the job first. A delayed job gets its new delay; a job that is
     * gone is armed again under its id; only when the job is not delayed is
     * its state read: a job that finished is removed and armed again, a job
     * that is running or about to run is left alone (the sla worker finds its
     * deadline not yet due and puts it back until then).
     */
    async moveTimers(timers: { jobId: string; data: TimerJob; fireAt: number }[], now: number) {
      const sla = queue(QUEUE.sla);
      await Promise.all(
        timers.map(async (t) => {
          const job = new Job(sla, 'timer', t.data, {}, t.jobId);
          try {
            await job.changeDelay(Math.max(0, t.fireAt - now));
          } catch (err) {
            const code = (err as { code?: unknown }).code;
            if (code === -1) return armTimers([t], now); // gone: armed again under its id
            if (code !== -3) throw err;
            const state = await job.getState();
            if (state === 'completed' || state === 'failed') {
              await job.remove();
              await armTimers([t], now);
            }
          }
        }),
      );
    },
    /**
     * Removes armed timers, by job id. A timer still delayed (nearly always:
     * it waits for its deadline) is removed by one script of 3 commands; any
     * other is handed to BullMQ's remove, which answers 0 when the job
     * already runs or is gone: either way it will change nothing. Timers
     * have no children, so BullMQ need not look for any.
     */
    async cancelTimers(jobIds: string[]) {
      const sla = queue(QUEUE.sla);
      await Promise.all(
        jobIds.map(async (id) => {
          if (removeDelayed) {
            const { delayedKey, jobKeys } = delayedJobKeys(prefix, QUEUE.sla, id);
            if (await removeDelayed(delayedKey, jobKeys, id)) return;
          }
          await sla.remove(id, { removeChildren: false });
        }),
      );
    },
    /** Handoff events, each on its provider's queue, in order; the job id is the event id. */
    async handOff(handoffs: { orgId: string; event: CloudEvent }[]) {
      const byQueue = new Map<string, CloudEvent[]>();
      for (const h of handoffs) {
        const list = byQueue.get(h.orgId);
        if (list) list.push(h.event);
        else byQueue.set(h.orgId, [h.event]);
      }
      await Promise.all(
        [...byQueue].map(([orgId, events]) =>
          queue(handoffQueueName(orgId)).addBulk(
            events.map((event) => ({ name: event.type, data: event, opts: { jobId: event.id, attempts: 8, backoff: { type: 'exponential', delay: 2000 }, ...KEEP } })),
          ),
        ),
      );
    },
    /**
     * Webhook deliveries. The job id (`wh-<event id>`, `wh-<event id>-r<n>` for
     * a replay) makes adding one twice a no-op; the `webhook` backoff is the
     * webhook worker's own strategy.
     */
    async deliverWebhooks(deliveries: { jobId: string; data: { orgId: string; event: CloudEvent } }[], attempts: number) {
      if (deliveries.length === 0) return;
      await queue(QUEUE.webhook).addBulk(
        deliveries.map((d) => ({ name: d.data.event.type, data: d.data, opts: { jobId: d.jobId, attempts, backoff: { type: 'webhook' }, ...KEEP } })),
      );
    },
    /**
     * Mail out (workers/mail.worker.ts): `mail-<event id>` (`-r<n>` for a
     * replay) makes adding one twice a no-op; the backoff is the mail
     * worker's own strategy.
     */
    async sendMails(mails: { jobId: string; data: { orgId: string; event: CloudEvent } }[], attempts: number) {
      if (mails.length === 0) return;
      await queue(QUEUE.mail).addBulk(
        mails.map((d) => ({ name: d.data.event.type, data: d.data, opts: { jobId: d.jobId, attempts, backoff: { type: 'mail' }, ...KEEP } })),
      );
    },
    /**
     * Changes for other ticket systems (workers/connector.worker.ts):
     * `cx-<event id>` (`-r<n>` for a replay) makes adding one twice a no-op;
     * the backoff is the connector worker's own strategy.
     */
    async addConnectorJobs(jobs: { jobId: string; data: { type: 'push'; orgId: string; event: CloudEvent } }[], attempts: number) {
      if (jobs.length === 0) return;
      await queue(QUEUE.connector).addBulk(
        jobs.map((j) => ({ name: j.data.event.type, data: j.data, opts: { jobId: j.jobId, attempts, backoff: { type: 'connector' }, ...KEEP } })),
      );
    },
    /** Each organisation's poll for remote changes, every `everyMs`: one job scheduler per organisation, shared by all processes. */
    async scheduleConnectorPolls(polls: { orgId: string; everyMs: number }[]) {
      await Promise.all(
        polls.map((p) =>
          queue(QUEUE.connector).upsertJobScheduler(`poll-${p.orgId}`, { every: p.everyMs }, { name: 'poll', data: { type: 'poll', orgId: p.orgId }, opts: { attempts: 1, removeOnComplete: true, removeOnFail: 100 } }),
        ),
      );
    },
    /** The backlog feed and the backlog's own effects; the job id is the effect id. */
    async addBacklogJobs(jobs: { jobId: string; data: BacklogJob }[]) {
      if (jobs.length === 0) return;
      await queue(QUEUE.backlog).addBulk(
        jobs.map((j) => ({ name: j.data.type, data: j.data, opts: { jobId: j.jobId, attempts: 10, backoff: { type: 'exponential', delay: 1000 }, ...KEEP } })),
      );
    },
    /** Purges after erasures; the job id is the effect id. */
    async addRetentionJobs(jobs: { jobId: string; data: RetentionJob }[]) {
      if (jobs.length === 0) return;
      await queue(QUEUE.retention).addBulk(
        jobs.map((j) => ({ name: j.data.type, data: j.data, opts: { jobId: j.jobId, attempts: 10, backoff: { type: 'exponential', delay: 1000 }, ...KEEP } })),
      );
    },
    async close() {
      await Promise.all([...open.values()].map((q) => q.close()));
      open.clear();
    },
  };
}

export type Queues = ReturnType<typeof createQueues>;
