import type { Logger } from 'pino';
import { AnswerError, type Answers, type HttpAnswerOptions } from './answers.js';
import type { HandoffRequestedEvent } from './events.js';
import { createProviderWorker } from './worker.js';
import { seededRandom } from '../seeded-random.js';

export interface ProviderSimOptions {
  orgId: string;
  redisUrl: string;
  prefix: string;
  logger: Logger;
  /** Seed of the simulator's choices: the same seed, the same sequence of choices. */
  seed?: number;
  /** About how long the provider works on a ticket before it answers (0.5 to 1.5 times this). */
  delayMs?: number;
  /** The share of handoffs on which it first asks the desk for information. */
  infoChance?: number;
  /** Answer over Lotse's HTTP API instead of the `events` queue. */
  api?: HttpAnswerOptions;
  /** Answer on the organisation's own `events-<orgId>` queue (its own Redis user, `lotse redis-acl`) instead of `events`. */
  answersQueue?: 'own' | 'shared';
}

type Outcome = 'resolve' | 'escalate' | 'return';


/**
 * An IT provider as the kit lets one be written: it takes each handoff (the
 * kit sends the receipt), sometimes asks for information, and after a while
 * resolves, escalates or returns the ticket. The "while" is an in-process
 * timer: a stopped simulator forgets the answers it had not given yet, and
 * Lotse's receipt and SLA clocks carry on as they would with a real provider.
 */
export function runProviderSim(o: ProviderSimOptions) {
  const random = seededRandom(o.seed ?? Date.now());
  const delayMs = o.delayMs ?? 3000;
  const infoChance = o.infoChance ?? 0.3;
  const log = o.logger.child({ sim: o.orgId });
  const pending = new Map<string, NodeJS.Timeout>();

  function choose(level: number | null): Outcome {
    const r = random();
    // Level 3 has nowhere higher to go; level 1 (a vendor's desk) nowhere lower.
    if (level === 3) return r < 0.7 ? 'resolve' : 'return';
    if (level === 1) return r < 0.75 ? 'resolve' : 'escalate';
    return r < 0.6 ? 'resolve' : r < 0.8 ? 'escalate' : 'return';
  }

  async function answer(answers: Answers, ticketId: string, outcome: Outcome) {
    pending.delete(ticketId);
    try {
      const result =
        outcome === 'resolve'
          ? await answers.resolve('Fehler behoben (Simulator).')
          : outcome === 'escalate'
            ? await answers.escalate('Braucht die nächste Ebene (Simulator).')
            : await answers.returnAnswer('Bitte mit diesem Hinweis weiterhelfen (Simulator).');
      log.info({ ticketId, outcome, version: result.version, state: result.state }, 'ticket answered');
    } catch (err) {
      // Most often the ticket moved on meanwhile (an operator took it, the desk closed it).
      log.warn({ ticketId, outcome, reason: err instanceof AnswerError ? err.reason : String(err) }, 'answer not applied');
    }
  }

  const kit = createProviderWorker({
    orgId: o.orgId,
    connection: o.redisUrl,
    prefix: o.prefix,
    logger: o.logger,
    ...(o.api ? { api: o.api } : {}),
    ...(o.answersQueue ? { answersQueue: o.answersQueue } : {}),
    async onHandoff(event: HandoffRequestedEvent, ctx) {
      const ticketId = event.subject;
      ctx.log.info({ attempt: event.data.attempt, level: event.data.ticket.level }, 'handoff taken');
      if (random() < infoChance && event.data.ticket.status !== 'waiting') {
        await ctx.requestInfo('Können Sie den Fehler mit Uhrzeit und Browser beschreiben? (Simulator)');
        ctx.log.info('asked for information');
      }
      const outcome = choose(event.data.ticket.level);
      const wait = Math.round(delayMs * (0.5 + random()));
      clearTimeout(pending.get(ticketId));
      pending.set(ticketId, setTimeout(() => void answer(kit.answersFor(event), ticketId, outcome), wait));
      ctx.log.info({ outcome, inMs: wait }, 'answer planned');
    },
    onUpdate(event, ctx) {
      ctx.log.info({ change: event.data.change }, 'ticket updated by someone else');
    },
    onWithdrawn(event, ctx) {
      clearTimeout(pending.get(event.subject));
      pending.delete(event.subject);
      ctx.log.info({ reason: event.data.reason, state: event.data.state }, 'ticket withdrawn');
    },
  });

  return {
    kit,
    async close() {
      for (const timer of pending.values()) clearTimeout(timer);
      pending.clear();
      await kit.close();
    },
  };
}
