/**
 * The engine: the one path every change takes (path.ts: create, change,
 * amend; its interfaces in interfaces.ts), one folder per kind with the
 * same file names (ticket/, backlog/), and the closed list of effects a
 * committed change asks for (effects.ts, run by executors.ts).
 */
export { actorOf, amend, change, create, load, loadInReach, step } from './path.js';
export type { Amendment, Change, ChangeOutcome, ChangePlan, CreateOutcome, Decision, MachineKind, MachineRecord, PathDeps } from './interfaces.js';
export { timerJobId, type Effect, type EffectKind } from './effects.js';
export { createExecutors, type Executors, type WebhookRouting } from './executors.js';
export { EVENT_IDEMPOTENCY_TTL_S, fingerprint, idempotencyDigest } from './idempotency-keys.js';
