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
  /**
   * A non-secret fingerprint of the principal entry a key matches (its
   * digest, organisation and role), for binding a session to the key that
   * opened it; null for an unknown key.
   */
  bindingOf(key: string | undefined): string | null;
  /** The principal whose entry still has this fingerprint; null once the key is removed, rotated or moved. */
  byBinding(binding: string): Principal | null;
}

/** `env:` keys shorter than this are refused at start: a short key can be guessed. */
export const MIN_ENV_KEY_LENGTH = 32;

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
      else if (value.length < MIN_ENV_KEY_LENGTH) problems.push(`principals.${i}.key: the key in environment variable ${name} (${p.orgId}, ${p.role}) has ${value.length} characters; at least ${MIN_ENV_KEY_LENGTH} are needed`);
      else digest = sha256(value);
    }
    const org = topology.orgs.get(p.orgId);
    if (digest) byHash.set(digest.toString('hex'), { orgId: p.orgId, role: p.role, land: org?.land, name: p.name });
  });
  if (problems.length > 0) throw new PrincipalConfigError(problems);

  const devKeys = configured.length === 0 && opts.loopback;
  const principalOf = (orgId: string, role: Role): Principal => ({ orgId, role, land: topology.orgs.get(orgId)?.land });
  // The binding names the entry (digest, organisation, role), hashed once more: it says nothing about the key.
  const bindingFor = (digestHex: string, p: Principal) => sha256(`lotse-session-binding\0${digestHex}\0${p.orgId}\0${p.role}`).toString('hex');
  const byBindingMap = new Map<string, Principal>();
  for (const [digestHex, p] of byHash) byBindingMap.set(bindingFor(digestHex, p), p);
  const devBinding = (orgId: string, role: Role) => bindingFor(`dev-${orgId}`, principalOf(orgId, role));

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
    bindingOf(key) {
      if (!key) return null;
      if (devKeys && key.startsWith('dev-')) {
        const orgId = key.slice(4);
        const role = devRoleFor(topology, orgId);
        return role ? devBinding(orgId, role) : null;
      }
      const digestHex = sha256(key).toString('hex');
      const p = byHash.get(digestHex);
      return p ? bindingFor(digestHex, p) : null;
    },
    byBinding(binding) {
      const p = byBindingMap.get(binding);
      if (p) return p;
      if (!devKeys) return null;
      // Development keys have no entry: the binding is recomputed for each organisation's own key.
      for (const org of topology.orgs.values()) {
        const role = devRoleFor(topology, org.id);
        if (role && devBinding(org.id, role) === binding) return principalOf(org.id, role);
      }
      return null;
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

/**
 * Whether a Host header names this machine's loopback: `localhost`,
 * `127.0.0.0/8` or `[::1]`, with or without a port. A DNS-rebinding page
 * sends its own name, which this refuses.
 */
export function isLoopbackHost(header: string | undefined): boolean {
  if (!header) return false;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]+))(?::\d{1,5})?$/.exec(header.trim());
  if (!m) return false;
  if (m[1] !== undefined) return m[1] === '::1' || /^(0{0,4}:){1,7}0{0,3}1$/.test(m[1]) || /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/i.test(m[1]);
  const name = m[2]!.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}
