/**
 * Joins Prometheus text expositions into one document with each metric
 * family's `# HELP` and `# TYPE` once. BullMQ's `exportPrometheusMetrics()`
 * writes both lines for every queue; Prometheus refuses a scrape that
 * repeats them, so the queues' texts cannot simply be concatenated.
 */
export function mergeExpositions(texts: string[]): string {
  const families = new Map<string, { help?: string; type?: string; samples: string[] }>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { samples: [] }));
    return f;
  };
  for (const text of texts) {
    let current = '';
    for (const line of text.split('\n')) {
      const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (meta) {
        current = meta[2]!;
        const f = family(current);
        if (meta[1] === 'HELP') f.help ??= line;
        else f.type ??= line;
      } else if (line.trim() !== '' && !line.startsWith('#')) {
        // A sample belongs to the family announced before it (histograms add _bucket, _sum, _count).
        const name = /^[^\s{]+/.exec(line)![0];
        family(current && name.startsWith(current) ? current : name).samples.push(line);
      }
    }
  }
  const out: string[] = [];
  for (const f of families.values()) {
    if (f.help) out.push(f.help);
    if (f.type) out.push(f.type);
    out.push(...f.samples);
  }
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}
