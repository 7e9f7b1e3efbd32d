import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = new URL('../../', import.meta.url).pathname;

export interface LotseProcess {
  child: ChildProcess;
  /** Every log line the process wrote, parsed where it was JSON. */
  logs: Record<string, unknown>[];
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** The base URL once the API listens. */
  url(): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): Promise<void>;
}

/**
 * Runs `lotse <args>` as a real process, the way a user does: from the
 * TypeScript sources through tsx, or from a build (`npm run build`, the
 * Docker image's way) when `build` names its folder.
 */
export function spawnLotse(args: string[], env: Record<string, string>, build?: string): LotseProcess {
  return spawnInRepo(process.execPath, build ? [join(build, 'src/cli.js'), ...args] : ['--import', 'tsx', 'src/cli.ts', ...args], env);
}

/** Runs any command in the repository root (`npm start`, say), with the same log capture as spawnLotse. */
export function spawnInRepo(command: string, args: string[], env: Record<string, string>): LotseProcess {
  const child = spawn(command, args, {
    cwd: ROOT,
    // No load shedding unless a test asks for it (a busy shared machine must not shed the tests' requests).
    env: { ...process.env, LOG_LEVEL: 'info', PORT: '0', LOTSE_MAX_EVENT_LOOP_DELAY_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  const push = (line: string) => {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      entry = { raw: line };
    }
    logs.push(entry);
    for (const w of waiters) w();
  };
  createInterface({ input: child.stdout! }).on('line', push);
  createInterface({ input: child.stderr! }).on('line', (l) => push(JSON.stringify({ stderr: l })));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
      for (const w of waiters) w();
    }),
  );

  const waitForLog: LotseProcess['waitForLog'] = (match, timeoutMs = 20_000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = logs.find(match);
        if (found) return done(undefined, found);
        if (child.exitCode !== null || child.signalCode !== null) done(new Error(`lotse exited (${child.exitCode ?? child.signalCode}); logs:\n${logs.map((l) => JSON.stringify(l)).join('\n')}`));
      };
      const timer = setTimeout(() => done(new Error(`no such log line within ${timeoutMs} ms; logs:\n${logs.map((l) => JSON.stringify(l)).join('\n')}`)), timeoutMs);
      function done(err?: Error, value?: Record<string, unknown>) {
        clearTimeout(timer);
        waiters.delete(check);
        if (err) reject(err);
        else resolve(value!);
      }
      waiters.add(check);
      check();
    });

  return {
    child,
    logs,
    waitForLog,
    exited,
    async url() {
      const line = await waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('Server listening at http://127.0.0.1'));
      return String(line.msg).replace('Server listening at ', '');
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** One HTTP call to a running Lotse with an organisation's development key; the JSON answer and its status. */
export async function callAs(url: string, orgId: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer dev-${orgId}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
