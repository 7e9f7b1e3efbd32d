import { createHash, randomBytes } from 'node:crypto';
import { fastifyCookie } from '@fastify/cookie';
import type { FastifyRequest } from 'fastify';
import type { PrincipalResolver } from '../config/principals.js';
import type { Principal } from '../domain/access.js';
import type { SessionStore } from '../store/sessions.js';

export const SESSION_COOKIE = 'lotse_session';
/** Eight hours, renewed with every request: a shift at the board. */
export const SESSION_TTL_S = 8 * 3600;
/** Twelve hours from the login, however busy the session: then the key is asked for again. */
export const SESSION_MAX_S = 12 * 3600;
const ID = /^[A-Za-z0-9_-]{43}$/;

export interface Session {
  /** The cookie's value; Redis holds only its SHA-256. */
  id: string;
  principal: Principal;
  /** Sent back by the page with every change (x-csrf-token header or `_csrf` field). */
  csrf: string;
  createdAt: string;
}

interface Stored {
  principal: Principal;
  /** The fingerprint of the principal entry whose key opened the session. */
  binding: string;
  csrf: string;
  createdAt: string;
}

export interface LoginThrottle {
  /** Failed logins per client address, and per key prefix, in one window. */
  maxFailures: number;
  windowSeconds: number;
}

export type LoginResult =
  | { kind: 'ok'; session: Session }
  | { kind: 'unknown-key' }
  | { kind: 'wrong-role'; principal: Principal }
  | { kind: 'throttled'; retryAfter: number };

const newSecret = () => randomBytes(32).toString('base64url');
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
/** Redis holds the hash of the cookie: whoever reads Redis holds no working cookie. */
export const sessionHash = (id: string) => sha256(id);
/** A guesser's key prefix, hashed, so Redis keeps no part of any key. */
const PREFIX_CHARS = 8;

/** Served over TLS: directly, or behind a proxy trusted by LOTSE_TRUST_PROXY that says so (Fastify's req.protocol). */
export const isSecure = (req: FastifyRequest) => req.protocol === 'https';

/**
 * Dashboard sessions, kept by src/store/sessions.ts under the hash of a
 * random cookie, holding the principal (never the key) and the fingerprint
 * of the key entry that opened it. Every read checks that entry is still
 * configured with the same organisation and role, so removing or rotating
 * a key ends its sessions at once, also after a restart. The expiry slides
 * with use (idle) but never past the absolute lifetime.
 */
