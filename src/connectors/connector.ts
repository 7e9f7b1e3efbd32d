/**
 * A ticket system of another organisation, reached through its API: what
 * Lotse needs of it to hand tickets over and read the answers back. One
 * implementation per kind of system (rt.ts: Request Tracker 5, REST 2.0).
 * Every call throws a ConnectorError on failure, saying whether trying again
 * may help.
 */
export interface Connector {
  /** The remote ticket that holds this Lotse id in its id field, if any (a retried create finds the first one). */
  findByLotseId(ticketId: string): Promise<string | null>;
  /** Opens a remote ticket holding the Lotse id; answers its id. */
  create(ticket: { lotseId: string; subject: string; text: string }): Promise<string>;
  /** A reply on the remote ticket (seen by its requestors). */
  correspond(remoteId: string, text: string): Promise<void>;
  /** An internal comment on the remote ticket. */
  comment(remoteId: string, text: string): Promise<void>;
  setStatus(remoteId: string, status: string): Promise<void>;
  /** The ids of the changes on the remote ticket made by Lotse's own account after `afterId` (echo suppression). */
  ownChanges(remoteId: string, afterId: string | null): Promise<string[]>;
  /** A reply's or comment's text, plain, cleaned and bounded ('' when it has none). */
  textOf(change: RemoteChange): Promise<string>;
  /** Changes of remote tickets after the cursor, oldest first, at most `limit`; the cursor to go on from. */
  changesSince(cursor: string | null, limit: number): Promise<{ changes: RemoteChange[]; cursor: string | null }>;
}

/** One change of a remote ticket, as the poller reads it. */
export interface RemoteChange {
  /** The remote system's id of the change (RT: the transaction id); increasing. */
  id: string;
  remoteId: string;
  kind: 'reply' | 'comment' | 'status' | 'create' | 'other';
  /** Who made it, by the remote system's user name. */
  by: string;
  /** A status change: from, to. */
  from?: string;
  to?: string;
  /** The remote system's own name of the change's type (RT: Correspond, Status, CustomField, …). */
  type: string;
}

export class ConnectorError extends Error {
  constructor(
    message: string,
    /** False when trying again cannot help (a 4xx but 408/429: a wrong queue, a refused token). */
    readonly retryable: boolean,
    /** The HTTP status, when an answer came. */
    readonly status: number | null = null,
  ) {
    super(message);
    this.name = 'ConnectorError';
  }
}
