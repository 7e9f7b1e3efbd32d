/**
 * `extends: builtin`: a file that names only what differs from the built-in
 * topology (a Docker user's API keys), and every other base refused by name.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTopology, TopologyError } from '../../src/config/topology-file.js';
import { LAND_CODES } from '../../src/domain/ids.js';

const dir = mkdtempSync(join(tmpdir(), 'lotse-extends-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string) => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};

const problemsOf = (file: string): string[] => {
  try {
    loadTopology(file);
  } catch (err) {
    if (err instanceof TopologyError) return err.problems;
    throw err;
  }
  throw new Error(`${file} loaded, but should not have`);
};

const builtin = loadTopology(undefined);

describe('extends: builtin', () => {
  it('starts from the built-in topology and takes the principals from the file', () => {
    const file = write('keys.yaml', [
      'extends: builtin',
      'principals:',
      '  - { key: "env:LOTSE_OPERATOR_KEY", orgId: ops-bremen, role: operator }',
      `  - { key: "sha256:${'a'.repeat(64)}", orgId: desk-BY, role: desk, name: 115 Bayern }`,
    ].join('\n'));
    const t = loadTopology(file);
    expect([...t.lands.keys()].sort()).toEqual([...LAND_CODES].sort());
    expect(t.lands.size).toBe(16);
    expect(t.config.principals).toEqual([
      { key: 'env:LOTSE_OPERATOR_KEY', orgId: 'ops-bremen', role: 'operator' },
      { key: `sha256:${'a'.repeat(64)}`, orgId: 'desk-BY', role: 'desk', name: '115 Bayern' },
    ]);
    expect([...t.orgs.keys()]).toEqual([...builtin.orgs.keys()]);
    expect(t.config.services).toEqual(builtin.config.services);
    expect(t.config.sla).toEqual(builtin.config.sla);
  });

  it('replaces a top-level key whole, in JSON files too', () => {
    const file = write('retention.json', JSON.stringify({ extends: 'builtin', retention: { closedTicketDays: 30 } }));
    const t = loadTopology(file);
    expect(t.config.retention).toEqual({ closedTicketDays: 30 });
    expect(t.config.principals).toEqual([]);
    expect(t.services.size).toBe(builtin.services.size);
  });

  it('checks the result like any topology, naming paths as the file has them', () => {
    const file = write('bad-principal.yaml', 'extends: builtin\nprincipals:\n  - { key: "env:K", orgId: nobody, role: desk }\n');
    expect(problemsOf(file)).toEqual(['principals.0.orgId: unknown organisation nobody']);
  });

  it('refuses any other base, naming the field extends', () => {
    const file = write('other.yaml', 'extends: other\nprincipals: []\n');
    const problems = problemsOf(file);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^extends: /);
    expect(problems[0]).toContain('builtin');
    expect(() => loadTopology(file)).toThrow(file);
  });

  it('is an unknown key like any other when it is not at the top', () => {
    const file = write('nested.yaml', 'extends: builtin\nretention: { closedTicketDays: 30, extends: builtin }\n');
    expect(problemsOf(file)).toEqual([expect.stringMatching(/^retention: .*extends/)]);
  });
});
