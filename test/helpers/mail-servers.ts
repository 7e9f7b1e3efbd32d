/**
 * A private Postfix and a private Dovecot on loopback ports, for the mail
 * tests: no mocks of mail. Debian's packages (`.ci/run` installs postfix,
 * dovecot-imapd, dovecot-lmtpd, dovecot-sieve); everything else is ours: a
 * temp dir holds both servers' config, queue, state and mailboxes, so the
 * system's /etc/postfix and /etc/dovecot are never read or changed. Postfix
 * and Dovecot start their daemons as root and drop to their own users, as
 * they do in production: the tests run as root (CI does). Mail is stored as
 * `nobody` (Dovecot refuses UIDs below 500 and root). KEEP_MAIL_DIR=1 keeps
 * the temp dir after stop, to read the servers' logs and mailboxes.
 *
 * Routing (Postfix transport map):
 *   lotse.test        → Dovecot LMTP (Lotse's own mailbox `lotse`: replies, bounces, vacation notes)
 *   vendor.test       → Dovecot LMTP (`support` is on vacation; any other user is unknown: 550 5.1.1 → a real bounce)
 *   in.lotse.test     → Lotse's SMTP listener on `listenerPort` (relay via transport map)
 *   lmtp.lotse.test   → Lotse's listener in LMTP mode on `lmtpListenerPort`
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, closeSync, copyFileSync, openSync, readFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/embedded-redis.js';

const NOBODY = 65534;

export const MAIL_USERS = { lotse: { user: 'lotse', pass: 'pw-lotse' }, support: { user: 'support', pass: 'pw-support' } } as const;

export interface MailServers {
  dir: string;
  /** Postfix's smtpd: Lotse sends here (LOTSE_SMTP_URL=smtp://127.0.0.1:<port>). */
  smtpPort: number;
  imapPort: number;
  lmtpPort: number;
  /** Where Postfix relays `@in.lotse.test` (SMTP) and `@lmtp.lotse.test` (LMTP): start Lotse's listener there. */
  listenerPort: number;
  lmtpListenerPort: number;
  /** Files in a user's Maildir (new and cur). */
  maildir(user: keyof typeof MAIL_USERS): string[];
  /** Both servers' output so far, for a failing test's message. */
  logs(): string;
  /** Ask Postfix to retry its deferred mail now. */
  flush(): void;
  stop(): Promise<void>;
}

/** Why the servers cannot run here, or null when they can. */
export function mailServersMissing(): string | null {
  const missing = ['/usr/sbin/postfix', '/usr/sbin/postconf', '/usr/sbin/dovecot', '/usr/lib/dovecot/imap', '/usr/lib/dovecot/lmtp', '/usr/lib/dovecot/modules/lib90_sieve_plugin.so'].filter((f) => !existsSync(f));
  if (missing.length) return `not installed: ${missing.join(', ')} (apt-get install postfix dovecot-imapd dovecot-lmtpd dovecot-sieve; .ci/run does)`;
  if (process.getuid?.() !== 0) return 'Postfix and Dovecot start as root (as in CI); these tests run as root only';
  return null;
}

export async function startMailServers(): Promise<MailServers> {
  const why = mailServersMissing();
  if (why) throw new Error(why);
  const dir = mkdtempSync(join(tmpdir(), 'lotse-mail-'));
  // The servers' own users (postfix, dovecot, nobody) must reach into it.
  chmodSync(dir, 0o755);
  const [smtpPort, imapPort, lmtpPort, listenerPort, lmtpListenerPort] = await freePorts(5);
  const children: ChildProcess[] = [];
  const servers: MailServers = {
    dir,
    smtpPort: smtpPort!,
    imapPort: imapPort!,
    lmtpPort: lmtpPort!,
    listenerPort: listenerPort!,
    lmtpListenerPort: lmtpListenerPort!,
    maildir: (user) => ['new', 'cur'].flatMap((sub) => {
      const d = join(dir, 'home', user, 'Maildir', sub);
      return existsSync(d) ? readdirSync(d).map((f) => join(d, f)) : [];
    }),
    logs: () => ['postfix.log', 'dovecot.log'].map((f) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : '')).join(''),
    flush: () => void spawnSync('/usr/sbin/postqueue', ['-c', join(dir, 'postfix'), '-f']),
    async stop() {
      spawnSync('/usr/sbin/postfix', ['-c', join(dir, 'postfix'), 'stop'], { stdio: 'ignore' });
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await Promise.all(children.map((c) => exited(c, 10_000)));
      if (!process.env.KEEP_MAIL_DIR) rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    writeDovecot(servers);
    children.push(run('/usr/sbin/dovecot', ['-c', join(dir, 'dovecot', 'dovecot.conf'), '-F'], join(dir, 'dovecot.log')));
    writePostfix(servers);
    children.push(run('/usr/sbin/postfix', ['-c', join(dir, 'postfix'), 'start-fg'], join(dir, 'postfix.log')));
    await Promise.all([banner(servers.smtpPort, '220 '), banner(servers.imapPort, '* OK'), banner(servers.lmtpPort, '220 ')]);
    return servers;
  } catch (err) {
    const logs = servers.logs();
    await servers.stop();
    throw new Error(`${(err as Error).message}\n${logs}`);
  }
}

