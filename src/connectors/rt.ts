import { ConnectorError, type Connector, type RemoteChange } from './connector.js';

/** What the RT connector needs: where, as whom, which queue and which custom field holds Lotse's id. */
export interface RtOptions {
  /** RT's base URL, without `/REST/2.0`. */
  url: string;
  /** An RT auth token (RT 5: Settings → Auth Tokens, or RT::AuthToken). */
  token: string;
  queue: string;
  customField: string;
  /** One request may take this long. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** The most text of one reply Lotse takes (a ticket's note holds at most 20,000 characters). */
const MAX_TEXT = 20_000;

interface RtRef { id: string | number; type?: string }
interface RtTransaction {
  id: string;
  Type: string;
  ObjectId: string;
  ObjectType?: string;
  Creator?: RtRef;
  Field?: string;
  OldValue?: string;
  NewValue?: string;
}

/** TicketSQL's string quoting: a quote or backslash escaped. */
const quote = (s: string) => `'${s.replace(/[\\']/g, (c) => `\\${c}`)}'`;

/** Text from outside, made fit to keep: CR dropped, other control characters but tab and newline removed, bounded. */
export function cleanText(s: string): string {
  return s.replace(/\r/g, '').replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '').replace(/[\ud800-\udfff]/g, (c, i: number, all: string) => {
    const code = c.charCodeAt(0);
    const pairOk = code < 0xdc00 ? /[\udc00-\udfff]/.test(all[i + 1] ?? '') : /[\ud800-\udbff]/.test(all[i - 1] ?? '');
    return pairOk ? c : '';
  }).slice(0, MAX_TEXT);
}

/**
 * Request Tracker 5 over REST 2.0 with an auth token. Tickets are found by
 * the custom field that holds Lotse's id, so a create that is retried after
 * RT answered (and the answer was lost) finds the ticket it opened.
 * Changes are read as transactions by increasing id: the id is the cursor.
 */
