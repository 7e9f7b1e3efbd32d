import type { CreateTicket } from '../src/domain/ticket.js';

/** A typical create body for the benchmarks: a uvo question from a Land desk, one per `ref`. */
export function benchBody(ref: string, overrides: Partial<CreateTicket> = {}): CreateTicket {
  return {
    externalRef: ref,
    channel: 'phone-115',
    land: 'BY',
    service: 'uvo',
    category: 'technical',
    impact: 'medium',
    urgency: 'medium',
    subject: 'Antrag lässt sich nicht absenden',
    description: 'Beim Absenden erscheint ein Fehler.',
    attachments: [],
    ...overrides,
  };
}
