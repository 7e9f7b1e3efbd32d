/**
 * The recurring-problem window (src/store/recurring-window.ts) on a real
 * Redis: the observations one process wrote or read are kept decoded for
 * OBSERVATION_CACHE_TTL_MS, so a burst of one service compares its tickets
 * without reading them again; another process reads what it has not seen
 * (shown by deleting the keys: what is kept is given back without them).
 */
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { analyseText, compareTexts } from '../../src/backlog/text.js';
import { makeKeys } from '../../src/store/keys.js';
import { makeRecurringWindow } from '../../src/store/recurring-window.js';
import { seededRandom } from '../../src/seeded-random.js';
import { dropPrefix, newPrefix, redisUrl } from '../helpers/harness.js';

let redis: Redis;
let prefix: string;

beforeEach(() => {
  redis = new Redis(redisUrl());
  prefix = newPrefix('rw');
});

afterEach(async () => {
  await dropPrefix(redis, prefix);
  redis.disconnect();
});

const observation = (ticketId: string, subject: string) => ({ ticketId, land: 'HB', priority: 'normal', at: Date.now(), text: { stems: analyseText(subject).stems } });

describe('the recurring-problem window', () => {
  it("gives back the observations this process wrote without reading them, reads only the others, and keeps each one's object", async () => {
    const keys = makeKeys(prefix);
    const mine = makeRecurringWindow(redis, keys);
    const other = makeRecurringWindow(redis, keys);
    const a = observation('T1', 'Upload der Geburtsurkunde schlägt fehl');
    const b = observation('T2', 'Geburtsurkunde lässt sich nicht hochladen');
    const terms = ['s:geburtsurkund'];
    const near = { since: 0, perTerm: 100, limit: 100 };
    expect(await mine.enter({ ticketId: 'T1', service: 'elfe', at: a.at, terms, observation: a }, 60_000, 500, near)).toEqual(['T1']);
    // Both are in Redis and in the window's postings: the later finds the earlier.
    expect(await other.enter({ ticketId: 'T2', service: 'elfe', at: b.at, terms, observation: b }, 60_000, 500, near)).toEqual(['T2', 'T1']);
    expect(await redis.exists(keys.recurringTicket('T1'), keys.recurringTicket('T2'))).toBe(2);

    // T1 is this window's own: the very object it wrote, given back even with its key gone (so not read).
    await redis.del(keys.recurringTicket('T1'));
    expect((await mine.readObservations(['T1'], 'elfe'))[0]).toBe(a);
    // T2 is another's: read from Redis once, in the order asked, then kept.
    const [first, second] = await mine.readObservations(['T2', 'T1'], 'elfe');
    expect(first).toEqual(b);
    expect(second).toBe(a);
    await redis.del(keys.recurringTicket('T2'));
    expect((await mine.readObservations(['T2'], 'elfe'))[0]).toBe(first);

    // A process that never saw them reads Redis: gone (expired, erased) is left out.
    expect(await other.readObservations(['T1', 'T2'], 'elfe')).toEqual([b]);
    expect(await makeRecurringWindow(redis, keys).readObservations(['T2', 'T1'], 'elfe')).toEqual([]);

    // Kept objects compare as fresh copies do.
    expect(compareTexts(a.text, (first as typeof b).text)).toEqual(compareTexts(structuredClone(a.text), structuredClone(b.text)));
  });

  it('gives back the tickets under most of its terms, ties in the order first seen, only from the window, at most the limit', async () => {
    const keys = makeKeys(prefix);
    const window = makeRecurringWindow(redis, keys);
    const random = seededRandom(7);
    const vocabulary = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((t) => `s:${t}`);
    const base = 1_000_000;
    // Sixty tickets over an hour, three to six of eight terms each, entered oldest first.
    const tickets = Array.from({ length: 60 }, (_, i) => ({
      ticketId: `T${String(i).padStart(2, '0')}`,
      at: base + i * 60_000,
      terms: vocabulary.filter(() => random() < 0.5).slice(0, 6),
    })).filter((t) => t.terms.length > 0);
    const enter = (t: (typeof tickets)[number], near: { since: number; perTerm: number; limit: number }) =>
      window.enter({ ticketId: t.ticketId, service: 'elfe', at: t.at, terms: t.terms, observation: { ticketId: t.ticketId } }, 86_400_000, 500, near);
    for (const t of tickets.slice(0, -1)) await enter(t, { since: 0, perTerm: 100, limit: 100 });

    // What the window holds, read here term by term: the reference for its answer.
    const last = tickets.at(-1)!;
    const expected = async (since: number, perTerm: number, limit: number) => {
      const hits = new Map<string, number>();
      for (const term of last.terms) {
        for (const id of await redis.zrevrangebyscore(keys.recurringPosting('elfe', term), '+inf', since, 'LIMIT', 0, perTerm)) hits.set(id, (hits.get(id) ?? 0) + 1);
      }
      return [...hits].sort((x, y) => y[1] - x[1]).slice(0, limit).map(([id]) => id);
    };
    const since = base + 30 * 60_000;
    const near = await enter(last, { since, perTerm: 10, limit: 8 });
    expect(near).toEqual(await expected(since, 10, 8));
    expect(near).toHaveLength(8);
    // The ticket itself shares all its terms: first.
    expect(near[0]).toBe(last.ticketId);
    // Nothing from before the window's start; the counts never rise along the answer.
    const atOf = new Map(tickets.map((t) => [t.ticketId, t.at]));
    expect(near.every((id) => atOf.get(id)! >= since)).toBe(true);
    const shared = (id: string) => tickets.find((t) => t.ticketId === id)!.terms.filter((term) => last.terms.includes(term)).length;
    const counts = near.map(shared);
    expect(counts).toEqual([...counts].sort((x, y) => y - x));
    // Entering it again changes nothing in the window and gives the same answer.
    expect(await enter(last, { since, perTerm: 10, limit: 8 })).toEqual(near);
    // With room for all and every entry read, each ticket sharing a term is there once.
    const all = await enter(last, { since: 0, perTerm: 500, limit: 500 });
    expect(new Set(all).size).toBe(all.length);
    expect(all.sort()).toEqual(tickets.filter((t) => shared(t.ticketId) > 0).map((t) => t.ticketId).sort());
  });
});
