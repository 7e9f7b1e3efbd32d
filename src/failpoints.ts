/**
 * Crash points for the crash tests: `LOTSE_FAILPOINT=<name>` makes the
 * process kill itself with SIGKILL when it reaches that point, the way a
 * power cut would. Unset in production; a no-op then.
 */
const armed = new Set((process.env.LOTSE_FAILPOINT ?? '').split(',').filter(Boolean));

export function failpoint(name: string): void {
  if (armed.has(name)) process.kill(process.pid, 'SIGKILL');
}
