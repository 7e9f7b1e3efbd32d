/**
 * The backlog's candidate index (src/store/backlog-index.ts) on a real
 * Redis: candidates found through the postings after the ops are applied,
 * moved and removed, postings that never pass their cap, and a lookup that
 * costs the same commands with 200 items as with 2,000 (counted with INFO
 * commandstats on a redis-server of its own).
 */
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { analyseText, compareTexts, DEFAULT_SIMILARITY_THRESHOLD, type Analysed } from '../../src/backlog/text.js';
import {
  backlogIndexKeys, backlogIndexOps, backlogPostingKey, findCandidates, MAX_POSTINGS_PER_LOOKUP, POSTING_CAP, type Candidate,
} from '../../src/store/backlog-index.js';
import { applyStoreOps } from '../helpers/store-ops.js';
import { MUST_MATCH, SERVICES } from '../helpers/backlog-pairs.js';
import { startRedisServer } from '../helpers/find-redis.js';
import { dropPrefix, newPrefix, redisUrl } from '../helpers/harness.js';

const SERVICE = 'elfe';
const SETTINGS = { synonyms: [['hochladen', 'upload', 'lade hoch']], stopWords: ['ELFE'] };

let redis: Redis;
let prefix: string;

beforeEach(() => {
  redis = new Redis(redisUrl());
  prefix = newPrefix('bx');
});

afterEach(async () => {
  await dropPrefix(redis, prefix);
  redis.disconnect();
});

const analyse = (text: string) => analyseText(text, SETTINGS);

async function indexItem(itemId: string, text: string | null, at: number, before: Analysed | null = null, client = redis): Promise<Analysed | null> {
  const after = text === null ? null : analyse(text);
  await applyStoreOps(client, backlogIndexOps(prefix, SERVICE, itemId, before, after, at));
  return after;
}

const OBJECTS = ['Geburtsurkunde', 'Einkommensnachweis', 'Bankverbindung', 'Kindergeldantrag', 'Elterngeldantrag', 'Steuer-ID', 'Meldebescheinigung', 'Bescheid', 'Partnermonate', 'Zustimmungserklärung'];
const PROBLEMS = ['wird nicht angezeigt', 'lässt sich nicht ändern', 'hochladen bricht ab', 'falsch berechnet', 'doppelt gespeichert', 'nicht druckbar', 'verschwindet nach dem Speichern', 'Formatfehler im Feld', 'Sitzung läuft ab', 'Übermittlung hängt'];

/** Distinct, realistic subjects; every one says "Antrag", so that posting overflows its cap. */
const noise = (i: number) => `Antrag: ${OBJECTS[i % 10]} ${PROBLEMS[Math.floor(i / 10) % 10]} Vorgang ${i}`;

async function indexNoise(from: number, to: number, client = redis): Promise<void> {
  for (let start = from; start < to; start += 100) {
    const batch = [];
    for (let i = start; i < Math.min(to, start + 100); i++) batch.push(indexItem(`noise-${i}`, noise(i), 1_000 + i, null, client));
    await Promise.all(batch);
  }
}

