import { createHmac } from 'node:crypto';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): the same
 * `webhook-id` on every attempt, a fresh `webhook-timestamp` (seconds) per
 * attempt, and `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>`
 * keyed with the bytes of the secret after `whsec_`.
 */
export const SECRET_PREFIX = 'whsec_';

export const WEBHOOK_CONTENT_TYPE = 'application/cloudevents+json';

/** The signing key of a `whsec_…` secret: the base64 after the prefix, decoded. */
export function decodeSecret(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('a webhook secret starts with whsec_');
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw new Error('a webhook secret is whsec_ followed by base64');
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) throw new Error('a webhook secret must not be empty');
  return key;
}

/** `v1,<base64 signature>` over `${id}.${timestamp}.${body}`. */
export function signPayload(key: Buffer, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

export interface SignedRequest {
  body: string;
  headers: Record<string, string>;
}

/**
 * One attempt's request: the CloudEvent in structured mode, signed. `at` is
 * the attempt's time in milliseconds; the header carries whole seconds.
 */
export function signedRequest(key: Buffer, id: string, body: string, at: number): SignedRequest {
  const timestamp = Math.floor(at / 1000);
  return {
    body,
    headers: {
      'content-type': WEBHOOK_CONTENT_TYPE,
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signPayload(key, id, timestamp, body),
    },
  };
}
