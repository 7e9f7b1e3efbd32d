import { allowedBacklogEvents } from '../../../machines/backlog.explain.js';
import type { Principal } from '../../domain/access.js';
import type { Topology } from '../../domain/topology.js';
import { termWordsOf } from '../../backlog/text.js';
import { actorOf } from '../path.js';
import type { BacklogKind } from './kind.js';
import { scoreOf, type BacklogItemRecord } from './record.js';

/** The item as a caller sees it: the contract's view, why each ticket is linked, the score's parts. */
export function toItemView(topology: Topology, kind: Pick<BacklogKind, 'restore'>, principal: Principal, record: BacklogItemRecord, now: number) {
  const ctx = record.state.context;
  const score = scoreOf(topology, record);
  // A desk sees which of its own Land's tickets asked; the rest only as counts.
  const visible = principal.role === 'desk' ? ctx.links.filter((l) => l.land === principal.land) : ctx.links;
  const times = ctx.links.map((l) => l.at);
  // The item's own words, read once for all its links.
  const wordsOf = termWordsOf(`${ctx.title}\n${ctx.description}`);
  return {
    id: record.id,
    service: ctx.service,
    title: ctx.title,
    description: ctx.description,
    status: record.state.value,
    rank: ctx.rank,
    score: score.score,
    scoreParts: score.parts,
    ticketCount: ctx.links.length,
    lands: score.counts.lands,
    population: score.counts.population,
    tickets: visible.map((l) => l.ticketId),
    why: visible.map((l) => ({
      ticketId: l.ticketId, land: l.land, priority: l.priority, source: l.source, score: l.score, shared: l.shared,
      // The reason in words: the item's own words for the shared terms; alike in full is the same subject.
      words: wordsOf(l.shared), identical: l.score >= 1,
      linkedAt: new Date(l.at).toISOString(),
    })),
    firstSeen: new Date(times.length > 0 ? Math.min(...times) : ctx.createdAt).toISOString(),
    lastSeen: new Date(times.length > 0 ? Math.max(...times) : ctx.createdAt).toISOString(),
    release: ctx.release,
    reason: ctx.reason,
    mergedInto: ctx.mergedInto,
    splitFrom: ctx.splitFrom,
    version: record.version,
    allowedEvents: principal.role === 'operator' || principal.role === 'steering' ? allowedBacklogEvents(kind.restore(record), actorOf(principal), now) : [],
  };
}

export type BacklogItemView = ReturnType<typeof toItemView>;
