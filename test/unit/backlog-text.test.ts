/**
 * German text matching for the backlog (src/backlog/text.ts): a table of
 * subjects that must and must not match at the default threshold, for the
 * services ELFE, UVO, VMS, Eheschließung, Lieferantencockpit and PQ-Portal,
 * then the normaliser, stop words, synonyms, shared terms and bounds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  analyseText, AnalysedSchema, compareTexts, DEFAULT_SIMILARITY_THRESHOLD, isMatch, MAX_GRAMS, MAX_STEMS, MAX_WORD_CHARS,
  normaliseText, stemWord, type TextSettings,
} from '../../src/backlog/text.js';

const UPLOAD = ['hochladen', 'upload', 'lade hoch'];
const LOGIN = ['anmeldung', 'login', 'einloggen', 'anmelden'];
const DOWNLOAD = ['herunterladen', 'download'];

/** Settings as the topology would carry them: each service's synonyms, and its own name as a stop word. */
const SERVICES = {
  elfe: { synonyms: [UPLOAD, LOGIN], stopWords: ['ELFE'] },
  uvo: { synonyms: [UPLOAD, LOGIN], stopWords: ['UVO', 'Unterhaltsvorschuss'] },
  vms: { synonyms: [UPLOAD], stopWords: ['VMS', 'Vaterschaftsanerkennung'] },
  ehe: { synonyms: [], stopWords: ['Eheschließung'] },
  lc: { synonyms: [UPLOAD, DOWNLOAD, LOGIN], stopWords: ['Lieferantencockpit'] },
  pq: { synonyms: [UPLOAD, DOWNLOAD], stopWords: ['PQ-Portal', 'PQ Portal'] },
} satisfies Record<string, TextSettings>;
type Service = keyof typeof SERVICES;

const score = (service: Service, a: string, b: string) => compareTexts(analyseText(a, SERVICES[service]), analyseText(b, SERVICES[service]));

const MUST_MATCH: [Service, string, string][] = [
  // compounds
  ['elfe', 'Wohngeldantrag lässt sich nicht absenden', 'Antrag auf Wohngeld kann nicht abgesendet werden'],
  ['elfe', 'Elterngeldantrag bricht beim Speichern ab', 'Antrag Elterngeld: Speichern bricht ab'],
  ['uvo', 'Antrag auf Unterhaltsvorschuss für Kinder über 12 Jahre wird abgelehnt', 'Unterhaltsvorschussantrag Kind ab 12 Jahren abgelehnt'],
  ['vms', 'Vaterschaftsanerkennung: Termin beim Jugendamt kann nicht gebucht werden', 'Terminbuchung Jugendamt für Vaterschaftsanerkennung geht nicht'],
  ['ehe', 'Anmeldung zur Eheschließung: Geburtsurkunde wird nicht akzeptiert', 'Geburtsurkunde bei Eheschließungsanmeldung nicht akzeptiert'],
  ['ehe', 'Wunschtermin für die Trauung kann nicht ausgewählt werden', 'Trauungstermin auswählen nicht möglich'],
  ['lc', 'Rechnung kann im Lieferantencockpit nicht hochgeladen werden', 'Rechnungsupload schlägt fehl'],
  ['uvo', 'Unterschrift im PDF nicht sichtbar', 'Unterschrift im PDF-Dokument ist nicht sichtbar'],
  // umlaut spellings and ß
  ['elfe', 'Übermittlung an die Elterngeldstelle schlägt fehl', 'Uebermittlung an Elterngeldstelle fehlgeschlagen'],
  ['elfe', 'ubermittlung an elterngeldstelle haengt', 'Übermittlung an die Elterngeldstelle hängt'],
  ['uvo', 'Gebührenbescheid falsch berechnet', 'Gebuehrenbescheid falsch berechnet, Grüße aus Bremen'],
  ['ehe', 'Straßenname mit ß wird abgeschnitten', 'STRASSENNAME mit ss abgeschnitten'],
  ['pq', 'Präqualifizierungsnachweis läuft ab, keine Erinnerung erhalten', 'Keine Erinnerung vor Ablauf des Praequalifizierungsnachweises erhalten'],
  // word order
  ['elfe', 'Kindergeld Antrag Status unklar', 'Status vom Antrag auf Kindergeld unklar'],
  ['elfe', 'Geburtsurkunde wird nicht angezeigt', 'Keine Anzeige der Geburtsurkunde'],
  ['lc', 'Bestellbestätigung wird nicht angezeigt', 'Anzeige der Bestellbestätigungen fehlt'],
  // inflection, participles, separable verbs
  ['elfe', 'Anträge werden doppelt angelegt', 'Antrag doppelt angelegt'],
  ['elfe', 'Einkommensnachweis kann nicht hochgeladen werden', 'Einkommensnachweis hochladen nicht möglich'],
  ['elfe', 'Beim Versuch, den Nachweis hochzuladen, kommt eine Fehlermeldung', 'Nachweis hochladen: Fehlermeldung'],
  ['pq', 'PQ-Portal: Firmendaten ändern nicht möglich', 'Änderung der Firmendaten im PQ Portal geht nicht'],
  ['uvo', 'Sitzung läuft zu schnell ab', 'Sitzung zu schnell abgelaufen'],
  ['lc', 'Passwort zurücksetzen: keine E-Mail erhalten', 'Keine Mail zum Zurücksetzen des Passworts erhalten'],
  // synonyms
  ['elfe', 'Upload des Einkommensnachweises schlägt fehl', 'Einkommensnachweis lässt sich nicht hochladen'],
  ['elfe', 'Login mit BundID nicht möglich', 'Anmeldung über BundID geht nicht'],
  ['vms', 'Zustimmungserklärung der Mutter lässt sich nicht hochladen', 'Upload der Zustimmungserklärung (Mutter) schlägt fehl'],
  ['pq', 'Zertifikat Upload: Dateiformat wird abgelehnt', 'Zertifikat hochladen – Dateiformat abgelehnt'],
  ['uvo', 'Einloggen mit dem ELSTER-Zertifikat klappt nicht', 'Login über Elster Zertifikat nicht möglich'],
  // boilerplate around the same problem
  ['elfe', 'Sehr geehrte Damen und Herren, der Kindergeldantrag lässt sich nicht speichern. Mit freundlichen Grüßen', 'Hallo, Kindergeldantrag speichern nicht möglich, danke!'],
];