export function createRtConnector(o: RtOptions): Connector & { whoAmI(remoteId: string): Promise<string> } {
  const base = `${o.url.replace(/\/+$/, '')}/REST/2.0`;
  const doFetch = o.fetch ?? fetch;
  const timeoutMs = o.timeoutMs ?? 15_000;
  let me: string | undefined;

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await doFetch(`${base}${path}`, {
        method,
        headers: { Authorization: `token ${o.token}`, Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new ConnectorError(`RT not reached: ${(err as Error).message}`, true);
    }
    const text = await res.text().catch(() => '');
    if (!res.ok) {
      const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
      throw new ConnectorError(`RT answered ${res.status} to ${method} ${path.split('?')[0]}`, retryable, res.status);
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ConnectorError(`RT answered ${res.status} without JSON to ${method} ${path.split('?')[0]}`, true, res.status);
    }
  }

  /** Messages RT answers with 200 that say the change was refused. */
  function refused(messages: unknown): string | null {
    if (!Array.isArray(messages)) return null;
    const bad = messages.find((m) => typeof m === 'string' && /isn't a valid|not a valid|permission denied|could not|couldn't/i.test(m));
    return typeof bad === 'string' ? bad : null;
  }

  async function textOf(txnId: string): Promise<string> {
    // The list names the parts; one part read on its own gives its content base64-encoded (the list's `fields` would give it decoded).
    const page = await call<{ items?: { id: string | number; ContentType?: string }[] }>('GET', `/transaction/${encodeURIComponent(txnId)}/attachments?fields=ContentType&per_page=20`);
    const part = (page.items ?? []).find((a) => a.ContentType?.startsWith('text/plain'));
    if (!part) return '';
    const a = await call<{ Content?: string }>('GET', `/attachment/${encodeURIComponent(String(part.id))}`);
    return a.Content ? cleanText(Buffer.from(a.Content, 'base64').toString('utf8')).trim() : '';
  }

  const connector = {
    textOf: (change: RemoteChange) => textOf(change.id),

    async findByLotseId(ticketId: string) {
      const query = `Queue = ${quote(o.queue)} AND CF.{${o.customField}} = ${quote(ticketId)}`;
      const page = await call<{ items?: RtRef[] }>('GET', `/tickets?query=${encodeURIComponent(query)}&orderby=id&order=ASC&per_page=1`);
      const first = page.items?.[0];
      return first ? String(first.id) : null;
    },

    async create(t: { lotseId: string; subject: string; text: string }) {
      const created = await call<{ id?: string | number }>('POST', '/ticket', {
        Queue: o.queue,
        Subject: t.subject,
        Content: t.text,
        ContentType: 'text/plain',
        CustomFields: { [o.customField]: t.lotseId },
      });
      if (created.id === undefined) throw new ConnectorError('RT created no ticket (no id in its answer)', true);
      return String(created.id);
    },

    async correspond(remoteId: string, text: string) {
      const r = await call<unknown>('POST', `/ticket/${encodeURIComponent(remoteId)}/correspond`, { Content: text, ContentType: 'text/plain' });
      const bad = refused(r);
      if (bad) throw new ConnectorError(`RT refused the reply: ${bad}`, false);
    },

    async comment(remoteId: string, text: string) {
      const r = await call<unknown>('POST', `/ticket/${encodeURIComponent(remoteId)}/comment`, { Content: text, ContentType: 'text/plain' });
      const bad = refused(r);
      if (bad) throw new ConnectorError(`RT refused the comment: ${bad}`, false);
    },

    async setStatus(remoteId: string, status: string) {
      const r = await call<unknown>('PUT', `/ticket/${encodeURIComponent(remoteId)}`, { Status: status });
      const bad = refused(r);
      if (bad) throw new ConnectorError(`RT refused the status ${status}: ${bad}`, false);
    },

    /** The RT user Lotse's token acts as: the creator of a ticket Lotse opened. */
    async whoAmI(remoteId: string) {
      if (me === undefined) {
        const t = await call<{ Creator?: RtRef }>('GET', `/ticket/${encodeURIComponent(remoteId)}`);
        if (t.Creator?.id === undefined) throw new ConnectorError('RT named no creator of the ticket', true);
        me = String(t.Creator.id);
      }
      return me;
    },

    async ownChanges(remoteId: string, afterId: string | null) {
      const self = await connector.whoAmI(remoteId);
      const page = await call<{ items?: RtTransaction[] }>('POST', '/transactions?fields=Creator&orderby=id&order=ASC&per_page=100', [
        { field: 'ObjectType', value: 'RT::Ticket' },
        { field: 'ObjectId', value: remoteId },
        { field: 'id', operator: '>', value: afterId ?? '0' },
      ]);
      return (page.items ?? []).filter((t) => String(t.Creator?.id) === self).map((t) => String(t.id));
    },

    async changesSince(cursor: string | null, limit: number) {
      if (cursor === null) {
        // First poll: from now on. What happened before Lotse asked is not Lotse's (its tickets are opened after this).
        const last = await call<{ items?: RtRef[] }>('POST', '/transactions?orderby=id&order=DESC&per_page=1', [{ field: 'ObjectType', value: 'RT::Ticket' }]);
        return { changes: [], cursor: String(last.items?.[0]?.id ?? '0') };
      }
      const page = await call<{ items?: RtTransaction[] }>('POST', `/transactions?fields=Type,ObjectId,Creator,Field,OldValue,NewValue&orderby=id&order=ASC&per_page=${limit}`, [
        { field: 'ObjectType', value: 'RT::Ticket' },
        { field: 'id', operator: '>', value: cursor },
      ]);
      const changes: RemoteChange[] = [];
      for (const t of page.items ?? []) {
        const base = { id: String(t.id), remoteId: String(t.ObjectId), by: String(t.Creator?.id ?? ''), type: t.Type };
        if (t.Type === 'Correspond' || t.Type === 'Comment') {
          changes.push({ ...base, kind: t.Type === 'Correspond' ? 'reply' : 'comment' });
        } else if (t.Type === 'Status' || (t.Type === 'Set' && t.Field === 'Status')) {
          changes.push({ ...base, kind: 'status', from: cleanText(t.OldValue ?? '').slice(0, 100), to: cleanText(t.NewValue ?? '').slice(0, 100) });
        } else {
          changes.push({ ...base, kind: t.Type === 'Create' ? 'create' : 'other' });
        }
      }
      const lastId = changes.at(-1)?.id;
      return { changes, cursor: lastId ?? cursor };
    },
  };
  return connector;
}
