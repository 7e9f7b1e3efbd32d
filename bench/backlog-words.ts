import type { seededRandom } from '../src/seeded-random.js';

/**
 * Realistic German backlog wishes, from word lists: a thing of the online
 * service, what should change about it, and for whom or where. 48 × 30 × 28
 * combinations, so 10,000 items have distinct titles; a suggestion drawn
 * from the same lists often says what an item already says.
 */
const THINGS = [
  'Antragsformular', 'Upload von Nachweisen', 'Geburtsurkunde', 'Einkommensnachweis', 'Postfachnachricht', 'Bescheid als PDF',
  'Anmeldung mit BundID', 'ELSTER-Zertifikat', 'Zahlungsübersicht', 'Bankverbindung', 'Fristenanzeige', 'Statusanzeige',
  'Unterschrift', 'Vollmacht', 'Adressänderung', 'Kinderliste', 'Unterhaltsberechnung', 'Terminbuchung', 'Standesamtssuche',
  'Namenserklärung', 'Sorgeerklärung', 'Vaterschaftsanerkennung', 'Lieferantenregistrierung', 'Präqualifizierungsnachweis',
  'Zertifikatsupload', 'Vergabeunterlagen', 'Angebotsabgabe', 'Datenexport', 'Suchfilter', 'Benachrichtigung per E-Mail',
  'Barrierefreiheit', 'Schriftgröße', 'Hilfetexte', 'Fehlermeldungen', 'Zwischenspeichern', 'Druckansicht', 'Sitzungsdauer',
  'Passwortänderung', 'Zwei-Faktor-Anmeldung', 'Dokumentenliste', 'Nachreichung von Unterlagen', 'Antragsübersicht',
  'Weiterleitung an die Behörde', 'Eingangsbestätigung', 'Rückfragen der Behörde', 'Kostenübersicht', 'Gebührenzahlung', 'Sprachauswahl',
] as const;

const CHANGES = [
  'soll zwischengespeichert werden können', 'lässt sich nicht absenden', 'zeigt ein falsches Datum', 'soll auf dem Smartphone bedienbar sein',
  'braucht eine verständlichere Erklärung', 'bricht nach dem Hochladen ab', 'soll mehrere Dateien auf einmal annehmen', 'fehlt in der Übersicht',
  'soll in leichter Sprache angeboten werden', 'wird zu spät angezeigt', 'soll ohne erneute Anmeldung erreichbar sein', 'zeigt keinen Fortschritt',
  'soll vorausgefüllt sein', 'akzeptiert keine Umlaute', 'soll per Tastatur bedienbar sein', 'verliert Eingaben beim Zurückblättern',
  'soll eine Erinnerung schicken', 'ist im Firefox nicht lesbar', 'soll als PDF herunterladbar sein', 'nennt die Frist nicht',
  'soll die Behörde automatisch finden', 'meldet einen unklaren Fehler', 'soll Änderungen nachträglich erlauben', 'ist zu klein dargestellt',
  'soll mit dem Personalausweis funktionieren', 'läuft nach zehn Minuten ab', 'soll eine Sortierung bekommen', 'zeigt doppelte Einträge',
  'soll mehrere Kinder zugleich erfassen', 'braucht ein Beispiel',
] as const;

const WHERE = [
  'für Alleinerziehende', 'bei Mehrlingsgeburten', 'für Unternehmen mit mehreren Standorten', 'im Antrag auf Unterhaltsvorschuss',
  'bei der Eheschließung im Ausland', 'für Antragstellende ohne Girokonto', 'nach dem Umzug in ein anderes Land', 'für Bevollmächtigte',
  'bei geteiltem Sorgerecht', 'auf Tablets', 'mit Screenreader', 'für kleine Handwerksbetriebe', 'bei Nachforderungen der Behörde',
  'für ausländische Urkunden', 'im Postfach', 'während der Wartung', 'bei langsamer Verbindung', 'für Pflegeeltern', 'nach Ablauf der Frist',
  'für Vereine', 'bei Namensänderung', 'im Vergabeverfahren', 'für Bietergemeinschaften', 'mit Zertifikaten aus anderen Ländern',
  'bei Rückfragen per Telefon', 'in der mobilen Ansicht', 'für Gehörlose', 'bei wiederholter Antragstellung',
] as const;

const REASONS = [
  'Viele Bürgerinnen und Bürger fragen beim Servicecenter danach.',
  'Die Sachbearbeitung muss sonst telefonisch nachfragen.',
  'Mehrere Länder melden das gleiche Anliegen.',
  'Ohne diese Änderung brechen viele den Antrag ab.',
  'Das kostet die Behörden viel Zeit.',
] as const;

export const WISH_COMBINATIONS = THINGS.length * CHANGES.length * WHERE.length;

/** The i-th distinct wish (i < WISH_COMBINATIONS), spread so neighbours differ in every part. */
export function wish(i: number): { title: string; description: string } {
  const thing = THINGS[i % THINGS.length]!;
  const change = CHANGES[Math.floor(i / THINGS.length) % CHANGES.length]!;
  const where = WHERE[Math.floor(i / (THINGS.length * CHANGES.length)) % WHERE.length]!;
  return { title: `${thing} ${change} ${where}`, description: `${thing} ${change}, ${where}. ${REASONS[i % REASONS.length]!}` };
}

/** A drawn wish: half of the time one of the first `known` (what an item may already say), else any. */
export function drawWish(random: ReturnType<typeof seededRandom>, known: number): { title: string; description: string } {
  const i = random() < 0.5 ? Math.floor(random() * known) : Math.floor(random() * WISH_COMBINATIONS);
  return wish(i);
}