function writePostfix(s: MailServers): void {
  const d = join(s.dir, 'postfix');
  const spool = join(s.dir, 'spool');
  const data = join(s.dir, 'data');
  for (const p of [d, spool, data]) mkdirSync(p, { recursive: true });
  chownSync(data, uidOf('postfix'), 0);
  writeFileSync(join(d, 'main.cf'), '');
  copyFileSync('/usr/share/postfix/master.cf.dist', join(d, 'master.cf'));
  writeFileSync(
    join(d, 'transport'),
    [
      `lotse.test lmtp:inet:127.0.0.1:${s.lmtpPort}`,
      `vendor.test lmtp:inet:127.0.0.1:${s.lmtpPort}`,
      `in.lotse.test smtp:[127.0.0.1]:${s.listenerPort}`,
      `lmtp.lotse.test lmtp:inet:127.0.0.1:${s.lmtpListenerPort}`,
      '',
    ].join('\n'),
  );
  postconf(d, ['-e',
    'compatibility_level=3.6', `queue_directory=${spool}`, `data_directory=${data}`, 'maillog_file=/dev/stdout',
    'myhostname=mx.lotse.test', 'mydomain=lotse.test', 'mydestination=', 'alias_maps=', 'alias_database=', 'local_recipient_maps=',
    'inet_interfaces=127.0.0.1', 'inet_protocols=ipv4', 'mynetworks=127.0.0.0/8', 'smtp_dns_support_level=disabled',
    'smtpd_tls_security_level=none', 'smtp_tls_security_level=none',
    'relay_domains=lotse.test vendor.test in.lotse.test lmtp.lotse.test', `transport_maps=texthash:${join(d, 'transport')}`,
    'queue_run_delay=1s', 'minimal_backoff_time=1s', 'maximal_backoff_time=2s', 'maximal_queue_lifetime=1h', 'bounce_queue_lifetime=1h',
    'smtp_connect_timeout=5s', 'lmtp_connect_timeout=5s',
  ]);
  postconf(d, ['-MX', 'smtp/inet']);
  postconf(d, ['-M', `${s.smtpPort}/inet=${s.smtpPort} inet n - n - - smtpd`]);
  // Only Debian's init script fills a chroot; ours runs without one.
  postconf(d, ['-F', '*/*/chroot = n']);
}

function writeDovecot(s: MailServers): void {
  const v = join(s.dir, 'dovecot');
  for (const p of [v, join(s.dir, 'run'), join(s.dir, 'state')]) mkdirSync(p, { recursive: true });
  const users = Object.values(MAIL_USERS).map(({ user, pass }) => `${user}:{PLAIN}${pass}:${NOBODY}:${NOBODY}::${join(s.dir, 'home', user)}`);
  writeFileSync(join(v, 'users'), users.join('\n') + '\n');
  for (const { user } of Object.values(MAIL_USERS)) {
    mkdirSync(join(s.dir, 'home', user), { recursive: true });
    chownSync(join(s.dir, 'home', user), NOBODY, NOBODY);
  }
  // The vendor's desk is on vacation: a real RFC 3834 reply to every mail that asks none be sent (`:seconds 0`, RFC 6131; no minimum period).
  const sieve = join(s.dir, 'home', 'support', '.dovecot.sieve');
  writeFileSync(sieve, 'require ["vacation", "vacation-seconds"];\nvacation :seconds 0 :subject "Abwesenheitsnotiz" "Ich bin bis Montag nicht im Büro.";\n');
  chownSync(sieve, NOBODY, NOBODY);
  writeFileSync(
    join(v, 'dovecot.conf'),
    `protocols = imap lmtp
listen = 127.0.0.1
base_dir = ${join(s.dir, 'run')}
state_dir = ${join(s.dir, 'state')}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
auth_username_format = %Ln
log_path = /dev/stderr
mail_location = maildir:~/Maildir
hostname = imap.vendor.test
postmaster_address = postmaster@vendor.test
submission_host = 127.0.0.1:${s.smtpPort}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%Ln ${join(v, 'users')}
}
userdb {
  driver = passwd-file
  args = username_format=%Ln ${join(v, 'users')}
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${s.imapPort}
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${s.lmtpPort}
  }
}
protocol lmtp {
  mail_plugins = $mail_plugins sieve
}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
  sieve_extensions = +vacation-seconds
  sieve_vacation_min_period = 0
}
`,
  );
}

function postconf(configDir: string, args: string[]): void {
  const r = spawnSync('/usr/sbin/postconf', ['-c', configDir, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`postconf ${args.join(' ')}: ${r.stderr}`);
}

function uidOf(user: string): number {
  const r = spawnSync('id', ['-u', user], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`no system user ${user}`);
  return Number(r.stdout.trim());
}

/** Output goes to a file: Postfix's `maillog_file = /dev/stdout` fails (exit 1, silent) when stdout is a pipe. */
function run(cmd: string, args: string[], logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.on('error', (err) => appendFileSync(logFile, `${cmd}: ${err.message}\n`));
  return child;
}

function exited(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** Polls a port until it greets with `prefix`, for at most 20 s. */
async function banner(port: number, prefix: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const line = await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      let data = '';
      socket.setTimeout(1000, () => socket.destroy());
      socket.on('data', (b) => {
        data += b.toString();
        if (data.includes('\n')) socket.destroy();
      });
      socket.on('close', () => resolve(data));
      socket.on('error', () => resolve(''));
    });
    if (line.startsWith(prefix)) return;
    if (Date.now() > deadline) throw new Error(`nothing greets on 127.0.0.1:${port} (last: ${JSON.stringify(line)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
