/**
 * "Never sent twice for one effect, also across a killed worker",
 * with real processes: a worker sends through a real SMTP server (Lotse's
 * listener) and dies by SIGKILL, once after the server accepted the mail and
 * before the sent record (the failpoint `mail-after-send`), once while the
 * server had the whole message and had not answered yet. The next attempt
 * of the same effect must not send again: it reports the mail in doubt, for
 * an operator, and the server holds exactly one copy.
 */
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/embedded-redis.js';
import { createMailSender } from '../../src/mail/sender.js';
import { startMailListener, type MailListener } from '../../src/mail/smtp-listener.js';
import { createMailSentStore } from '../../src/store/mail-sent.js';
import { dropPrefix, newPrefix, redisUrl, waitFor } from '../helpers/harness.js';
import { spawnInRepo, type LotseProcess } from '../helpers/process.js';
import { killMail } from '../helpers/mail-fixtures.js';

let redis: Redis;
let prefix: string;
let listener: MailListener | undefined;
let child: LotseProcess | undefined;

beforeEach(() => {
  redis = new Redis(redisUrl());
  prefix = newPrefix('mx');
});

afterEach(async () => {
  if (child) await child.kill();
  child = undefined;
  await listener?.close();
  listener = undefined;
  await dropPrefix(redis, prefix);
  redis.disconnect();
});

const sendInChild = (port: number, effectId: string, env: Record<string, string> = {}) =>
  spawnInRepo(process.execPath, ['--import', 'tsx', 'test/helpers/mail-send-child.ts', redisUrl(), prefix, String(port), effectId], env);

async function retryInThisProcess(port: number, effectId: string) {
  // A lease of 0: the dead worker's claim is in doubt at once (in production: after 10 minutes).
  const sender = createMailSender({ smtp: { host: '127.0.0.1', port, secure: false, auth: undefined }, sent: createMailSentStore(redis, prefix, { leaseMs: 0 }), ignoreTLS: true });
  try {
    return await sender.sendMail(effectId, killMail(effectId));
  } finally {
    sender.close();
  }
}

describe('a worker killed in the middle of a send', () => {
  it('after the server accepted and before the record: the retry does not send again', async () => {
    const port = await freePort();
    const got: Buffer[] = [];
    listener = await startMailListener({ host: '127.0.0.1', port, maxBytes: 1 << 20, onMessage: async (d) => void got.push(d.raw) });
    child = sendInChild(port, 'eff-kill-after-send', { LOTSE_FAILPOINT: 'mail-after-send' });
    expect(await child.exited).toMatchObject({ signal: 'SIGKILL' });
    expect(got).toHaveLength(1);
    const retry = await retryInThisProcess(port, 'eff-kill-after-send');
    expect(retry).toMatchObject({ outcome: 'in-doubt', messageId: killMail('eff-kill-after-send').messageId });
    expect(got).toHaveLength(1);
  });

  it('while the server had the message and had not answered: the retry does not send again', async () => {
    const port = await freePort();
    const got: Buffer[] = [];
    let answer: () => void = () => undefined;
    listener = await startMailListener({
      host: '127.0.0.1', port, maxBytes: 1 << 20,
      onMessage: (d) => {
        got.push(d.raw);
        // Hold the answer until the worker is dead.
        return new Promise<void>((resolve) => (answer = resolve));
      },
    });
    child = sendInChild(port, 'eff-kill-in-data');
    await waitFor(() => got.length === 1, { timeoutMs: 20_000, what: 'the message at the server' });
    await child.kill();
    answer();
    const retry = await retryInThisProcess(port, 'eff-kill-in-data');
    expect(retry.outcome).toBe('in-doubt');
    expect(got).toHaveLength(1);
  });
});
