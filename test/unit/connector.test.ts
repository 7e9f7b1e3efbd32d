import { describe, expect, it } from 'vitest';
import { DEFAULT_TOPOLOGY } from '../../src/config/default-topology.js';
import { ConfigError } from '../../src/config/env.js';
import { parseTopology } from '../../src/config/topology-file.js';
import { cleanText } from '../../src/connectors/rt.js';
import { connectorBackoff, loadConnectorSettings, resolveConnectors } from '../../src/connectors/settings.js';
import { handoffText } from '../../src/connectors/sync.js';
import { cloudEvent, HANDOFF_EVENT_TYPES } from '../../src/domain/cloudevent.js';
import { ConnectorConfigSchema } from '../../src/domain/connector-config.js';
import type { TopologyInput } from '../../src/domain/topology.js';
import type { Effect } from '../../src/engine/effects.js';
import { connectorOps } from '../../src/engine/ticket/connector-ops.js';

const connector = { kind: 'rt', url: 'https://rt.example', token: 'env:RT_TOKEN', queue: 'Lotse' };

function topology(extra: Record<string, unknown> = connector) {
  const base = structuredClone(DEFAULT_TOPOLOGY) as TopologyInput;
  base.organisations = base.organisations.map((o) => (o.id === 'vendor-lc' ? { ...o, connector: extra } : o)) as TopologyInput['organisations'];
  return parseTopology(base, 'test');
}

const handoff = (orgId: string, type: string, ticketId = 'T01ABCDEFGH'): Effect => {
  const id = `${ticketId}-v1-handoff-${orgId}`;
  return { kind: 'handoff', id, orgId, event: cloudEvent({ id, source: 'urn:test', type, subject: ticketId, at: 0, data: {} }) };
};

describe('organisations[].connector', () => {
  it('fills in the defaults: custom field Lotse-ID, a poll every 30 s, the states each way', () => {
    const c = ConnectorConfigSchema.parse(connector);
    expect(c).toMatchObject({ customField: 'Lotse-ID', pollSeconds: 30, states: { in: { open: 'receipt', resolved: 'resolved', rejected: 'rejected' }, out: { open: 'open', 'handoff-pending': 'open', resolved: 'resolved', closed: 'resolved', withdrawn: 'rejected' } } });
    expect(topology().orgs.get('vendor-lc')?.connector?.queue).toBe('Lotse');
  });

  it('refuses a token written into the file, an unknown kind, an unknown meaning, naming each field', () => {
    const r = ConnectorConfigSchema.safeParse({ ...connector, kind: 'jira', token: 'secret', states: { in: { stalled: 'paused' } } });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['kind', 'token', 'states.in.stalled']));
  });

  it('a token variable that is not set stops the start naming the field', () => {
    const t = topology();
    const i = t.config.organisations.findIndex((o) => o.id === 'vendor-lc');
    expect(() => resolveConnectors(t, {}, { timeoutMs: 1000 })).toThrow(ConfigError);
    expect(() => resolveConnectors(t, {}, { timeoutMs: 1000 })).toThrow(`organisations.${i}.connector.token: environment variable RT_TOKEN is not set`);
    expect(resolveConnectors(t, { RT_TOKEN: 'x' }, { timeoutMs: 1000 }).get('vendor-lc')?.config.queue).toBe('Lotse');
  });

  it('settings: attempts enough for a day by default; the backoff stays within its ceiling, half of it certain', () => {
    const s = loadConnectorSettings({});
    expect(s.attempts).toBeGreaterThan(20);
    expect(loadConnectorSettings({ LOTSE_CONNECTOR_ATTEMPTS: '3' }).attempts).toBe(3);
    expect(() => loadConnectorSettings({ LOTSE_CONNECTOR_ATTEMPTS: '0' })).toThrow(/LOTSE_CONNECTOR_ATTEMPTS/);
    expect(connectorBackoff(1, s.backoff, () => 0)).toBe(15_000);
    expect(connectorBackoff(3, s.backoff, () => 0.999)).toBeLessThan(120_000);
    expect(connectorBackoff(50, s.backoff, () => 0)).toBe(1_800_000);
  });
});

describe("a handoff's commit for an organisation with a connector", () => {
  it('queues the change and enters the correlation as pending (HSETNX: a ticket handed again keeps its remote ticket)', () => {
    const t = topology();
    const ops = connectorOps('p', t, [handoff('vendor-lc', HANDOFF_EVENT_TYPES.requested)], 1000);
    expect(ops).toEqual([
      { op: 'zadd', key: 'p:cx:vendor-lc:queued', member: 'T01ABCDEFGH-v1-handoff-vendor-lc', score: 1000 },
      { op: 'hsetnx', key: 'p:cx:vendor-lc:link', field: 'T01ABCDEFGH', value: 'pending' },
    ]);
    expect(connectorOps('p', t, [handoff('vendor-lc', HANDOFF_EVENT_TYPES.updated)], 1000).map((o) => o.op)).toEqual(['zadd']);
  });

  it('writes nothing for organisations without one', () => {
    expect(connectorOps('p', topology(), [handoff('dataport', HANDOFF_EVENT_TYPES.requested)], 1000)).toEqual([]);
  });
});

describe('texts to and from the remote system', () => {
  it('a remote ticket carries the tag in its subject, and the reporter only where the payload has it', () => {
    const event = (reporter?: object) =>
      cloudEvent({ id: 'e', source: 's', type: HANDOFF_EVENT_TYPES.requested, subject: 'T1', at: 0, data: { ticket: { subject: 'Upload bricht ab', description: 'Bei 80 %.', service: 'lieferantencockpit', land: 'BY', priority: 'P3', category: 'question', ...(reporter ? { reporter } : {}) }, reason: 'first level' } });
    const plain = handoffText(event());
    expect(plain.subject).toBe('[Lotse#T1] Upload bricht ab');
    expect(plain.text).toContain('Bei 80 %.');
    expect(plain.text).not.toContain('Meldende Person');
    expect(handoffText(event({ name: 'Erika Muster', email: 'e@example.org' })).text).toContain('Meldende Person: Erika Muster, e@example.org');
  });

  it('text from outside: CR and control characters go, tab, newline and umlauts stay, lone surrogates go, bounded', () => {
    expect(cleanText('a\r\nb\u0007c\td ä \u001b[31m')).toBe('a\nbc\td ä [31m');
    expect(cleanText('x\ud800y 😀')).toBe('xy 😀');
    expect(cleanText('z'.repeat(30_000))).toHaveLength(20_000);
  });
});
