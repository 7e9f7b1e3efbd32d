/**
 * German subjects that must and must not match at the default threshold,
 * per service, with each service's settings as the topology would carry
 * them. Used by the unit table (test/unit/backlog-text.test.ts) and by the
 * index's recall test (test/integration/backlog-index.test.ts).
 */
import type { TextSettings } from '../../src/backlog/text.js';

export const UPLOAD = ['hochladen', 'upload', 'lade hoch'];
export const LOGIN = ['anmeldung', 'login', 'einloggen', 'anmelden'];
export const DOWNLOAD = ['herunterladen', 'download'];

/** Settings as the topology would carry them: each service's synonyms, and its own name as a stop word. */
export const SERVICES = {
  elfe: { synonyms: [UPLOAD, LOGIN], stopWords: ['ELFE'] },
  uvo: { synonyms: [UPLOAD, LOGIN], stopWords: ['UVO', 'Unterhaltsvorschuss'] },
  vms: { synonyms: [UPLOAD], stopWords: ['VMS', 'Vaterschaftsanerkennung'] },
  ehe: { synonyms: [], stopWords: ['Eheschließung'] },
  lc: { synonyms: [UPLOAD, DOWNLOAD, LOGIN], stopWords: ['Lieferantencockpit'] },
  pq: { synonyms: [UPLOAD, DOWNLOAD], stopWords: ['PQ-Portal', 'PQ Portal'] },
} satisfies Record<string, TextSettings>;
export type Service = keyof typeof SERVICES;

export const MUST_MATCH: [Service, string, string][] = [
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

export const MUST_NOT_MATCH: [Service, string, string][] = [
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
