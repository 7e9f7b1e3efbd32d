import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../domain/access.js';
import type { Role } from '../domain/topology.js';
import type { PrincipalResolver } from '../config/principals.js';
import { AppError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    /** Set when the caller came with the dashboard's session cookie rather than a key. */
    sessionId?: string;
  }
  interface FastifyContextConfig {
    /** Roles allowed on the route; absent: the route is public. */
    roles?: readonly Role[];
  }
}

/** A browser session (the dashboard's cookie): who it is, and the token its changes must carry. */
export interface SessionAuth {
  fromRequest(req: FastifyRequest): Promise<{ id: string; principal: Principal; csrf: string } | null>;
}

/**
 * Failed keys counted per client address and per key prefix in a window: the
 * dashboard login's counters (src/dashboard/sessions.ts), one mechanism for
 * both doors.
 */
export interface KeyThrottle {
  /** Seconds to wait while the client or the key's prefix is throttled, else null. */
  throttled(req: FastifyRequest, key: string): Promise<number | null>;
  /** Counts a wrong key; answers the failures in the window. */
  failed(req: FastifyRequest, key: string): Promise<number>;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The origin the browser would send for a page of this server. */
export function ownOrigin(req: FastifyRequest): string {
  // protocol and host follow X-Forwarded-* only from a proxy LOTSE_TRUST_PROXY names.
  return `${req.protocol}://${req.host}`;
}

/**
 * A change made with a cookie must come from our own page: the session's
 * token in `x-csrf-token` (or a form's `_csrf`) and, when the browser names
 * it, our own Origin. SameSite=Strict already keeps other sites' requests
 * cookieless; this is the second lock.
 */
/** Compares two tokens in constant time. */
export function sameToken(a: string | undefined, b: string): boolean {
  if (typeof a !== 'string') return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function checkCsrf(req: FastifyRequest, csrf: string) {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== ownOrigin(req)) throw new AppError('FORBIDDEN', 'Cross-site request refused (Origin)', { reason: 'csrf' });
  const header = req.headers['x-csrf-token'];
  const field = (req.body as { _csrf?: unknown } | undefined)?._csrf;
  const token = typeof header === 'string' ? header : typeof field === 'string' ? field : undefined;
  if (!sameToken(token, csrf)) throw new AppError('FORBIDDEN', 'Missing or wrong CSRF token', { reason: 'csrf' });
}

/**
 * onRequest: every route with `config.roles` needs a known key of one of
 * those roles, or (without an Authorization header) a dashboard session of
 * one of them. A session's unsafe requests are checked for CSRF in
 * preValidation, once the body is parsed and before anything acts on it.
 */
export function makeAuthHook(principals: PrincipalResolver, sessions?: SessionAuth, throttle?: KeyThrottle) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const roles = req.routeOptions.config.roles;
    if (!roles) return;
    const header = req.headers.authorization;
    let principal: Principal | null = null;
    if (header === undefined && sessions) {
      const session = await sessions.fromRequest(req);
      if (session) {
        principal = session.principal;
        req.sessionId = session.id;
        if (!SAFE.has(req.method)) csrfOf.set(req, session.csrf);
      }
    }
    if (!principal) {
      const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
      const key = match?.[1];
      // Key guessing is throttled like the board's login, before the key is checked: a right key from a throttled client waits too.
      const retryAfter = key !== undefined && throttle ? await throttle.throttled(req, key) : null;
      if (retryAfter !== null) {
        req.log.warn({ client: req.ip, keyLength: key!.length }, 'API key throttled');
        reply.header('retry-after', String(retryAfter));
        throw new AppError('RATE_LIMITED', `Too many wrong keys from this client or for this key prefix; try again in ${retryAfter} seconds`, { retryAfter });
      }
      principal = principals.authenticate(key);
      if (!principal) {
        // A guess leaves a trace: the client and the key's length, never the key.
        if (key !== undefined) {
          const failures = throttle ? await throttle.failed(req, key) : undefined;
          req.log.warn({ client: req.ip, keyLength: key.length, ...(failures !== undefined ? { failures } : {}) }, 'unknown API key');
        }
        throw new AppError('UNAUTHENTICATED', match ? 'Unknown API key' : 'Send Authorization: Bearer <key>');
      }
    }
    if (!roles.includes(principal.role)) throw new AppError('FORBIDDEN', `The role ${principal.role} may not do this`);
    req.principal = principal;
  };
}

const csrfOf = new WeakMap<FastifyRequest, string>();

/** preValidation: the CSRF check of a cookie-authenticated change (the body is parsed by now). */
export async function csrfHook(req: FastifyRequest) {
  const csrf = csrfOf.get(req);
  if (csrf !== undefined) checkCsrf(req, csrf);
}

export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new AppError('UNAUTHENTICATED', 'Send Authorization: Bearer <key>');
  return req.principal;
}
