import { HANDOFF_EVENT_TYPES, type CloudEvent } from '../domain/cloudevent.js';
import type { ConnectorConfig, LocalState } from '../domain/connector-config.js';
import type { ConnectorStore } from '../store/connector-store.js';
import { PENDING } from '../store/connector-store.js';
import type { Connector, RemoteChange } from './connector.js';

/** The parts of a ticket view and history entry a remote ticket is written from (the CloudEvent's `data`). */
interface HandoffData {
  ticket?: { id?: string; subject?: string; description?: string; service?: string; land?: string; priority?: string; category?: string; status?: string; state?: string; reporter?: { name?: string; email?: string; phone?: string } };
  history?: { type?: string; details?: Record<string, unknown> }[];
  reason?: string;
  change?: string;
  state?: string;
}

/** Where a remote change came from and how it was matched: the history entry's `via`. */
export type Via = Record<string, string | number | boolean>;

export interface SyncDeps {
  orgId: string;
  config: ConnectorConfig;
  connector: Connector & { whoAmI(remoteId: string): Promise<string> };
  store: ConnectorStore;
  now: () => number;
  /** Applies one event as the organisation, once per key: `refused` with the reason when the ticket does not take it. */
  apply(ticketId: string, event: { type: string } & Record<string, unknown>, key: string, via: Via): Promise<'applied' | 'replayed' | { refused: string }>;
  /** A note as Lotse itself, for a remote change the ticket does not take from the organisation (it is shown, never dropped). */
  noteAsSystem(ticketId: string, text: string, via: Via): Promise<void>;
  /** Whether the ticket waits for this organisation's receipt of a handoff; null when there is no such ticket. */
  awaitsReceipt(ticketId: string): Promise<boolean | null>;
  /** Test hook: runs after the remote create answered, before the correlation is filled (a crash there). */
  afterRemoteCreate?: (remoteId: string) => void;
}

const TEXT_FIELDS = ['text', 'note', 'resolution', 'question', 'info', 'answer', 'reason'] as const;

/** The German text of a new remote ticket: what Lotse knows of it that the organisation may see. */
export function handoffText(event: CloudEvent): { subject: string; text: string } {
  const d = (event.data ?? {}) as HandoffData;
  const t = d.ticket ?? {};
  const lines = [
    `Lotse übergibt Ihnen das Ticket ${event.subject}.`,
    '',
    `Dienst: ${t.service ?? '?'} · Land: ${t.land ?? '?'} · Priorität: ${t.priority ?? '?'} · Kategorie: ${t.category ?? '?'}`,
    ...(d.reason ? [`Grund der Übergabe: ${d.reason}`] : []),
    ...(t.reporter ? [`Meldende Person: ${[t.reporter.name, t.reporter.email, t.reporter.phone].filter(Boolean).join(', ')}`] : []),
    '',
    t.description || '(keine Beschreibung)',
    '',
    '---',
    'Ihre Antworten (Reply) gehen als Antworten an Lotse zurück; die erste gilt als Eingangsbestätigung.',
    'Setzen Sie das Ticket auf "resolved", wenn es gelöst ist. Interne Kommentare (Comment) bleiben bei Ihnen.',
  ];
  return { subject: `[Lotse#${event.subject}] ${t.subject ?? ''}`.trim().slice(0, 200), text: lines.join('\n') };
}

/** A comment for a change of the ticket in Lotse made by someone else, with the status it left. */
function updateText(event: CloudEvent, status: string, mapped: string | undefined): string {
  const d = (event.data ?? {}) as HandoffData;
  const last = d.history?.at(-1);
  const said = TEXT_FIELDS.map((f) => last?.details?.[f]).find((v): v is string => typeof v === 'string' && v !== '');
  return [
    event.type === HANDOFF_EVENT_TYPES.withdrawn
      ? `Lotse hat die Übergabe zurückgezogen${d.reason ? `: ${d.reason}` : ''}.`
      : event.type === HANDOFF_EVENT_TYPES.requested
        ? `Lotse übergibt Ihnen das Ticket erneut${d.reason ? `: ${d.reason}` : ''}.`
        : `Änderung in Lotse: ${d.change ?? last?.type ?? 'unbekannt'}.`,
    ...(said ? ['', said] : []),
    '',
    mapped ? `Lotse-Status: ${status} (hier: ${mapped})` : `Lotse-Status: ${status} (keine Zuordnung in diesem System; Status hier unverändert)`,
  ].join('\n');
}

/** Lotse's status as the event leaves it (a withdrawal is its own state for the mapping). */
function localState(event: CloudEvent): string {
  if (event.type === HANDOFF_EVENT_TYPES.withdrawn) return 'withdrawn';
  const d = (event.data ?? {}) as HandoffData;
  return d.ticket?.status ?? 'open';
}

export type PushOutcome = { remoteId: string; action: 'created' | 'found' | 'commented' };

/**
 * Carries one handoff effect to the remote system. A handoff request opens
 * the remote ticket, unless the correlation or the remote id field already
 * names one (a retried create finds the ticket it opened); anything else is
 * a comment, and a status where the mapping names one. Lotse's own changes
 * there are remembered, so reading them back changes nothing.
 */
