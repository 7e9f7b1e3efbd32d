import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatAclFile, formatSetUser, redisAclUsers, RedisAclError } from '../../src/queue/acl.js';
import { queuePasswords, startAclRedis, topologyWithQueueUsers } from '../helpers/redis-acl.js';
import { waitFor } from '../helpers/harness.js';
import {
  deskCreatesOnItsOwnQueue,
  forgedOrgIdFails,
  openQueueAclWorld,
  providerAnswersAsItself,
  QUEUE_USERS,
  refusedEverythingElse,
  type QueueAclWorld,
} from '../helpers/queue-acl.js';

// Issue 18 item 1: each organisation on the queues has a Redis user that reaches its own queues only,
// and a job acts as the organisation whose queue it came through. Real Redis, real BullMQ, the ACL file
// `lotse redis-acl` prints; the cluster variant is test/e2e/queue-acl-cluster.test.ts.
let w: QueueAclWorld;
beforeAll(async () => {
  w = await openQueueAclWorld({ cluster: false });
}, 30_000);
afterAll(() => w?.close());

describe('a desk with its own Redis user', () => {
  it('adds a ticket on intake-<desk> and gets { ticketId } back; answers on events-<desk>; Redis refuses none of it', () => deskCreatesOnItsOwnQueue(w));
  it('cannot act as another organisation: an orgId naming one fails the job with the field named', () => forgedOrgIdFails(w, 'desk-BY'));
  it('is refused another desk\'s queue, the shared queues, a provider\'s handoffs, tickets, sessions and the stream', () =>
    refusedEverythingElse(w, 'desk-BY', { add: ['intake-desk-HB', 'events-desk-HB', 'intake', 'events', 'events-dataport'], read: ['intake-desk-HB', 'handoff-dataport', 'intake', 'sla'] }));
});

describe('a provider with its own Redis user, through the provider kit', () => {
  it('takes its handoff and sends receipt and resolution as itself; Redis refuses none of it', () => providerAnswersAsItself(w));
  it('cannot act as another organisation on events-<provider>', () => forgedOrgIdFails(w, 'dataport'));
  it('is refused another provider\'s handoffs, the desks\' queues, the shared queues, tickets, sessions and the stream', () =>
    refusedEverythingElse(w, 'dataport', { add: ['events', 'events-it-BY', 'events-desk-BY', 'intake-dataport', 'intake', 'handoff-it-BY'], read: ['handoff-it-BY', 'intake-desk-BY', 'events'] }));
});

