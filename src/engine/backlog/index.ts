/** The backlog engine and its feed: their interfaces, their factories, and what their readers need of an item. */
export { createBacklogEngine } from './engine.js';
export { createBacklogFeed, ServiceBusy, type BacklogFeed, type BacklogFeedDeps } from './feed.js';
export type { BacklogEngine, BacklogEngineDeps, BacklogListQuery, NewItem } from './interfaces.js';
export { itemIdFor } from './ids.js';
export { BACKLOG_STATUSES, type BacklogItemRecord, type BacklogStatus } from './record.js';
export type { BacklogItemView } from './view.js';
