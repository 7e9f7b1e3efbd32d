import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { decodeSecret, signedRequest, signPayload } from '../../src/webhooks/sign.js';

// The example secret of the Standard Webhooks reference test suite.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const KEY = Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64');

describe('webhook signing (Standard Webhooks)', () => {
  it('decodes the part after whsec_ from base64 and refuses anything else', () => {
    expect(decodeSecret(SECRET).equals(KEY)).toBe(true);
    expect(decodeSecret(SECRET)).toHaveLength(24);
    expect(() => decodeSecret('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')).toThrow(/whsec_/);
    expect(() => decodeSecret('whsec_not base64!')).toThrow(/base64/);
    expect(() => decodeSecret('whsec_')).toThrow();
  });

  it('signs id.timestamp.body with HMAC-SHA256, base64, behind v1, (known answer built by hand)', () => {
    const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
    const timestamp = 1614265330;
    const body = '{"test": 2432232314}';
    const byHand = createHmac('sha256', KEY).update(`${id}.${timestamp}.${body}`).digest('base64');
    expect(signPayload(KEY, id, timestamp, body)).toBe(`v1,${byHand}`);
    // The published example answer of the Standard Webhooks specification's test vectors.
    expect(signPayload(KEY, id, timestamp, body)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('builds an attempt: the event id as webhook-id, whole seconds as webhook-timestamp, structured CloudEvents content type', () => {
    const body = JSON.stringify({ specversion: '1.0', id: 'T1-v3-handoff-dataport', type: 'lotse.ticket.handoff.requested' });
    const req = signedRequest(KEY, 'T1-v3-handoff-dataport', body, 1_700_000_000_999);
    expect(Object.keys(req.headers).sort()).toEqual(['content-type', 'webhook-id', 'webhook-signature', 'webhook-timestamp']);
    expect(req.headers['content-type']).toBe('application/cloudevents+json');
    expect(req.headers['webhook-id']).toBe('T1-v3-handoff-dataport');
    expect(req.headers['webhook-timestamp']).toBe('1700000000');
    expect(req.headers['webhook-signature']).toBe(signPayload(KEY, 'T1-v3-handoff-dataport', 1_700_000_000, body));
    expect(req.body).toBe(body);
  });

  it('is accepted by the standardwebhooks library, and a changed body is not', () => {
    const body = '{"a":1}';
    const at = Date.now();
    const req = signedRequest(decodeSecret(SECRET), 'evt-1', body, at);
    expect(new Webhook(SECRET).verify(body, req.headers)).toEqual({ a: 1 });
    expect(() => new Webhook(SECRET).verify('{"a":2}', req.headers)).toThrow();
  });
});
