import { createHash } from 'node:crypto';
import { devRoleFor, type Principal } from '../domain/access.js';
import type { Role, Topology } from '../domain/topology.js';

/** Turns a bearer key into a principal, and an organisation into the principal its queue jobs act as. */
export interface PrincipalResolver {
  authenticate(key: string | undefined): Principal | null;
  /** For jobs on the intake and events queues, which carry only `orgId`. */
  forOrg(orgId: string, preferredRole?: Role): Principal | undefined;
  /** Whether `dev-<orgId>` keys are accepted (no principals configured, loopback only). */
  readonly devKeys: boolean;
}

export class PrincipalConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export function createPrincipalResolver(topology: Topology, env: NodeJS.ProcessEnv, opts: { loopback: boolean }): PrincipalResolver {
  const configured = topology.config.principals;
  const problems: string[] = [];
  const byHash = new Map<string, Principal>();
  configured.forEach((p, i) => {
    let digest: Buffer | undefined;
    if (p.key.startsWith('sha256:')) digest = Buffer.from(p.key.slice(7), 'hex');
    else {
      const name = p.key.slice(4);
      const value = env[name];
      if (!value) problems.push(`principals.${i}.key: environment variable ${name} is not set`);
      else digest = sha256(value);
    }
    const org = topology.orgs.get(p.orgId);
    if (digest) byHash.set(digest.toString('hex'), { orgId: p.orgId, role: p.role, land: org?.land, name: p.name });
  });
  if (problems.length > 0) throw new PrincipalConfigError(problems);

  const devKeys = configured.length === 0 && opts.loopback;
  const principalOf = (orgId: string, role: Role): Principal => ({ orgId, role, land: topology.orgs.get(orgId)?.land });

  return {
    devKeys,
    authenticate(key) {
      if (!key) return null;
      if (devKeys && key.startsWith('dev-')) {
        const orgId = key.slice(4);
        const role = devRoleFor(topology, orgId);
        return role ? principalOf(orgId, role) : null;
      }
      // Looked up by SHA-256 digest: the stored secret never meets the caller's bytes.
      return byHash.get(sha256(key).toString('hex')) ?? null;
    },
    forOrg(orgId, preferredRole) {
      if (!topology.orgs.has(orgId)) return undefined;
      const roles = configured.filter((p) => p.orgId === orgId).map((p) => p.role);
      const role = (preferredRole && roles.includes(preferredRole) ? preferredRole : roles[0]) ?? devRoleFor(topology, orgId);
      return role ? principalOf(orgId, role) : undefined;
    },
  };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
