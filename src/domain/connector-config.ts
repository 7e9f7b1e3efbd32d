import { z } from 'zod';

/**
 * `organisations[].connector`: the organisation works in a ticket system of
 * its own, reached through its API (src/connectors; docs/reference/connectors.md).
 * Pure: the token is named (`env:NAME`), resolved when the runtime starts.
 */

/** What a remote status means in Lotse: a receipt, a resolution, a rejection, or only a note. */
export const REMOTE_MEANINGS = ['receipt', 'resolved', 'rejected', 'note'] as const;
export type RemoteMeaning = (typeof REMOTE_MEANINGS)[number];

/** Lotse's statuses a remote ticket's status may follow (the ticket's status after a change by someone else). */
export const LOCAL_STATES = ['open', 'waiting', 'handoff-pending', 'resolved', 'closed', 'withdrawn'] as const;
export type LocalState = (typeof LOCAL_STATES)[number];

const RemoteStatus = z.string().regex(/^[A-Za-z][A-Za-z0-9 _-]{0,39}$/, 'a status name of the remote system');

export const DEFAULT_STATES_IN: Record<string, RemoteMeaning> = { open: 'receipt', resolved: 'resolved', rejected: 'rejected' };
export const DEFAULT_STATES_OUT: Partial<Record<LocalState, string>> = { open: 'open', 'handoff-pending': 'open', resolved: 'resolved', closed: 'resolved', withdrawn: 'rejected' };

export const ConnectorConfigSchema = z.strictObject({
  /** The remote system; Request Tracker 5 (REST 2.0) is the one there is. */
  kind: z.literal('rt'),
  /** The system's base URL (RT: the address its web interface answers at, without `/REST/2.0`). */
  url: z.url({ protocol: /^https?$/ }),
  /** The API token, named by an environment variable: `env:RT_TOKEN`. */
  token: z.string().regex(/^env:[A-Za-z_][A-Za-z0-9_]*$/, 'env:VARIABLE (the token never stands in the file)'),
  /** The remote queue new tickets are opened in. */
  queue: z.string().min(1).max(200),
  /** The remote ticket field that holds Lotse's ticket id (RT: a custom field on the queue). */
  customField: z.string().min(1).max(200).default('Lotse-ID'),
  /** How often the remote system is asked for changes. */
  pollSeconds: z.number().int().min(1).max(3600).default(30),
  /** Mapping of states each way; a status named in neither is shown on the ticket and counted, never dropped. */
  states: z
    .strictObject({
      /** Remote status → what it means in Lotse. */
      in: z.record(RemoteStatus, z.enum(REMOTE_MEANINGS)).default(DEFAULT_STATES_IN),
      /** Lotse's status after a change by someone else → the remote status to set. */
      out: z.partialRecord(z.enum(LOCAL_STATES), RemoteStatus).default(DEFAULT_STATES_OUT),
    })
    .default({ in: DEFAULT_STATES_IN, out: DEFAULT_STATES_OUT }),
});
export type ConnectorConfig = z.infer<typeof ConnectorConfigSchema>;