describe('finding candidates', () => {
  it('finds a compound that shares no stem through the gram postings, first among noise', async () => {
    await indexNoise(0, 300);
    const item = await indexItem('item-wohngeld', 'Wohngeldantrag', 500);
    const query = analyse('Antrag auf Wohngeld');
    expect(query.stems.filter((s) => item!.stems.includes(s))).toEqual([]);
    const found = await findCandidates(redis, prefix, SERVICE, query, { limit: 5 });
    expect(found).toHaveLength(5);
    expect(found[0]?.itemId).toBe('item-wohngeld');
    expect(compareTexts(query, item!).score).toBeGreaterThanOrEqual(DEFAULT_SIMILARITY_THRESHOLD);
  });

  it('finds an item by a synonym and ranks by the postings shared', async () => {
    await indexItem('item-upload', 'Upload des Einkommensnachweises schlägt fehl', 10);
    await indexItem('item-other', 'Einkommensnachweis wird nicht angezeigt', 20);
    await indexItem('item-far', 'Bankverbindung ändern', 30);
    const found = await findCandidates(redis, prefix, SERVICE, analyse('Einkommensnachweis lässt sich nicht hochladen'));
    expect(found.map((c) => c.itemId).slice(0, 2)).toEqual(['item-upload', 'item-other']);
    expect(found[0]!.hits).toBeGreaterThan(found[1]!.hits);
    expect(found.map((c) => c.itemId)).not.toContain('item-far');
  });

  it("keeps services apart: another service's items are not candidates", async () => {
    await indexItem('item-elfe', 'Geburtsurkunde wird nicht angezeigt', 10);
    expect(await findCandidates(redis, prefix, 'uvo', analyse('Geburtsurkunde wird nicht angezeigt'))).toEqual([]);
    expect((await findCandidates(redis, prefix, SERVICE, analyse('Geburtsurkunde wird nicht angezeigt')))[0]?.itemId).toBe('item-elfe');
  });

  it('returns nothing for a text with no terms', async () => {
    await indexItem('item-a', 'Geburtsurkunde wird nicht angezeigt', 10);
    expect(await findCandidates(redis, prefix, SERVICE, analyse('Hallo, vielen Dank, MfG'))).toEqual([]);
  });
});

describe('recall over the pair table', () => {
  it('finds, among 20 candidates, the other side of a pair that must match or an item that says the same, with 1,000 other items on the service', async () => {
    await indexNoise(0, 1_000);
    await Promise.all(
      MUST_MATCH.map(([service, a], i) => applyStoreOps(redis, backlogIndexOps(prefix, service, `pair-${i}`, null, analyseText(a, SERVICES[service]), 100 + i))),
    );
    const textOf = (service: keyof typeof SERVICES, id: string) => analyseText(id.startsWith('pair-') ? MUST_MATCH[Number(id.slice(5))]![1] : noise(Number(id.slice(6))), SERVICES[service]);
    const missed: string[] = [];
    let exact = 0;
    for (const [i, [service, a, b]] of MUST_MATCH.entries()) {
      const query = analyseText(b, SERVICES[service]);
      const found = await findCandidates(redis, prefix, service, query, { limit: 20 });
      if (found.some((c) => c.itemId === `pair-${i}`)) exact++;
      // Items older than a posting's read depth give way to newer ones; a newer item saying the same is as good a find.
      else if (!found.some((c) => compareTexts(query, textOf(service, c.itemId)).score >= DEFAULT_SIMILARITY_THRESHOLD)) missed.push(`${service}: ${b} → ${a}`);
    }
    expect(missed).toEqual([]);
    expect(exact / MUST_MATCH.length).toBeGreaterThanOrEqual(0.9);
  });
});

describe('moving and removing', () => {
  it('moves an item to its new text: it leaves the postings only the old text had', async () => {
    const before = await indexItem('item-1', 'Geburtsurkunde wird nicht angezeigt', 10);
    const after = await indexItem('item-1', 'Bankverbindung lässt sich nicht ändern', 20, before);
    const stillIn = new Set(backlogIndexKeys(prefix, SERVICE, after!));
    for (const key of backlogIndexKeys(prefix, SERVICE, before!)) {
      expect(await redis.zscore(key, 'item-1'), key).toBe(stillIn.has(key) ? '20' : null);
    }
    expect((await findCandidates(redis, prefix, SERVICE, analyse('Bankverbindung ändern')))[0]?.itemId).toBe('item-1');
  });

  it('removes an item from every posting when after is null, leaving the others', async () => {
    const before = await indexItem('item-gone', 'Elterngeldantrag bricht beim Speichern ab', 10);
    await indexItem('item-stays', 'Elterngeldantrag bricht beim Speichern ab', 11);
    await indexItem('item-gone', null, 12, before);
    for (const key of backlogIndexKeys(prefix, SERVICE, before!)) {
      expect(await redis.zscore(key, 'item-gone'), key).toBeNull();
      expect(await redis.zscore(key, 'item-stays'), key).toBe('11');
    }
    const found = await findCandidates(redis, prefix, SERVICE, analyse('Antrag Elterngeld: Speichern bricht ab'));
    expect(found.map((c) => c.itemId)).toEqual(['item-stays']);
  });

  it('re-scores an item seen again, so it stays among the newest of a full posting', async () => {
    const first = await indexItem('item-old', 'Antrag Geburtsurkunde', 1);
    await indexNoise(0, POSTING_CAP);
    const antrag = backlogPostingKey(prefix, SERVICE, 's:antrag');
    expect(await redis.zscore(antrag, 'item-old')).toBeNull();
    await indexItem('item-old', 'Antrag Geburtsurkunde', 5_000, first);
    expect(await redis.zscore(antrag, 'item-old')).toBe('5000');
    expect(await redis.zcard(antrag)).toBe(POSTING_CAP);
  });
});

