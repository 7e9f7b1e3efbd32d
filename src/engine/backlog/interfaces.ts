import type { Logger } from 'pino';
import type { BacklogLink, BacklogPolicy } from '../../domain/backlog-policy.js';
import type { Analysed } from '../../backlog/text.js';
import type { Principal } from '../../domain/access.js';
import type { BacklogHistoryEntry } from '../../domain/backlog-event.js';
import type { Topology } from '../../domain/topology.js';
import type { BacklogListing } from '../../store/backlog-listing.js';
import type { IdempotencyStore } from '../../store/idempotency.js';
import type { Keys } from '../../store/keys.js';
import type { RecordStore } from '../../store/record-store.js';
import type { BacklogItemRecord, BacklogStatus } from './record.js';
import type { BacklogItemView } from './view.js';

/**
 * The backlog engine as the rest of Lotse sees it (HTTP, the backlog feed):
 * every change of an item through the one path (engine/path.ts), every read
 * through a call named here. Nothing outside reaches the path's records.
 */
export interface BacklogEngine {
  /** Opens an item; a retry with the same id finds the item made the first time. */
  createItem(item: NewItem): Promise<{ record: BacklogItemRecord; created: boolean }>;
  /**
   * Links a ticket to an item; a ticket linked already changes nothing. Null when the item takes no links.
   * `known`: the item as the caller just loaded it, decided on first instead of loading it again.
   */
  link(itemId: string, link: BacklogLink, known?: BacklogItemRecord): Promise<BacklogItemRecord | null>;
  /** A MERGE's target takes the source's links; false when it cannot (then the caller keeps them elsewhere). */
  absorb(into: string, from: string, links: BacklogLink[]): Promise<boolean>;
  /** A caller's event: operators of the service's backlog owner and the steering committee move items. */
  applyItemEvent(principal: Principal, id: string, input: unknown, opts?: { ifMatch?: number | undefined; idempotencyKey?: string | undefined }): Promise<{ record: BacklogItemRecord; replayed: boolean }>;
  /** One page of items by score (highest first) or rank (1 first). */
  list(principal: Principal, q: BacklogListQuery): Promise<{ items: BacklogItemRecord[]; next: string | null }>;
  view(principal: Principal, record: BacklogItemRecord): BacklogItemView;
  /** A service's text analysis (its synonyms, its own name's words left out). */
  analyse(service: string, text: string): Analysed;
  get(principal: Principal, id: string): Promise<BacklogItemRecord>;
  /** An item for Lotse's own readers (the feed), in no caller's reach: null when there is none. */
  findItem(id: string): Promise<BacklogItemRecord | null>;
  history(principal: Principal, id: string): Promise<BacklogHistoryEntry[]>;
  policy: BacklogPolicy;
}

export interface BacklogEngineDeps {
  topology: Topology;
  store: RecordStore;
  keys: Keys;
  /** The listing sets, read by score or rank. */
  listing: BacklogListing;
  idempotency: IdempotencyStore;
  now: () => number;
  source: string;
  logger: Logger;
}

export interface NewItem {
  id: string;
  service: string;
  title: string;
  description: string;
  links: BacklogLink[];
  text: Analysed;
  splitFrom?: string;
}

export interface BacklogListQuery {
  service?: string | undefined;
  /** Items a ticket of this Land is linked to. */
  land?: string | undefined;
  status?: BacklogStatus | undefined;
  sort: 'score' | 'rank';
  limit: number;
  cursor?: string | undefined;
}
