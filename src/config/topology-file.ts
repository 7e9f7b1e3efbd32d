import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { compileTopology, TopologySchema, type Topology } from '../domain/topology.js';
import { DEFAULT_TOPOLOGY } from './default-topology.js';

export class TopologyError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/** Validates a parsed topology; every wrong field is named by its path. */
export function parseTopology(raw: unknown, file = 'topology'): Topology {
  const parsed = TopologySchema.safeParse(raw);
  if (!parsed.success) {
    throw new TopologyError(
      file,
      parsed.error.issues.map((i) => {
        const keys = 'keys' in i && Array.isArray(i.keys) ? ` (${i.keys.join(', ')})` : '';
        return `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}${keys}`;
      }),
    );
  }
  return compileTopology(parsed.data);
}

/** The topology from a YAML or JSON file, or the built-in default. */
export function loadTopology(file: string | undefined): Topology {
  if (!file) return parseTopology(DEFAULT_TOPOLOGY, 'built-in topology');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TopologyError(file, [`cannot read the file: ${(err as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new TopologyError(file, [`not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`]);
  }
  return parseTopology(withBase(raw, file), file);
}

/**
 * `extends: builtin` at the top of a file: start from the built-in default,
 * and let each other top-level key of the file replace the default's key of
 * that name (a file with only `principals:` keeps everything else). Keys are
 * replaced whole, never merged deeper, so what a file says is what runs.
 */
function withBase(raw: unknown, file: string): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || !('extends' in raw)) return raw;
  const { extends: base, ...own } = raw as Record<string, unknown>;
  if (base !== 'builtin') {
    throw new TopologyError(file, [`extends: ${JSON.stringify(base)} is not a base Lotse knows; the only one is builtin (the built-in topology), or leave extends out`]);
  }
  return { ...DEFAULT_TOPOLOGY, ...own };
}

/** The default as users start from it: every default filled in. */
export function defaultTopologyDocument(): unknown {
  return TopologySchema.parse(DEFAULT_TOPOLOGY);
}
