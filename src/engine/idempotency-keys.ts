import { createHash } from 'node:crypto';

/** 128 bits of SHA-256, base64url: collisions are out of reach, records stay short. */
export const idempotencyDigest = (text: string) => createHash('sha256').update(text).digest('base64url').slice(0, 22);

/** The fingerprint of a request body: the same body always has the same one. */
export const fingerprint = (body: unknown) => idempotencyDigest(canonicalJson(body));

/** JSON with sorted keys, so the same body always has the same fingerprint. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** How long a creation's reservation holds a key while its request runs. */
export const IDEMPOTENCY_PENDING_MS = 30_000;
/** How long the record of an event sent with an idempotency key is kept: longer than any sender retries. */
export const EVENT_IDEMPOTENCY_TTL_S = 7 * 86_400;

/** An event's key is scoped to the caller's organisation and the record: the same key on another record is another request. */
export const eventKeyText = (recordId: string, key: string) => `event\n${recordId}\n${key}`;
