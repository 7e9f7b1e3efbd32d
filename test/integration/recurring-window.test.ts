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
    await mine.enter({ ticketId: 'T1', service: 'elfe', at: a.at, terms, observation: a }, 60_000, 500);
    await other.enter({ ticketId: 'T2', service: 'elfe', at: b.at, terms, observation: b }, 60_000, 500);

    // Both are in Redis and in the window's postings.
    expect(await redis.exists(keys.recurringTicket('T1'), keys.recurringTicket('T2'))).toBe(2);
    expect([...(await mine.countTermHits('elfe', terms, 0, 100)).keys()].sort()).toEqual(['T1', 'T2']);

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
});
