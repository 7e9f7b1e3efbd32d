/**
 * The demo's only way into Lotse: its public HTTP API, with each
 * organisation's own key, and a bound on requests in flight so the
 * simulator never floods the server it is showing off.
 */

export interface ApiAnswer {
  status: number;
  body: Record<string, unknown>;
}

export interface ApiClient {
  readonly url: string;
  /** Whether the demo has a key for the organisation. */
  canActAs(orgId: string): boolean;
  call(orgId: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<ApiAnswer>;
  /** Requests under way now. */
  inFlight(): number;
}

const TIMEOUT_MS = 10_000;

export function createApiClient(url: string, keyFor: (orgId: string) => string | undefined): ApiClient {
  const base = url.replace(/\/+$/, '');
  let inFlight = 0;
  return {
    url: base,
    canActAs: (orgId) => keyFor(orgId) !== undefined,
    inFlight: () => inFlight,
    async call(orgId, method, path, body) {
      const key = keyFor(orgId);
      if (!key) throw new Error(`no key for ${orgId}`);
      inFlight += 1;
      try {
        const res = await fetch(`${base}${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        const text = await res.text();
        let parsed: unknown;
        try {
          parsed = text ? JSON.parse(text) : {};
        } catch {
          parsed = { raw: text.slice(0, 200) };
        }
        const record = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : { value: parsed };
        return { status: res.status, body: record };
      } finally {
        inFlight -= 1;
      }
    },
  };
}