const MUST_NOT_MATCH: [Service, string, string][] = [
  // only boilerplate in common
  ['elfe', 'Hallo, vielen Dank, mfg: Upload geht nicht', 'Hallo, vielen Dank, mfg: Bescheid fehlt'],
  ['elfe', 'Mit freundlichen Grüßen, vielen Dank für Ihre Hilfe', 'Liebe Grüße und danke im Voraus'],
  ['uvo', 'Sehr geehrte Damen und Herren, die Bankverbindung lässt sich nicht ändern. MfG', 'Sehr geehrte Damen und Herren, der Bescheid kommt nicht an. MfG'],
  // only the failure in common
  ['elfe', 'Upload schlägt fehl', 'Anmeldung schlägt fehl'],
  ['lc', 'Fehler beim Upload', 'Fehler bei der Anmeldung'],
  // different wishes that share words
  ['pq', 'Upload von PDF schlägt fehl', 'PDF Download als Vorschau gewünscht'],
  ['elfe', 'Elterngeldantrag: Geburtsurkunde hochladen', 'Elterngeldantrag: Bankverbindung ändern'],
  ['elfe', 'Elterngeldantrag bricht ab', 'Kindergeldantrag: Bankverbindung ändern'],
  ['elfe', 'Antrag auf Elterngeld: Partnermonate falsch berechnet', 'Antrag auf Kindergeld: Kinderzuschlag fehlt'],
  ['elfe', 'Login mit BundID nicht möglich', 'Login: Passwort vergessen Funktion fehlt'],
  ['elfe', 'Wohngeldantrag lässt sich nicht absenden', 'Wohnortwechsel in anderes Bundesland melden'],
  ['uvo', 'Unterhaltsvorschuss: Antrag wird abgelehnt', 'Unterhaltsvorschuss: Bescheid kommt per Post statt digital'],
  ['vms', 'Vaterschaftsanerkennung: Termin beim Jugendamt buchen', 'Vaterschaftsanerkennung: Urkunde des Jugendamts fehlerhaft'],
  ['ehe', 'Eheschließung: Geburtsurkunde wird nicht akzeptiert', 'Eheschließung: Trauzeugen können nicht eingetragen werden'],
  ['lc', 'Rechnung hochladen im Lieferantencockpit', 'Rechnung als PDF herunterladen'],
  ['lc', 'Lieferantencockpit: Bestellung stornieren', 'Lieferantencockpit: Bestellbestätigung drucken'],
  ['pq', 'PQ-Portal: Zertifikat abgelaufen, Erinnerung fehlt', 'PQ-Portal: Zertifikat in englischer Sprache gewünscht'],
  ['pq', 'Bitte Dunkelmodus einführen', 'Bitte Schriftgröße vergrößern'],
];

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
