import { describe, expect, it } from 'vitest';
import { analyseText, compareTexts, wordsForTerms } from '../../src/backlog/text.js';
import type { BacklogLink } from '../../src/domain/backlog-policy.js';
import { describeAfterLinks, recurringDescription } from '../../src/engine/backlog/description.js';
import { searchWords, subjectMatches } from '../../src/engine/ticket/list.js';

const link = (ticketId: string, land: string): BacklogLink => ({ ticketId, land, priority: 'P3', score: 0.7, shared: ['x'], at: 0, source: 'recurring' } as BacklogLink);

describe('the word search of the ticket list', () => {
  it('needs every word in the subject, as part of a word, case and umlaut spelling aside', () => {
    const words = searchWords('Hochlad  NACHWEIS');
    expect(words).toEqual(['hochlad', 'nachweis']);
    expect(subjectMatches('Nachweise lassen sich nicht hochladen', words)).toBe(true);
    expect(subjectMatches('Nachweise fehlen', words)).toBe(false);
    expect(subjectMatches('Lässt sich nicht öffnen', searchWords('laesst OFFNEN'))).toBe(true);
    expect(subjectMatches('Straße gesperrt', searchWords('strasse'))).toBe(true);
  });
});

describe('why a ticket was linked, in words', () => {
  it('gives each shared term as the text writes it, a term no word gives as it is', () => {
    const a = analyseText('Wohngeldantrag online hochladen');
    const b = analyseText('Antrag auf Wohngeld: Nachweise hochladen');
    const { shared } = compareTexts(a, b);
    expect(shared.length).toBeGreaterThan(0);
    const words = wordsForTerms('Wohngeldantrag online hochladen', shared);
    expect(words).toContain('hochladen');
    expect(words.every((w) => /^[\p{L}\p{N}-]+$/u.test(w))).toBe(true);
    expect(wordsForTerms('Geburtsurkunde fehlt', ['geburtsurkund', 'zzz'])).toEqual(['Geburtsurkunde', 'zzz']);
  });

  it('alike in full: score 1 and every term shared, never 1 with nothing', () => {
    const text = analyseText('Upload der Geburtsurkunde schlägt fehl');
    const self = compareTexts(text, text);
    expect(self.score).toBe(1);
    expect(self.shared.length).toBe(text.stems.length);
  });
});

describe("a recurring item's description", () => {
  it('counts the tickets and Länder as they join; a written description stays', () => {
    const links = [link('a', 'HB'), link('b', 'HB'), link('c', 'SH')];
    const start = recurringDescription(3, 2, 7);
    expect(start).toBe('3 technische Tickets aus 2 Ländern innerhalb von 7 Tagen melden dasselbe.');
    expect(describeAfterLinks(start, links, [link('d', 'BY')])).toBe('4 technische Tickets aus 3 Ländern innerhalb von 7 Tagen melden dasselbe.');
    // A ticket linked already changes nothing.
    expect(describeAfterLinks(start, links, [link('a', 'HB')])).toBeNull();
    expect(describeAfterLinks('Bitte Upload größerer Dateien erlauben', links, [link('d', 'BY')])).toBeNull();
    const one = recurringDescription(1, 1, 1);
    expect(one).toBe('1 technisches Ticket aus 1 Land innerhalb von 1 Tag meldet dasselbe.');
    expect(describeAfterLinks(one, [link('a', 'HB')], [link('b', 'HB')])).toBe('2 technische Tickets aus 1 Land innerhalb von 1 Tag melden dasselbe.');
  });
});
