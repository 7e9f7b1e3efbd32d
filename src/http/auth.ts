import type { FastifyRequest } from 'fastify';
import type { Principal } from '../domain/access.js';
import type { Role } from '../domain/topology.js';
import type { PrincipalResolver } from '../config/principals.js';
import { AppError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Roles allowed on the route; absent: the route is public. */
    roles?: readonly Role[];
  }
}

/** onRequest: every route with `config.roles` needs a known key of one of those roles. */
export function makeAuthHook(principals: PrincipalResolver) {
  return async (req: FastifyRequest) => {
    const roles = req.routeOptions.config.roles;
    if (!roles) return;
    const header = req.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    const principal = principals.authenticate(match?.[1]);
    if (!principal) throw new AppError('UNAUTHENTICATED', match ? 'Unknown API key' : 'Send Authorization: Bearer <key>');
    if (!roles.includes(principal.role)) throw new AppError('FORBIDDEN', `The role ${principal.role} may not do this`);
    req.principal = principal;
  };
}

export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new AppError('UNAUTHENTICATED', 'Send Authorization: Bearer <key>');
  return req.principal;
}
