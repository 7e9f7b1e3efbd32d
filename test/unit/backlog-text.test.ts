/**
 * German text matching for the backlog (src/backlog/text.ts): the table of
 * subjects that must and must not match at the default threshold, for the
 * services ELFE, UVO, VMS, Eheschließung, Lieferantencockpit and PQ-Portal
 * (test/helpers/backlog-pairs.ts), then the normaliser, stop words,
 * synonyms, shared terms and bounds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  analyseText, AnalysedSchema, compareTexts, DEFAULT_SIMILARITY_THRESHOLD, isMatch, MAX_GRAMS, MAX_STEMS, MAX_WORD_CHARS,
  normaliseText, stemWord,
} from '../../src/backlog/text.js';
import { LOGIN, MUST_MATCH, MUST_NOT_MATCH, SERVICES, UPLOAD, type Service } from '../helpers/backlog-pairs.js';

const score = (service: Service, a: string, b: string) => compareTexts(analyseText(a, SERVICES[service]), analyseText(b, SERVICES[service]));

describe('the pair table at the default threshold', () => {
  it('has at least forty pairs', () => {
    expect(MUST_MATCH.length + MUST_NOT_MATCH.length).toBeGreaterThanOrEqual(40);
  });

  it.each(MUST_MATCH)('%s: "%s" matches "%s"', (service, a, b) => {
    const { score: s } = score(service, a, b);
    expect(s, `score ${s}`).toBeGreaterThanOrEqual(DEFAULT_SIMILARITY_THRESHOLD);
    expect(score(service, b, a).score).toBe(s);
  });

  it.each(MUST_NOT_MATCH)('%s: "%s" does not match "%s"', (service, a, b) => {
    const { score: s } = score(service, a, b);
    expect(s, `score ${s}`).toBeLessThan(DEFAULT_SIMILARITY_THRESHOLD);
    expect(score(service, b, a).score).toBe(s);
  });
});

describe('normaliseText', () => {
  it.each([
    ['Übermittlung', 'ubermittlung'],
    ['Uebermittlung', 'ubermittlung'],
    ['ubermittlung', 'ubermittlung'],
    ['U\u0308bermittlung (combining diaeresis)', 'ubermittlung combining diaeresis'],
    ['Grüße, Gruesse, Grüsse, GRÜSSE', 'grusse grusse grusse grusse'],
    ['Straße STRAẞE', 'strasse strasse'],
    ['Änderung Aenderung Öffnung Oeffnung', 'anderung anderung offnung offnung'],
    ['neue Quelle, Dauer, Feuer', 'neue quelle dauer feuer'],
    ['ﬁle ＰＤＦ ①', 'file pdf 1'],
    ['Café à la carte', 'cafe a la carte'],
    ['PQ-Portal E-Mail-Adresse', 'pqportal emailadresse'],
    ['Hallo!!! Upload??? (PDF) – geht/nicht', 'hallo upload pdf geht nicht'],
    ['  a \t\n\u00a0 b  ', 'a b'],
    ['', ''],
  ])('%j → %j', (input, expected) => {
    expect(normaliseText(input)).toBe(expected);
  });
});

describe('stop words and boilerplate', () => {
  it('drops the German stop words folded like the text ("für" as "fur")', () => {
    expect(analyseText('für fuer fur über ueber dafür').stems).toEqual([]);
  });

  it('drops greetings, thanks and sign-offs in every spelling', () => {
    expect(analyseText('Hallo, vielen Dank! Liebe Grüße / Mit freundlichen Gruessen, MfG. Sehr geehrte Damen und Herren, bitte danke').stems).toEqual([]);
  });

  it('keeps what names a thing in a subject though the package lists it', () => {
    expect(analyseText('Suche auf der Startseite: Datei zu groß').stems).toEqual(['such', 'startseit', 'datei', 'gross']);
  });

  it("drops a service's own stop words", () => {
    expect(analyseText('ELFE: Antrag', { stopWords: ['ELFE'] }).stems).toEqual(['antrag']);
    expect(analyseText('ELFE: Antrag').stems).toEqual(['elf', 'antrag']);
  });
});

describe('stems and synonyms', () => {
  it('joins a separable verb participle and zu-infinitive to its stem', () => {
    expect(stemWord('hochgeladen')).toBe(stemWord('hochladen'));
    expect(stemWord('hochzuladen')).toBe(stemWord('hochladen'));
    expect(stemWord('angemeldet')).toBe(stemWord('anmelden'));
    expect(stemWord('abgesendet')).toBe(stemWord('absenden'));
    expect(stemWord('eingegeben')).toBe(stemWord('eingeben'));
  });

  it('leaves words alone that only look like participles', () => {
    expect(stemWord('umgebung')).toBe('umgeb');
    expect(stemWord('anzug')).toBe('anzug');
  });

  it('maps every entry of a synonym group, inflected or written apart, to the group name', () => {
    const settings = { synonyms: [UPLOAD] };
    for (const text of ['Upload', 'Uploads', 'hochladen', 'hochgeladen', 'hochzuladen', 'lade hoch', 'Hochladen']) {
      expect(analyseText(text, settings).stems, text).toEqual(['hochladen']);
    }
    expect(analyseText('Login', { synonyms: [LOGIN] }).stems).toEqual(['anmeldung']);
    expect(analyseText('eingeloggt', { synonyms: [LOGIN] }).stems).toEqual(['anmeldung']);
  });

  it('without synonyms "Upload" and "hochladen" stay apart', () => {
    expect(isMatch(analyseText('Upload Nachweis'), analyseText('Nachweis hochladen'))).toBe(false);
  });
});

describe('compareTexts', () => {
  it('catches a compound that shares no stem, and names its parts', () => {
    const a = analyseText('Wohngeldantrag');
    const b = analyseText('Antrag auf Wohngeld');
    expect(a.stems.filter((s) => b.stems.includes(s))).toEqual([]);
    const result = compareTexts(a, b);
    expect(result.score).toBeGreaterThanOrEqual(DEFAULT_SIMILARITY_THRESHOLD);
    expect(result.shared.sort()).toEqual(['antrag', 'wohngeld']);
  });

  it('names the shared stems, synonyms under their group name', () => {
    const settings = { synonyms: [UPLOAD] };
    const result = compareTexts(analyseText('Upload des Einkommensnachweises', settings), analyseText('Einkommensnachweis hochgeladen, Bescheid fehlt', settings));
    expect(result.shared).toEqual(['hochladen', 'einkommensnachweis']);
    expect(result.score).toBeGreaterThan(0);
    expect(result.score).toBeLessThan(1);
  });

  it('scores nothing to compare as 0 and one text against itself as 1', () => {
    expect(compareTexts(analyseText(''), analyseText('Hallo, danke'))).toEqual({ score: 0, shared: [] });
    const a = analyseText('Rechnung kann nicht hochgeladen werden');
    expect(compareTexts(a, a).score).toBe(1);
  });

  it('takes the threshold as a parameter', () => {
    const a = analyseText('Rechnung hochladen');
    const b = analyseText('Rechnung herunterladen');
    const { score: s } = compareTexts(a, b);
    expect(s).toBeGreaterThan(0);
    expect(isMatch(a, b, s)).toBe(true);
    expect(isMatch(a, b, s + 0.01)).toBe(false);
  });

  it('is symmetric, within 0..1, and 1 against itself for any text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.string({ maxLength: 200 }), (x, y) => {
        const a = analyseText(x);
        const b = analyseText(y);
        const ab = compareTexts(a, b).score;
        expect(ab).toBeGreaterThanOrEqual(0);
        expect(ab).toBeLessThanOrEqual(1);
        expect(compareTexts(b, a).score).toBe(ab);
        if (a.stems.length > 0) expect(compareTexts(a, a).score).toBe(1);
      }),
    );
  });
});

describe('bounds and the stored form', () => {
  const words = ['Antrag', 'Bescheid', 'Nachweis', 'Einkommen', 'Rechnung', 'Zertifikat', 'Termin', 'Urkunde'];
  const long = Array.from({ length: 3000 }, (_, i) => `${words[i % words.length]}${i}`).join(' ');

  it('keeps at most the capped number of stems and grams of a 20,000-character description', () => {
    expect(long.length).toBeGreaterThan(20_000);
    const a = analyseText(long);
    expect(a.stems.length).toBe(MAX_STEMS);
    expect(a.grams.length).toBeLessThanOrEqual(MAX_GRAMS);
    expect(a.stems[0]).toBe('antrag0');
  });

  it('cuts a word without spaces at its cap', () => {
    const a = analyseText('x'.repeat(20_000));
    expect(a.stems).toHaveLength(1);
    expect(a.stems[0]!.length).toBeLessThanOrEqual(MAX_WORD_CHARS);
  });

  it('is plain arrays of strings: parses with its schema and survives JSON unchanged', () => {
    const a = analyseText(`Upload des Einkommensnachweises schlägt fehl ${long}`, SERVICES.elfe);
    expect(AnalysedSchema.parse(a)).toEqual(a);
    expect(JSON.parse(JSON.stringify(a))).toEqual(a);
    expect(analyseText(`Upload des Einkommensnachweises schlägt fehl ${long}`, SERVICES.elfe)).toEqual(a);
  });

  it('refuses a stored form beyond the caps', () => {
    expect(AnalysedSchema.safeParse({ stems: Array.from({ length: MAX_STEMS + 1 }, (_, i) => `s${i}`), grams: [] }).success).toBe(false);
  });
});

describe('hostile input', () => {
  it('never throws, stays within its caps and its schema, whatever the text and the synonyms', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 3000 }),
        fc.array(fc.array(fc.string({ unit: 'binary', maxLength: 80 }), { maxLength: 4 }), { maxLength: 4 }),
        (text, synonyms) => {
          const a = analyseText(text, { synonyms, stopWords: synonyms.flat() });
          expect(AnalysedSchema.safeParse(a).success).toBe(true);
          for (const gram of a.grams) expect(gram).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps grams of letters outside the Basic Multilingual Plane whole', () => {
    const a = analyseText('𠀀𠀁𠀂𠀃𠀄');
    expect(a.stems).toEqual(['𠀀𠀁𠀂𠀃𠀄']);
    expect(a.grams).toContain('_𠀀𠀁𠀂');
    expect(AnalysedSchema.parse(a)).toEqual(a);
  });
});

describe('numbers', () => {
  it('keeps short numbers (an error code, an age) and drops five digits or more (postcodes, phone, case and ticket numbers)', () => {
    expect(analyseText('Fehler 500 bei Kindern ab 12, PLZ 28195, Tel. 0421 3612345, Vorgang T01M8SS4A9CRA5ZVV6V63, Az 2024').stems).toEqual(['500', 'kind', '12', 'plz', '0421', 'vorgang', 'az', '2024']);
  });
});