describe('lotse redis-acl', () => {
  const topology = topologyWithQueueUsers(QUEUE_USERS);
  const passwords = queuePasswords(QUEUE_USERS);
  const lotse = { username: 'lotse', password: 'a-password-of-lotse-itself' };

  it('prints one user per organisation on the queues and Lotse\'s own, with password hashes and never a password', () => {
    const users = redisAclUsers({ topology, prefix: '{lotse}', lotse, env: passwords.env });
    expect(users.map((u) => u.name).sort()).toEqual(['lotse', ...QUEUE_USERS].sort());
    const file = formatAclFile(users);
    const lines = file.trim().split('\n');
    expect(lines[0]).toMatch(/^user lotse on #[0-9a-f]{64} resetkeys ~\{lotse\}:\* resetchannels \+@all$/);
    expect(lines.find((l) => l.startsWith('user desk-BY '))).toMatch(/resetkeys ~\{lotse\}:intake-desk-BY:\* ~\{lotse\}:events-desk-BY:\* resetchannels -@all \+/);
    expect(lines.find((l) => l.startsWith('user dataport '))).toMatch(/resetkeys ~\{lotse\}:events-dataport:\* ~\{lotse\}:handoff-dataport:\* ~\{lotse\}:provider:dataport:\* resetchannels -@all \+/);
    expect(lines.at(-1)).toBe('user default off resetpass resetkeys resetchannels -@all');
    const setuser = formatSetUser(users);
    expect(setuser.split('\n')[1]).toMatch(/^ACL SETUSER desk-[A-Z]{2} reset on #[0-9a-f]{64} /);
    for (const secret of [lotse.password, ...Object.values(passwords.env)]) {
      expect(file).not.toContain(secret);
      expect(setuser).not.toContain(secret);
    }
  });

  it('refuses, naming each, when a password is missing or short, or REDIS_URL names no user', () => {
    const { LOTSE_REDIS_PASSWORD_DATAPORT: _gone, ...env } = passwords.env;
    const run = (over: Partial<Parameters<typeof redisAclUsers>[0]>) => () => redisAclUsers({ topology, prefix: 'lotse', lotse, env, ...over });
    expect(run({})).toThrow(RedisAclError);
    expect(run({})).toThrow(/organisations\.\d+\.queues\.password: environment variable LOTSE_REDIS_PASSWORD_DATAPORT is not set \(the Redis password of dataport\)/);
    expect(run({ env: { ...passwords.env, LOTSE_REDIS_PASSWORD_DESK_BY: 'short' } })).toThrow(/LOTSE_REDIS_PASSWORD_DESK_BY is shorter than 16 characters/);
    expect(run({ env: passwords.env, lotse: {} })).toThrow(/REDIS_URL: name Lotse's own Redis user and its password in it/);
  });
});

describe('the command', () => {
  // The built-in topology with queues: on dataport (default variable) and desk-BY (a named one), as a file.
  const dir = mkdtempSync(join(tmpdir(), 'lotse-redis-acl-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'topology.json');
  writeFileSync(file, JSON.stringify({
    ...DEFAULT_TOPOLOGY,
    organisations: DEFAULT_TOPOLOGY.organisations.map((o) =>
      o.id === 'dataport' ? { ...o, queues: true } : o.id === 'desk-BY' ? { ...o, queues: { password: 'env:BY_QUEUE_PASSWORD' } } : o),
  }));
  const secrets = { REDIS_URL: 'redis://lotse:lotse-own-password-0001@127.0.0.1:6379', LOTSE_REDIS_PASSWORD_DATAPORT: 'dataport-password-0001', BY_QUEUE_PASSWORD: 'desk-by-password-0001' };
  const lotseCli = (env: Record<string, string>, ...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'redis-acl', ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, LOTSE_CONFIG: file, LOTSE_PREFIX: 'lotse', ...env } });

  it('prints the ACL file and the SETUSER lines with hashes, never a secret', () => {
    const aclfile = lotseCli(secrets);
    expect(aclfile.status, aclfile.stderr).toBe(0);
    expect(aclfile.stdout.trim().split('\n').map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(['user lotse', 'user desk-BY', 'user dataport', 'user default']);
    const setuser = lotseCli(secrets, '--format', 'setuser');
    expect(setuser.status, setuser.stderr).toBe(0);
    expect(setuser.stdout).toMatch(/^ACL SETUSER lotse reset on #[0-9a-f]{64} /);
    for (const secret of Object.values(secrets)) {
      expect(aclfile.stdout).not.toContain(secret.replace(/^redis:\/\/lotse:|@.*$/g, ''));
      expect(setuser.stdout).not.toContain(secret.replace(/^redis:\/\/lotse:|@.*$/g, ''));
    }
  });

  it('refuses with exit code 2, naming the missing variable, and prints nothing', () => {
    const { BY_QUEUE_PASSWORD: _missing, ...rest } = secrets;
    const run = lotseCli(rest);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/organisations\.\d+\.queues\.password: environment variable BY_QUEUE_PASSWORD is not set \(the Redis password of desk-BY\)/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(lotseCli(secrets, '--format', 'json').status).toBe(2);
  });
});

describe('the two formats', () => {
  /** A user as Redis holds it: flags, passwords, keys, channels and the commands its rules allow, expanded. */
  async function usersOf(redis: Redis, skip: string): Promise<Record<string, unknown>> {
    const all = ((await redis.call('COMMAND', 'LIST')) as string[]).map((c) => c.toLowerCase());
    const categoryCache = new Map<string, string[]>();
    const category = async (c: string) => categoryCache.get(c) ?? categoryCache.set(c, ((await redis.call('ACL', 'CAT', c)) as string[]).map((x) => x.toLowerCase())).get(c)!;
    const out: Record<string, unknown> = {};
    for (const name of ((await redis.call('ACL', 'USERS')) as string[]).filter((u) => u !== skip)) {
      const info = (await redis.call('ACL', 'GETUSER', name)) as unknown[];
      const u = Object.fromEntries(Array.from({ length: info.length / 2 }, (_, i) => [info[2 * i], info[2 * i + 1]])) as Record<string, unknown>;
      const allowed = new Set<string>();
      for (const rule of String(u.commands).split(' ')) {
        const [sign, what] = [rule[0], rule.slice(1)];
        const names = what === '@all' ? all : what.startsWith('@') ? await category(what.slice(1)) : [what];
        for (const n of names) {
          if (sign === '+') allowed.add(n);
          else allowed.delete(n);
        }
      }
      out[name] = { flags: (u.flags as string[]).filter((f) => f !== 'sanitize-payload'), passwords: u.passwords, keys: u.keys, channels: u.channels, commands: [...allowed].sort() };
    }
    return out;
  }

  it('ACL SETUSER lines piped to redis-cli give the users the ACL file gives', async () => {
    const admin = { user: 'admin', password: 'an-administrator-of-the-operators' };
    const server = await startAclRedis(`user ${admin.user} on >${admin.password} ~* &* +@all\n`, admin);
    const viaCli = new Redis({ port: server.port, username: admin.user, password: admin.password });
    try {
      await new Promise<void>((resolve, reject) => {
        const cli = spawn('redis-cli', ['-p', String(server.port), '--user', admin.user, '--pass', admin.password, '--no-auth-warning'], { stdio: ['pipe', 'ignore', 'inherit'] });
        cli.on('error', reject);
        cli.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`redis-cli exited ${code}`))));
        cli.stdin.end(formatSetUser(w.users));
      });
      expect(await usersOf(viaCli, admin.user)).toEqual(await usersOf(w.client('lotse') as Redis, admin.user));
    } finally {
      viaCli.disconnect();
      await server.stop();
    }
  });
});

describe('Lotse\'s own user with three partitions (LOTSE_PARTITIONS=3)', () => {
  let p: QueueAclWorld;
  beforeAll(async () => {
    p = await openQueueAclWorld({ cluster: false, partitions: 3 });
  }, 30_000);
  afterAll(() => p?.close());

  it('reaches the partitions\' prefixes by its ACL rule: a Bavarian desk\'s ticket is made, armed and published in partition 2 with nothing refused', async () => {
    const lotse = p.users.find((u) => u.commands === 'all')!;
    expect(lotse.keys).toEqual([`${p.prefix}:*`, `${p.prefix}-p*`]);
    await deskCreatesOnItsOwnQueue(p);
    const admin = p.client('lotse');
    const ids = await admin.zrange(`${p.prefix}-p2:ix:all`, 0, -1);
    expect(ids.length).toBe(1);
    expect(ids[0]).toMatch(/-2$/);
    await waitFor(async () => (await admin.zcard(`${p.prefix}-p2:sla:delayed`)) === 1 && (await admin.xlen(`${p.prefix}-p2:events`)) >= 2, { what: 'the timer and the events in partition 2' });
    expect(await p.aclLog()).toEqual([]);
  });
});
