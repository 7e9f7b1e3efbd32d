import { stateInfo, type AppliedEvent } from '../engine/ticket/index.js';

/**
 * A provider's receipt: an ACCEPT applied to a ticket whose handoff awaited
 * one. Its latency runs from the first handoff of this holding (a re-sent
 * handoff keeps `requestedAt`) to the commit that applied the receipt.
 */
export function receiptLatency(change: AppliedEvent): { org: string; seconds: number } | null {
  const { before, after, entry } = change;
  const handoff = before.state.context.handoff;
  if (entry.type !== 'ACCEPT' || !handoff || stateInfo(before.state.value).status !== 'handoff-pending') return null;
  return { org: handoff.orgId, seconds: Math.max(0, after.updatedAt - handoff.requestedAt) / 1000 };
}
