import type { BacklogContext } from '../../../machines/backlog.machine.js';
import type { Analysed } from '../../backlog/text.js';
import { scoreServiceItem, type BacklogScore } from '../../domain/backlog-score.js';
import type { Topology } from '../../domain/topology.js';

/** The facts of an item that the machine does not keep: its analysed text, for matching. */
export interface BacklogItemData {
  text: Analysed;
}

export type BacklogStatus = 'proposed' | 'prioritized' | 'accepted' | 'rejected' | 'scheduled' | 'done' | 'merged';
export const BACKLOG_STATUSES: readonly BacklogStatus[] = ['proposed', 'prioritized', 'accepted', 'rejected', 'scheduled', 'done', 'merged'];

export interface BacklogItemRecord {
  id: string;
  version: number;
  data: BacklogItemData;
  state: { value: BacklogStatus; context: BacklogContext };
  updatedAt: number;
}

/** Items a new suggestion may still be linked to: not decided against, not merged away, not shipped. */
export const takesLinks = (status: BacklogStatus) => status === 'proposed' || status === 'prioritized' || status === 'accepted' || status === 'scheduled';

export const scoreOf = (topology: Topology, record: BacklogItemRecord): BacklogScore =>
  scoreServiceItem(topology, record.state.context.service, record.state.context.links);
