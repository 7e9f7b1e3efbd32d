/** The ticket engine: its interface, its factory, and what its readers need of a ticket. */
export { createTicketEngine } from './engine.js';
export { partitionedTicketEngine } from './partitioned.js';
export type { AppliedEvent, BacklogOutcome, CreateOptions, Created, EventOptions, TicketEngine, TicketEngineDeps, TimerOutcome } from './interfaces.js';
export { newTicketId, TICKET_ID_PATTERN } from './ids.js';
export { stateInfo, reachFacts, type StateInfo, type TicketData, type TicketRecord, type TicketState } from './record.js';
export { SlaTimelineSchema, type SlaTimeline } from './sla-view.js';
export { ERASED_TEXT, type ErasureCause } from './erasure.js';
export { activeCounters, countSpecs, sumActive, type CountGroup } from './stats.js';
export { sampleEvent } from './refusal.js';
export { externalRefIndex, mergedLister, SEARCH_SCAN_MAX, SORT_KEYS, SORT_READ_MAX, storeLister, type Sorted, type TicketLister } from './list.js';
