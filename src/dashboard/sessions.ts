import { randomBytes } from 'node:crypto';
import { fastifyCookie } from '@fastify/cookie';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../domain/access.js';
import type { SessionStore } from '../store/sessions.js';

export const SESSION_COOKIE = 'lotse_session';
/** Eight hours, renewed with every request: a shift at the board. */
export const SESSION_TTL_S = 8 * 3600;
const ID = /^[A-Za-z0-9_-]{43}$/;

export interface Session {
  id: string;
  principal: Principal;
  /** Sent back by the page with every change (x-csrf-token header or `_csrf` field). */
  csrf: string;
  createdAt: string;
}

const newSecret = () => randomBytes(32).toString('base64url');

/** Served over TLS, directly or behind a proxy that says so. */
export const isSecure = (req: FastifyRequest) => req.protocol === 'https' || String(req.headers['x-forwarded-proto'] ?? '').split(',')[0]?.trim() === 'https';

/**
 * Dashboard sessions, kept by src/store/sessions.ts under a random id, holding the
 * principal (never the key), with a sliding expiry. Only a valid key creates
 * one, and every one expires, so sessions cannot grow Redis without bound.
 */
export function createSessions(o: { store: SessionStore; ttlSeconds?: number }) {
  const ttl = o.ttlSeconds ?? SESSION_TTL_S;

  async function get(id: string | undefined): Promise<Session | null> {
    if (!id || !ID.test(id)) return null;
    // GETEX renews the expiry with the read: the session slides while it is used.
    const raw = await o.store.read(id, ttl);
    return raw ? ({ ...(JSON.parse(raw) as Omit<Session, 'id'>), id }) : null;
  }

  return {
    ttlSeconds: ttl,
    async create(principal: Principal, at: number): Promise<Session> {
      const session: Session = { id: newSecret(), principal, csrf: newSecret(), createdAt: new Date(at).toISOString() };
      const { id: _id, ...stored } = session;
      await o.store.write(session.id, JSON.stringify(stored), ttl);
      return session;
    },
    get,
    fromRequest(req: FastifyRequest): Promise<Session | null> {
      const header = req.headers.cookie;
      return get(header ? fastifyCookie.parse(header)[SESSION_COOKIE] : undefined);
    },
    async destroy(id: string): Promise<void> {
      if (ID.test(id)) await o.store.delete(id);
    },
    cookie(req: FastifyRequest, id: string): string {
      return fastifyCookie.serialize(SESSION_COOKIE, id, { path: '/', httpOnly: true, sameSite: 'strict', secure: isSecure(req), maxAge: ttl });
    },
    clearCookie(req: FastifyRequest): string {
      return fastifyCookie.serialize(SESSION_COOKIE, '', { path: '/', httpOnly: true, sameSite: 'strict', secure: isSecure(req), maxAge: 0 });
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;
