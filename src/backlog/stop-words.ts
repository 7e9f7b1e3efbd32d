/**
 * Words that say nothing about *what* a support message is about. text.ts
 * folds them with its own normaliser before it compares (the raw lists carry
 * umlauts and ß; folded text does not), so "für" is dropped as well as "fuer".
 *
 * Three kinds:
 * - the `stopword` package's German list (function words), minus a few that
 *   name things in a support subject ("Suche", "Startseite", "groß" as in
 *   "Datei zu groß", and "andern", which folds like "ändern");
 * - support boilerplate: greetings and thanks that wrap every message
 *   ("Hallo", "vielen Dank", "mit freundlichen Grüßen", "MfG");
 * - failure and wish words: they say that something is wrong or wanted, not
 *   what. "Upload schlägt fehl" and "Anmeldung schlägt fehl" are different
 *   problems; kept, "schlägt fehl" would make them half alike.
 * Boilerplate and failure words are matched by stem too (so "Grüßen",
 * "Fehlers", "Problemen" go as well); the package's list by the word only,
 * since stems of function words would catch content words.
 */
import { deu } from 'stopword';

/** Words of the package's list that name something in a support subject. */
export const KEPT_FROM_PACKAGE: readonly string[] = [
  // "andern" (others) folds like "ändern" (to change), which support texts need far more.
  'andern',
  'startseite', 'suche', 'gross', 'grosse', 'grossen', 'grosser', 'grosses', 'groß', 'große', 'großen', 'großer', 'großes',
];

export const PACKAGE_STOP_WORDS: readonly string[] = deu;

/** Greetings, thanks and sign-offs, written as people write them (the phrases are split into words). */
export const BOILERPLATE: readonly string[] = [
  'hallo', 'hi', 'hey', 'moin', 'servus', 'guten tag', 'guten morgen', 'guten abend',
  'sehr geehrte damen und herren', 'sehr geehrter herr', 'sehr geehrte frau', 'liebes team', 'liebe kolleginnen und kollegen',
  'danke', 'vielen dank', 'herzlichen dank', 'besten dank', 'dankeschön', 'danke schön', 'bitte', 'gerne', 'leider',
  'mfg', 'lg', 'vg', 'bg', 'gruß', 'grüße', 'grüßen', 'gruesse', 'grüsse', 'liebe grüße', 'viele grüße', 'beste grüße',
  'freundliche grüße', 'mit freundlichen grüßen', 'schöne grüße', 'schönen tag', 'schönes wochenende',
  'anbei', 'anhang', 'info', 'information', 'hinweis', 'rückmeldung', 'rückfrage', 'frage', 'anfrage', 'anliegen',
  'dringend', 'wichtig', 'eilt', 'ticket', 'support', 'hilfe', 'helfen', 'betreff', 'aw', 'wg', 're', 'fw', 'fwd',
];

/** Words that say something is wrong or wished for, not what. */
export const FAILURE_AND_WISH_WORDS: readonly string[] = [
  'fehler', 'fehl', 'schlägt fehl', 'schlug fehl', 'fehlgeschlagen', 'error', 'problem', 'probleme', 'störung',
  'funktioniert', 'funktionieren', 'funktionierte', 'klappt', 'klappte', 'geht', 'ging', 'kaputt', 'defekt', 'unmöglich',
  'wunsch', 'wünsche', 'gewünscht', 'wünschenswert', 'anregung', 'vorschlag', 'verbesserung', 'verbesserungsvorschlag',
  'idee', 'bitte um', 'wäre', 'schön', 'sollte', 'könnte', 'fehlt', 'fehlen', 'fehlerhaft', 'lässt sich', 'lassen',
  'passiert', 'erscheint',
];
