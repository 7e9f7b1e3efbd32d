import { describe, expect, it } from 'vitest';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { parseTopology } from '../../src/config/topology-file.js';
import type { TopologyInput } from '../../src/domain/topology.js';
import { classifyAttempt, parseRetryAfter, replayJobId, webhookJobId } from '../../src/webhooks/delivery.js';
import { resolveWebhookTargets } from '../../src/webhooks/settings.js';

const NOW = Date.parse('2026-11-30T10:00:00Z');
const opts = { now: NOW, deferrals: 0, maxDeferrals: 3, maxRetryAfterMs: 86_400_000 };
const answer = (status: number, retryAfter: string | null = null) => classifyAttempt({ status, retryAfter }, opts);

describe('Retry-After', () => {
  it.each([
    ['1', 1000],
    ['120', 120_000],
    [' 0 ', 0],
    ['Mon, 30 Nov 2026 10:00:30 GMT', 30_000],
    ['Mon, 30 Nov 2026 09:00:00 GMT', 0],
  ])('%s → %i ms', (value, ms) => expect(parseRetryAfter(value, NOW)).toBe(ms));

  it.each([[null], [''], ['-1'], ['1.5'], ['soon'], ['12abc']])('%s is not a Retry-After', (value) => {
    expect(parseRetryAfter(value, NOW)).toBeUndefined();
  });
});

describe('what an attempt means', () => {
  it.each([200, 201, 202, 204, 299])('%i: delivered', (s) => expect(answer(s)).toEqual({ kind: 'delivered', status: s }));
  it('410: the receiver disabled the endpoint', () => expect(answer(410)).toEqual({ kind: 'disabled', status: 410 }));
  it.each([400, 401, 403, 404, 409, 413, 422])('%i: would fail the same way again, dead-lettered at once', (s) => {
    expect(answer(s)).toMatchObject({ kind: 'rejected', status: s });
  });
  it.each([408, 429, 500, 502, 503, 504, 302])('%i without Retry-After: retried with backoff', (s) => {
    expect(answer(s)).toMatchObject({ kind: 'retry', status: s });
  });
  it('no answer: retried', () => {
    expect(classifyAttempt({ error: 'timeout after 10000 ms' }, opts)).toEqual({ kind: 'retry', status: null, reason: 'timeout after 10000 ms' });
  });
  it.each([429, 503])('%i with Retry-After: waited out as asked', (s) => {
    expect(answer(s, '7')).toEqual({ kind: 'deferred', status: s, delayMs: 7000 });
    expect(answer(s, 'Mon, 30 Nov 2026 10:01:00 GMT')).toEqual({ kind: 'deferred', status: s, delayMs: 60_000 });
  });
  it('Retry-After on other codes is not a deferral; a huge one is shortened; too many deferrals count as a failure', () => {
    expect(answer(500, '5')).toMatchObject({ kind: 'retry' });
    expect(answer(429, '999999')).toEqual({ kind: 'deferred', status: 429, delayMs: 86_400_000 });
    expect(classifyAttempt({ status: 429, retryAfter: '1' }, { ...opts, deferrals: 3 })).toMatchObject({ kind: 'retry', status: 429 });
  });
});

describe('job ids', () => {
  it('names the event and the replay, without a colon', () => {
    expect(webhookJobId('T01ABC-v3-handoff-dataport')).toBe('wh-T01ABC-v3-handoff-dataport');
    expect(replayJobId('T01ABC-v3-handoff-dataport', 2)).toBe('wh-T01ABC-v3-handoff-dataport-r2');
  });
});

describe('webhook secrets from the topology', () => {
  const withWebhook = (secret: string) => {
    const base = structuredClone(DEFAULT_TOPOLOGY) as TopologyInput;
    const index = base.organisations.findIndex((o) => o.id === 'dataport');
    base.organisations[index] = { ...base.organisations[index]!, webhook: { url: 'https://hooks.example.org/lotse', secret } };
    return { topology: parseTopology(base, 'test'), index };
  };

  it('decodes a whsec_ secret written in the topology', () => {
    const { topology } = withWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    const target = resolveWebhookTargets(topology, {}).get('dataport');
    expect(target?.url).toBe('https://hooks.example.org/lotse');
    expect(target?.key.equals(Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64'))).toBe(true);
    expect(resolveWebhookTargets(topology, {}).size).toBe(1);
  });

  it('reads env:NAME at start, and a missing variable stops the start naming the field', () => {
    const { topology, index } = withWebhook('env:DATAPORT_WEBHOOK_SECRET');
    const target = resolveWebhookTargets(topology, { DATAPORT_WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }).get('dataport');
    expect(target?.key).toHaveLength(24);
    expect(() => resolveWebhookTargets(topology, {})).toThrow(`organisations.${index}.webhook.secret: environment variable DATAPORT_WEBHOOK_SECRET is not set`);
    expect(() => resolveWebhookTargets(topology, { DATAPORT_WEBHOOK_SECRET: 'plain-text' })).toThrow(`organisations.${index}.webhook.secret: a webhook secret starts with whsec_`);
  });
});
