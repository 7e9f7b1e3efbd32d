import type { RedisClient } from './redis-client.js';
import { mailKeys } from './mail-keys.js';
import { COMPARE_AND_DELETE } from './scripts.js';

/**
 * Which effects' mails have left, so none leaves twice.
 *
 * SMTP cannot be made exactly once: a worker killed after the server said
 * 250 and before Redis heard of it leaves a mail that went out with no
 * record. Two choices: send again on the retry (at least once, a duplicate
 * in the rare window) or never send again without a human (at most once, a
 * mail in doubt in that window). Issue 17 asks that a mail is "never sent
 * twice for one effect, also across a killed worker": at most once, with the
 * window made small and visible:
 *
 * - `claim` (SET NX) before the first byte goes to the SMTP server. The
 *   claim is never removed except by its owner after a definite failure
 *   (the server refused, or the connection broke before the message was
 *   handed over): then nothing left and a retry may send.
 * - after 250: `markSent` writes the sent record (and keeps the claim).
 * - an attempt that finds a claim and no sent record: `busy` while the
 *   claim is younger than the lease (a stalled job still sending), then
 *   `in-doubt`: not sent again. The effect goes to the dead letters; the
 *   Message-ID is deterministic (ids.ts), so an operator finds it in the
 *   MTA's log and decides with `resolveInDoubt`: `sent` or `resend`.
 * - a send that broke after the message was handed over (no answer to the
 *   final dot) is marked in doubt at once, for the same reason.
 * Because the claim stays, a second attempt can never slip in between a
 * finishing attempt's sent record and its claim (there is no such gap).
 */

export type SentState =
  | { state: 'sent'; at: number; messageId: string; response: string }
  | { state: 'claimed'; at: number; messageId: string; token: string }
  | { state: 'doubt'; at: number; messageId: string; reason: string };

export type ClaimResult =
  | { outcome: 'claimed'; claim: string }
  | { outcome: 'already-sent'; record: Extract<SentState, { state: 'sent' }> }
  | { outcome: 'busy'; record: Extract<SentState, { state: 'claimed' }> }
  | { outcome: 'in-doubt'; record: Extract<SentState, { state: 'claimed' | 'doubt' }> };

export interface MailSentStore {
  claim(effectId: string, token: string, messageId: string, at: number): Promise<ClaimResult>;
  markSent(effectId: string, messageId: string, at: number, response: string): Promise<void>;
  /** The owner's claim goes: nothing left, a retry may send. False when the claim was not this one. */
  release(effectId: string, claim: string): Promise<boolean>;
  markInDoubt(effectId: string, messageId: string, at: number, reason: string): Promise<void>;
  get(effectId: string): Promise<SentState | null>;
  /** An operator's decision on a mail in doubt: it did leave (`sent`) or it did not (`resend`: the next attempt sends). */
  resolveInDoubt(effectId: string, decision: 'sent' | 'resend', at: number): Promise<void>;
}

export interface MailSentOptions {
  /** How long records are kept: longer than retries plus the time an operator may replay a dead letter. */
  ttlMs?: number;
  /** A claim older than this without a sent record is in doubt (longer than any SMTP timeout). */
  leaseMs?: number;
}

const sep = '|';
const encodeClaim = (token: string, at: number, messageId: string) => ['claimed', token, at, messageId].join(sep);
const encodeDoubt = (at: number, messageId: string, reason: string) => ['doubt', '', at, messageId, reason.replace(/\|/g, '/')].join(sep);

function decode(value: string): SentState {
  const [state, token = '', at = '0', messageId = '', ...rest] = value.split(sep);
  if (state === 'sent') return { state, at: Number(at), messageId, response: rest.join(sep) };
  if (state === 'doubt') return { state, at: Number(at), messageId, reason: rest.join(sep) };
  return { state: 'claimed', at: Number(at), messageId, token };
}

export function createMailSentStore(redis: RedisClient, prefix: string, opts: MailSentOptions = {}): MailSentStore {
  const keys = mailKeys(prefix);
  const ttlMs = opts.ttlMs ?? 90 * 86_400_000;
  const leaseMs = opts.leaseMs ?? 10 * 60_000;
  redis.defineCommand('lotseReleaseMailClaim', { numberOfKeys: 1, lua: COMPARE_AND_DELETE });
  const compareAndDelete = (redis as unknown as { lotseReleaseMailClaim(key: string, value: string): Promise<number> }).lotseReleaseMailClaim.bind(redis);

  async function get(effectId: string): Promise<SentState | null> {
    const [sent, claim] = await Promise.all([redis.get(keys.sent(effectId)), redis.get(keys.sentClaim(effectId))]);
    if (sent !== null) return decode(sent);
    return claim === null ? null : decode(claim);
  }

  async function claim(effectId: string, token: string, messageId: string, at: number): Promise<ClaimResult> {
    const value = encodeClaim(token, at, messageId);
    for (;;) {
      if ((await redis.set(keys.sentClaim(effectId), value, 'PX', ttlMs, 'NX')) === 'OK') return { outcome: 'claimed', claim: value };
      const record = await get(effectId);
      if (record === null) continue; // released between the two calls: try again
      if (record.state === 'sent') return { outcome: 'already-sent', record };
      if (record.state === 'claimed' && at - record.at < leaseMs) return { outcome: 'busy', record };
      return { outcome: 'in-doubt', record };
    }
  }

  async function markSent(effectId: string, messageId: string, at: number, response: string): Promise<void> {
    await redis
      .multi()
      .set(keys.sent(effectId), ['sent', '', at, messageId, response.replace(/[\r\n]+/g, ' ').slice(0, 500)].join(sep), 'PX', ttlMs)
      .pexpire(keys.sentClaim(effectId), ttlMs)
      .exec();
  }

  return {
    claim,
    markSent,
    async release(effectId, value) {
      return (await compareAndDelete(keys.sentClaim(effectId), value)) === 1;
    },
    async markInDoubt(effectId, messageId, at, reason) {
      await redis.set(keys.sentClaim(effectId), encodeDoubt(at, messageId, reason), 'PX', ttlMs);
    },
    get,
    async resolveInDoubt(effectId, decision, at) {
      const record = await get(effectId);
      if (record === null || record.state === 'sent') return;
      if (decision === 'sent') await markSent(effectId, record.messageId, at, 'marked sent by an operator');
      else await redis.del(keys.sentClaim(effectId));
    },
  };
}