export function createSessions(o: {
  store: SessionStore;
  principals: PrincipalResolver;
  ttlSeconds?: number;
  maxSeconds?: number;
  throttle?: LoginThrottle;
  now?: () => number;
}) {
  const ttl = o.ttlSeconds ?? SESSION_TTL_S;
  const max = Math.max(o.maxSeconds ?? SESSION_MAX_S, 1);
  const throttle = o.throttle ?? { maxFailures: 10, windowSeconds: 900 };
  const now = o.now ?? Date.now;

  async function get(id: string | undefined): Promise<Session | null> {
    if (!id || !ID.test(id)) return null;
    const hash = sessionHash(id);
    // GETEX renews the expiry with the read: the session slides while it is used.
    const raw = await o.store.read(hash, ttl);
    if (!raw) return null;
    const stored = JSON.parse(raw) as Partial<Stored>;
    const current = typeof stored.binding === 'string' ? o.principals.byBinding(stored.binding) : null;
    const age = now() - Date.parse(stored.createdAt ?? '');
    const valid = current !== null && stored.principal !== undefined && current.orgId === stored.principal.orgId && current.role === stored.principal.role && age >= 0 && age < max * 1000;
    if (!valid) {
      await o.store.delete(hash, stored.principal?.orgId);
      return null;
    }
    return { id, principal: current, csrf: stored.csrf!, createdAt: stored.createdAt! };
  }

  async function create(principal: Principal, binding: string, at: number): Promise<Session> {
    const session: Session = { id: newSecret(), principal, csrf: newSecret(), createdAt: new Date(at).toISOString() };
    const stored: Stored = { principal, binding, csrf: session.csrf, createdAt: session.createdAt };
    await o.store.write({ hash: sessionHash(session.id), orgId: principal.orgId, stored: JSON.stringify(stored), ttlSeconds: Math.min(ttl, max), maxSeconds: max, at });
    return session;
  }

  /** The scopes a key guess counts in: the client address and the (hashed) prefix of the key. */
  const scopesOf = (req: FastifyRequest, key: string) => [`ip:${req.ip}`, `key:${sha256(key.slice(0, PREFIX_CHARS)).slice(0, 16)}`];

  /**
   * The one throttle for key guesses, at the board's login and on the API:
   * the seconds to wait while the client or the key's prefix has reached the
   * allowed failures in the window, else null. Asked before the key is checked,
   * so a right key from a throttled client waits too.
   */
  async function throttled(req: FastifyRequest, key: string): Promise<number | null> {
    const blocked = (await o.store.readLoginFailures(scopesOf(req, key))).filter((f) => f.count >= throttle.maxFailures);
    return blocked.length > 0 ? Math.max(...blocked.map((f) => f.retryAfter)) : null;
  }

  /** Counts a wrong key in both scopes; answers the larger count. */
  async function failed(req: FastifyRequest, key: string): Promise<number> {
    const counts = await o.store.countLoginFailure(scopesOf(req, key), throttle.windowSeconds);
    return Math.max(...counts.map((c) => c.count));
  }

  /**
   * A login by key: refused while the client or the key's prefix has too many
   * failures in the window; a failure is counted and logged with the client
   * and the key's length only, never the key.
   */
  async function logIn(req: FastifyRequest, key: string, roles: readonly string[]): Promise<LoginResult> {
    const retryAfter = await throttled(req, key);
    if (retryAfter !== null) {
      req.log.warn({ client: req.ip, keyLength: key.length }, 'dashboard login throttled');
      return { kind: 'throttled', retryAfter };
    }
    const principal = o.principals.authenticate(key);
    const binding = principal ? o.principals.bindingOf(key) : null;
    if (!principal || !binding) {
      const failures = await failed(req, key);
      req.log.warn({ client: req.ip, keyLength: key.length, failures }, 'dashboard login failed: unknown key');
      return { kind: 'unknown-key' };
    }
    if (!roles.includes(principal.role)) return { kind: 'wrong-role', principal };
    return { kind: 'ok', session: await create(principal, binding, now()) };
  }

  return {
    ttlSeconds: ttl,
    maxSeconds: max,
    logIn,
    /** The API's Bearer keys share the login's throttle (src/http/auth.ts). */
    keyThrottle: { throttled, failed },
    get,
    fromRequest(req: FastifyRequest): Promise<Session | null> {
      const header = req.headers.cookie;
      return get(header ? fastifyCookie.parse(header)[SESSION_COOKIE] : undefined);
    },
    async destroy(id: string, orgId?: string): Promise<void> {
      if (ID.test(id)) await o.store.delete(sessionHash(id), orgId);
    },
    /** Ends every session of an organisation at once; answers how many there were. */
    destroyOrg(orgId: string): Promise<number> {
      return o.store.deleteOrg(orgId);
    },
    cookie(req: FastifyRequest, id: string): string {
      return fastifyCookie.serialize(SESSION_COOKIE, id, { path: '/', httpOnly: true, sameSite: 'strict', secure: isSecure(req), maxAge: Math.min(ttl, max) });
    },
    clearCookie(req: FastifyRequest): string {
      return fastifyCookie.serialize(SESSION_COOKIE, '', { path: '/', httpOnly: true, sameSite: 'strict', secure: isSecure(req), maxAge: 0 });
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;
