/**
 * The backlog index's writes as a pure diff (src/store/backlog-index.ts):
 * which postings an item enters and leaves, each touched one trimmed to its
 * cap, and a bounded number of postings per item whatever its text.
 */
import { describe, expect, it } from 'vitest';
import { analyseText } from '../../src/backlog/text.js';
import {
  backlogIndexKeys, backlogIndexOps, backlogIndexTerms, INDEX_GRAMS, INDEX_STEMS, MAX_POSTINGS_PER_LOOKUP, POSTING_CAP,
} from '../../src/store/backlog-index.js';
import type { StoreOp } from '../../src/store/ops.js';

const P = 'lotse';
const S = 'elfe';
const keysOf = (ops: StoreOp[], op: StoreOp['op']) => ops.filter((o) => o.op === op).map((o) => o.key);

describe('backlogIndexKeys', () => {
  it('names postings per prefix, service and term, stems before grams', () => {
    const keys = backlogIndexKeys(P, S, analyseText('Wohngeldantrag'));
    expect(keys[0]).toBe('lotse:bx:elfe:s:wohngeldantrag');
    expect(keys.slice(1).every((k) => k.startsWith('lotse:bx:elfe:g:'))).toBe(true);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('enters a long text under at most INDEX_STEMS stems and INDEX_GRAMS grams', () => {
    const long = analyseText(Array.from({ length: 500 }, (_, i) => `Nachweis${i}`).join(' '));
    const terms = backlogIndexTerms(long);
    expect(terms.filter((t) => t.startsWith('s:'))).toHaveLength(INDEX_STEMS);
    expect(terms.filter((t) => t.startsWith('g:'))).toHaveLength(INDEX_GRAMS);
    expect(terms.length).toBe(MAX_POSTINGS_PER_LOOKUP);
  });

  it('picks the same grams whatever their order in the stored form', () => {
    const a = analyseText('Einkommensnachweis lässt sich nicht hochladen, Bescheid fehlt');
    const shuffled = { ...a, grams: [...a.grams].reverse() };
    expect(backlogIndexKeys(P, S, shuffled)).toEqual(backlogIndexKeys(P, S, a));
  });

  it('keeps services apart', () => {
    const a = analyseText('Geburtsurkunde');
    expect(backlogIndexKeys(P, 'uvo', a).some((k) => backlogIndexKeys(P, S, a).includes(k))).toBe(false);
  });
});

describe('backlogIndexOps', () => {
  const before = analyseText('Geburtsurkunde wird nicht angezeigt');
  const after = analyseText('Geburtsurkunde lässt sich nicht hochladen');

  it('enters a new item under each of its postings, each trimmed to the cap', () => {
    const ops = backlogIndexOps(P, S, 'B1', null, before, 42);
    const keys = backlogIndexKeys(P, S, before);
    expect(ops).toHaveLength(2 * keys.length);
    expect(ops.filter((o) => o.op === 'zadd')).toEqual(keys.map((key) => ({ op: 'zadd', key, member: 'B1', score: 42 })));
    expect(ops.filter((o) => o.op === 'ztrim')).toEqual(keys.map((key) => ({ op: 'ztrim', key, keep: POSTING_CAP })));
    expect(keysOf(ops, 'zrem')).toEqual([]);
  });

  it('leaves only the postings the new text lost, and re-scores the rest', () => {
    const ops = backlogIndexOps(P, S, 'B1', before, after, 50);
    const old = new Set(backlogIndexKeys(P, S, before));
    const now = new Set(backlogIndexKeys(P, S, after));
    expect(new Set(keysOf(ops, 'zrem'))).toEqual(new Set([...old].filter((k) => !now.has(k))));
    expect(new Set(keysOf(ops, 'zadd'))).toEqual(now);
    expect(new Set(keysOf(ops, 'ztrim'))).toEqual(now);
    expect(keysOf(ops, 'zrem').some((k) => now.has(k))).toBe(false);
    expect(ops.some((o) => o.op === 'zadd' && o.key === 'lotse:bx:elfe:s:geburtsurkund' && o.score === 50)).toBe(true);
  });

  it('the same text again only re-scores', () => {
    const ops = backlogIndexOps(P, S, 'B1', before, before, 60);
    expect(keysOf(ops, 'zrem')).toEqual([]);
    expect(keysOf(ops, 'zadd')).toEqual(backlogIndexKeys(P, S, before));
  });

  it('removes the item from every posting when after is null, with nothing to trim', () => {
    const ops = backlogIndexOps(P, S, 'B1', before, null, 70);
    expect(ops).toEqual(backlogIndexKeys(P, S, before).map((key) => ({ op: 'zrem', key, member: 'B1' })));
    expect(backlogIndexOps(P, S, 'B1', null, null, 70)).toEqual([]);
  });

  it('writes a bounded number of ops per item, however long its text', () => {
    const long = analyseText(Array.from({ length: 3000 }, (_, i) => `Antrag${i}`).join(' '));
    const other = analyseText(Array.from({ length: 3000 }, (_, i) => `Bescheid${i}`).join(' '));
    expect(backlogIndexOps(P, S, 'B1', long, other, 1).length).toBeLessThanOrEqual(3 * MAX_POSTINGS_PER_LOOKUP);
  });

  it('refuses a time that is not a finite number', () => {
    expect(() => backlogIndexOps(P, S, 'B1', null, before, Number.NaN)).toThrow(/at must be a finite time/);
  });
});