describe('bounds', () => {
  it(`never lets a posting pass ${POSTING_CAP}, and keeps the newest`, async () => {
    await indexNoise(0, 1_000);
    const antrag = backlogPostingKey(prefix, SERVICE, 's:antrag');
    expect(await redis.zcard(antrag)).toBe(POSTING_CAP);
    expect(await redis.zrange(antrag, 0, 0)).toEqual([`noise-${1_000 - POSTING_CAP}`]);
    let cursor = '0';
    let postings = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:bx:*`, 'COUNT', 1000);
      cursor = next;
      const pipeline = redis.pipeline();
      for (const key of keys) pipeline.zcard(key);
      for (const [err, size] of (await pipeline.exec()) ?? []) {
        expect(err).toBeNull();
        expect(size as number).toBeLessThanOrEqual(POSTING_CAP);
        postings++;
      }
    } while (cursor !== '0');
    expect(postings).toBeGreaterThan(50);
  });

  it('ztrim keeps the highest-scored members, as the commit script will', async () => {
    const key = `${prefix}:bx:trim`;
    await applyStoreOps(redis, [1, 2, 3, 4, 5].map((n) => ({ op: 'zadd', key, member: `m${n}`, score: n })));
    await applyStoreOps(redis, [{ op: 'ztrim', key, keep: 3 }]);
    expect(await redis.zrange(key, 0, -1)).toEqual(['m3', 'm4', 'm5']);
    await applyStoreOps(redis, [{ op: 'ztrim', key, keep: 10 }]);
    expect(await redis.zcard(key)).toBe(3);
  });

  it('reads the same bounded set of postings with 200 items as with 2,000: no scan over items', async () => {
    // A Redis of its own, so its command statistics count this lookup alone.
    const server = await startRedisServer();
    const own = new Redis(server.url);
    try {
      const query = analyse('Antrag: Einkommensnachweis hochladen bricht ab');
      await indexNoise(0, 200, own);
      const small = await countLookup(own, query);
      await indexNoise(200, 2_000, own);
      const large = await countLookup(own, query);

      const postings = backlogIndexKeys(prefix, SERVICE, query).length;
      expect(postings).toBeLessThanOrEqual(MAX_POSTINGS_PER_LOOKUP);
      for (const counted of [small, large]) {
        expect(counted.commands).toEqual({ zrevrange: postings });
        expect(counted.found.length).toBeLessThanOrEqual(20);
      }
      // With 2,000 items the ones that say the same are still found, ranked first.
      const best = Number(large.found[0]!.itemId.replace('noise-', ''));
      expect(compareTexts(query, analyse(noise(best))).score).toBeGreaterThanOrEqual(DEFAULT_SIMILARITY_THRESHOLD);
    } finally {
      own.disconnect();
      await server.stop();
    }
  });
});

/** Runs one lookup on a Redis nobody else uses and returns the commands it cost, by name, from INFO commandstats. */
async function countLookup(client: Redis, query: Analysed): Promise<{ commands: Record<string, number>; found: Candidate[] }> {
  await client.config('RESETSTAT');
  const found = await findCandidates(client, prefix, SERVICE, query);
  const stats = await client.info('commandstats');
  const commands: Record<string, number> = {};
  for (const [, name, calls] of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (!/^(config|info)/.test(name!)) commands[name!] = Number(calls);
  }
  return { commands, found };
}