export async function pushChange(deps: SyncDeps, event: CloudEvent): Promise<PushOutcome> {
  const { connector, store, orgId } = deps;
  const ticketId = event.subject;
  const cursorBefore = await store.cursor(orgId);
  let linked = await store.link(orgId, ticketId);
  let outcome: PushOutcome;
  if (linked === null || linked === PENDING) {
    if (event.type !== HANDOFF_EVENT_TYPES.requested && linked === null) {
      // An update or withdrawal for a ticket the organisation never got: nothing to tell there.
      return { remoteId: '', action: 'commented' };
    }
    const found = await connector.findByLotseId(ticketId);
    const remoteId = found ?? (await connector.create({ lotseId: ticketId, ...handoffText(event) }));
    deps.afterRemoteCreate?.(remoteId);
    await store.fill(orgId, ticketId, remoteId);
    linked = remoteId;
    outcome = { remoteId, action: found ? 'found' : 'created' };
    if (event.type === HANDOFF_EVENT_TYPES.requested) {
      await store.rememberOwn(orgId, await connector.ownChanges(remoteId, cursorBefore), deps.now());
      return outcome;
    }
  }
  const status = localState(event);
  const mapped = deps.config.states.out[status as LocalState];
  await connector.comment(linked, updateText(event, status, mapped));
  if (mapped) await connector.setStatus(linked, mapped);
  else await store.count(orgId, 'unmappedOut');
  await store.rememberOwn(orgId, await connector.ownChanges(linked, cursorBefore), deps.now());
  return { remoteId: linked, action: 'commented' };
}

export interface PollOutcome {
  read: number;
  applied: number;
  echoes: number;
  unmapped: number;
  ignored: number;
  cursor: string | null;
}

/**
 * Reads the remote changes after the cursor and makes each one on a linked
 * ticket an answer of the organisation: a reply is its receipt (the first,
 * while the handoff awaits one) or a note; a status means what the mapping
 * says; a status the mapping does not name is kept as a note and counted.
 * Lotse's own changes coming back change nothing. The cursor moves after
 * each change, and each is applied under a key of its own, so a poll that
 * dies half-way and runs again applies nothing twice.
 */
export async function pollChanges(deps: SyncDeps, limit = 100): Promise<PollOutcome> {
  const { connector, store, orgId, config } = deps;
  const out: PollOutcome = { read: 0, applied: 0, echoes: 0, unmapped: 0, ignored: 0, cursor: await store.cursor(orgId) };
  const page = await connector.changesSince(out.cursor, limit);
  for (const change of page.changes) {
    out.read += 1;
    const ticketId = await store.ticketOf(orgId, change.remoteId);
    if (ticketId !== null) {
      const kind = await handle(deps, config, ticketId, change);
      out[kind] += 1;
      if (kind !== 'applied') await store.count(orgId, kind === 'unmapped' ? 'unmappedIn' : kind);
      else await store.count(orgId, 'applied');
    }
    await store.setCursor(orgId, change.id);
    out.cursor = change.id;
  }
  if (page.cursor !== null && page.cursor !== out.cursor) {
    await store.setCursor(orgId, page.cursor);
    out.cursor = page.cursor;
  }
  return out;
}

async function handle(deps: SyncDeps, config: ConnectorConfig, ticketId: string, change: RemoteChange): Promise<'applied' | 'echoes' | 'unmapped' | 'ignored'> {
  const { store, orgId, connector } = deps;
  // Echo suppression: the change ids Lotse's writes made, and (should a write's ids not have been recorded) its own account.
  if ((await store.isOwn(orgId, change.id)) || change.by === (await connector.whoAmI(change.remoteId))) return 'echoes';
  // Not who made it: an RT user made from a mail sender is named by their address (a reporter's, perhaps).
  const via: Via = { channel: 'connector', system: config.kind, remoteId: change.remoteId, change: change.id, remoteType: change.type, matchedBy: 'correlation' };
  const key = (n: string) => `cx-${orgId}-${change.id}-${n}`;
  const tryApply = async (event: { type: string } & Record<string, unknown>, n: string, fallback: string): Promise<void> => {
    const r = await deps.apply(ticketId, event, key(n), via);
    if (typeof r === 'object') await deps.noteAsSystem(ticketId, `${fallback} (in Lotse nicht anwendbar: ${r.refused})`, { ...via, refused: true });
  };

  if (change.kind === 'reply') {
    const text = (await connector.textOf(change)) || '(Antwort ohne Text)';
    if (await deps.awaitsReceipt(ticketId)) await tryApply({ type: 'ACCEPT', note: text }, 'accept', text);
    else await tryApply({ type: 'NOTE', text }, 'note', text);
    return 'applied';
  }
  if (change.kind === 'status') {
    const to = change.to ?? '';
    const meaning = config.states.in[to];
    const said = `${config.kind.toUpperCase()} #${change.remoteId}: Status „${change.from ?? ''}“ → „${to}“`;
    if (meaning === undefined) {
      await tryApply({ type: 'NOTE', text: `${said} hat keine Zuordnung in Lotse; der Ticketstatus bleibt, wie er ist.` }, 'unmapped', said);
      return 'unmapped';
    }
    const awaiting = await deps.awaitsReceipt(ticketId);
    if (meaning === 'receipt') {
      if (!awaiting) return 'ignored';
      await tryApply({ type: 'ACCEPT', note: said }, 'accept', said);
    } else if (meaning === 'resolved') {
      if (awaiting) await tryApply({ type: 'ACCEPT', note: said }, 'accept', said);
      await tryApply({ type: 'RESOLVE', resolution: `${said}: gelöst.` }, 'resolve', said);
    } else if (meaning === 'rejected') {
      if (awaiting) await tryApply({ type: 'REJECT_HANDOFF', reason: `${said}: abgelehnt.` }, 'reject', said);
      else await tryApply({ type: 'NOTE', text: `${said}: abgelehnt.` }, 'note', said);
    } else {
      await tryApply({ type: 'NOTE', text: said }, 'note', said);
    }
    return 'applied';
  }
  // Internal comments stay with the organisation; creations and field changes say nothing to Lotse.
  return 'ignored';
}
