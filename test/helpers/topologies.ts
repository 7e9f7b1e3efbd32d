import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { parseTopology } from '../../src/config/topology-file.js';
import type { Topology, TopologyInput } from '../../src/domain/topology.js';

/**
 * The built-in topology with every organisation open 24x7 and SLA targets of
 * seconds, so real timers fire within a test: P1/P2 escalate on a breach,
 * P3/P4 notify. High × high is P1, medium × medium P3.
 */
export function fastSlaTopology(seconds = { firstResponse: 2, resolution: 4, receipt: 3 }): Topology {
  const base = structuredClone(DEFAULT_TOPOLOGY) as TopologyInput;
  base.organisations = base.organisations.map((o) => ({ ...o, calendar: '24x7', receiptDeadline: `PT${seconds.receipt}S` }));
  const fast = (onBreach: 'notify' | 'escalate') => ({
    firstResponse: `PT${seconds.firstResponse}S`,
    resolution: `PT${seconds.resolution}S`,
    warnAt: 0.5,
    onBreach,
  });
  base.sla = { P1: fast('escalate'), P2: fast('escalate'), P3: fast('notify'), P4: fast('notify') };
  return parseTopology(base, 'fast SLA topology');
}
