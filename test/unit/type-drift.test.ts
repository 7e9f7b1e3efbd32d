import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { BacklogEventPayload } from '../../machines/backlog.machine.js';
import type { TicketEventPayload } from '../../machines/ticket.machine.js';
import type { BacklogEventInput } from '../../src/domain/backlog-event.js';
import type { HistoryEntry, TicketEventInput, TicketListQuery } from '../../src/domain/ticket.js';
import type { BacklogItemView, BacklogListQuery } from '../../src/engine/backlog/index.js';
import type { TicketEngine } from '../../src/engine/ticket/index.js';
import type { BacklogItemViewSchema } from '../../src/http/routes/backlog.js';
import type { ListQuery } from '../../src/http/routes/tickets.js';

/**
 * Where a zod schema and a TypeScript type meet, the compiler checks they
 * still agree, in the manner of pg-boss's contracts.ts: each line below
 * fails `tsc` (and so `npm test`) when one side drifts from the other.
 * The runtime assertions only make the checks a test vitest counts.
 */
type Assignable<From, To> = [From] extends [To] ? true : false;
type MutuallyAssignable<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

// What a caller may send is an event the machine takes (the engine hands the parsed input on as the machine's payload).
const ticketInputIsPayload: Assignable<TicketEventInput, TicketEventPayload> = true;
const backlogInputIsPayload: Assignable<BacklogEventInput, BacklogEventPayload> = true;
// The backlog item view the engine builds passes the HTTP response schema (the engine's is narrower: statuses
// and event types as unions), with the same fields, none missing and none more.
type ItemViewSchema = z.infer<typeof BacklogItemViewSchema>;
const itemViewMatchesSchema: Assignable<BacklogItemView, ItemViewSchema> = true;
const itemViewFieldsMatch: MutuallyAssignable<keyof BacklogItemView, keyof ItemViewSchema> = true;
// The history the ticket engine answers with is the documented history entry.
const historyMatches: MutuallyAssignable<Awaited<ReturnType<TicketEngine['history']>>[number], HistoryEntry> = true;
// The engine's list query takes what the ticket list schema defines.
const listQueryMatches: MutuallyAssignable<Parameters<TicketEngine['listTickets']>[1], TicketListQuery> = true;
// The ticket list is defined twice: the HTTP query (src/http/routes/tickets.ts) and the domain's TicketListQuery.
// The parsed query is what the route hands the engine, so it must fit, with the same fields on both sides.
// Transport-only: `active` travels as the text 'true' | 'false' and the route turns it into the domain's boolean.
type HttpListQuery = z.output<typeof ListQuery>;
type ListTransportOnly = 'active';
const httpListQueryFits: Assignable<Omit<HttpListQuery, ListTransportOnly> & { active: boolean }, TicketListQuery> = true;
const httpListQueryFields: MutuallyAssignable<keyof HttpListQuery, keyof TicketListQuery> = true;
const httpListActiveIsText: MutuallyAssignable<NonNullable<HttpListQuery[ListTransportOnly]>, 'true' | 'false'> = true;
// A backlog listing's sort and limit are the engine's own.
const backlogQueryHasSort: Assignable<{ sort: 'rank'; limit: 1 }, BacklogListQuery> = true;

describe('types where a schema and a type meet', () => {
  it('agree (checked by the compiler)', () => {
    expect([ticketInputIsPayload, backlogInputIsPayload, itemViewMatchesSchema, itemViewFieldsMatch, historyMatches, listQueryMatches, httpListQueryFits, httpListQueryFields, httpListActiveIsText, backlogQueryHasSort].every(Boolean)).toBe(true);
  });
});
