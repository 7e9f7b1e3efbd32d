/**
 * What citizens, parents and companies write to the desks about each
 * service: subjects and descriptions, in German as they arrive. Plain data;
 * generator.ts draws from it. Recurring problems are worded alike in every
 * Land (with a few variants), so the backlog's recurring-problem detection
 * has something to find; one-off problems and questions vary.
 */

import type { Category } from '../domain/ticket.js';

export interface Topic {
  subject: string;
  description: string;
}

/** A technical fault that many Länder report in nearly the same words. */
export interface RecurringProblem {
  id: string;
  /** How often it comes up, relative to the service's other recurring problems. */
  weight: number;
  subjects: string[];
  description: string;
}

export interface Improvement {
  title: string;
  description: string;
}

export interface ServiceTexts {
  /** Share of each category among the service's tickets (weights). */
  mix: Record<Category, number>;
  questions: Topic[];
  subjectMatter: Topic[];
  technical: Topic[];
  recurring: RecurringProblem[];
  improvements: Improvement[];
}

/** Filled into descriptions: `{browser}`, `{zeit}`, `{schritt}`. */
export const BROWSERS = ['Firefox 133', 'Chrome 131', 'Edge 131', 'Safari auf dem iPhone', 'Chrome auf Android', 'Samsung Internet'];
export const STEPS = ['beim Absenden', 'auf der Zusammenfassungsseite', 'beim Hochladen der Nachweise', 'nach dem Login', 'beim Speichern des Entwurfs', 'auf Seite 3 von 5'];

const familyMix: Record<Category, number> = { question: 40, 'subject-matter': 25, technical: 30, improvement: 5 };
const businessMix: Record<Category, number> = { question: 35, 'subject-matter': 15, technical: 35, improvement: 15 };

export const CATALOGUE: Record<string, ServiceTexts> = {
  elfe: {
    mix: familyMix,
    questions: [
      { subject: 'Welche Unterlagen brauche ich für ELFE?', description: 'Unser Kind ist letzte Woche geboren. Welche Dokumente müssen wir für den Antrag über ELFE bereithalten?' },
      { subject: 'Kann ich Kindergeld und Elterngeld gleichzeitig beantragen?', description: 'Ich möchte wissen, ob ELFE beide Anträge in einem Schritt stellt oder ob ich das Elterngeld separat beantragen muss.' },
      { subject: 'Wie lange dauert die Bearbeitung der Geburtsurkunde?', description: 'Wir haben den Antrag vor fünf Tagen abgeschickt. Wann kommt die Geburtsurkunde per Post?' },
      { subject: 'Antrag für Zwillinge stellen', description: 'Wir haben Zwillinge bekommen. Muss ich für jedes Kind einen eigenen Antrag in ELFE stellen?' },
      { subject: 'Status meines ELFE-Antrags', description: 'Wo kann ich sehen, ob das Standesamt meinen Antrag schon bearbeitet hat?' },
    ],
    subjectMatter: [
      { subject: 'Namensbestimmung bei unverheirateten Eltern', description: 'Wir sind nicht verheiratet. Kann das Kind meinen Nachnamen bekommen, wenn der Vater die Vaterschaft anerkannt hat?' },
      { subject: 'Elterngeld bei Teilzeit nach der Geburt', description: 'Ich möchte nach vier Monaten in Teilzeit zurückkehren. Wie wirkt sich das auf das Elterngeld Plus aus?' },
      { subject: 'Anspruch auf Kindergeld bei Wohnsitz im Ausland', description: 'Der Vater arbeitet in den Niederlanden. Besteht trotzdem ein Anspruch auf Kindergeld in Deutschland?' },
      { subject: 'Geburt im Ausland beurkunden', description: 'Unser Kind wurde in Österreich geboren. Kann die Nachbeurkundung auch über ELFE laufen?' },
    ],
    technical: [
      { subject: 'ELFE: Seite lädt nicht', description: 'Nach der Auswahl des Standesamts bleibt die Seite weiß. Mit {browser}, heute gegen {zeit}.' },
      { subject: 'Bestätigungsmail kommt nicht an', description: 'Ich habe den Antrag abgeschickt, aber keine Eingangsbestätigung per E-Mail erhalten, auch nicht im Spam-Ordner.' },
      { subject: 'Eingaben nach Zurück-Taste verloren', description: 'Wenn ich {schritt} auf „Zurück“ klicke, sind alle Angaben zum zweiten Elternteil gelöscht.' },
    ],
    recurring: [
      {
        id: 'elfe-upload-413',
        weight: 3,
        subjects: ['ELFE: Hochladen der Geburtsurkunde bricht ab', 'Upload Geburtsurkunde in ELFE schlägt fehl', 'ELFE Upload Geburtsurkunde Fehler 413'],
        description: 'Beim Hochladen der Geburtsurkunde (PDF, ca. 8 MB) erscheint „Fehler 413 – Datei zu groß“ und der Antrag lässt sich nicht fortsetzen. Browser: {browser}, {zeit} Uhr.',
      },
      {
        id: 'elfe-bundid-timeout',
        weight: 2,
        subjects: ['ELFE: Sitzung nach BundID-Login abgelaufen', 'Nach Anmeldung mit BundID Sitzung abgelaufen (ELFE)'],
        description: 'Nach der Anmeldung mit der BundID kommt sofort die Meldung „Ihre Sitzung ist abgelaufen“. Der Antrag ist danach leer. Aufgetreten {schritt}, {browser}.',
      },
    ],
    improvements: [
      { title: 'Entwurf in ELFE zwischenspeichern', description: 'Eltern möchten den Antrag unterbrechen und später fortsetzen, ohne alle Angaben neu einzugeben.' },
      { title: 'Größere Dateien beim Upload zulassen', description: 'Scans von Geburtsurkunden sind oft größer als 5 MB; die Grenze führt regelmäßig zu Abbrüchen.' },
    ],
  },
  uvo: {
    mix: familyMix,
    questions: [
      { subject: 'Wer kann Unterhaltsvorschuss beantragen?', description: 'Ich bin alleinerziehend und der Vater zahlt keinen Unterhalt. Kann ich den Unterhaltsvorschuss online beantragen?' },
      { subject: 'Welche Nachweise braucht das Jugendamt?', description: 'Welche Unterlagen muss ich beim Online-Antrag auf Unterhaltsvorschuss hochladen?' },
      { subject: 'Änderung der Adresse nach Antragstellung', description: 'Ich bin nach dem Antrag umgezogen. Wie teile ich die neue Anschrift mit?' },
      { subject: 'Antrag versehentlich doppelt gestellt', description: 'Ich habe den Antrag zweimal abgeschickt. Muss ich einen davon zurückziehen?' },
    ],
    subjectMatter: [
      { subject: 'Unterhaltsvorschuss ab 12 Jahren', description: 'Mein Sohn wird 12. Welche Voraussetzungen gelten ab dann für den Unterhaltsvorschuss?' },
      { subject: 'Anrechnung von Halbwaisenrente', description: 'Meine Tochter bezieht Halbwaisenrente. Wird diese auf den Unterhaltsvorschuss angerechnet?' },
      { subject: 'Rückforderung durch das Jugendamt', description: 'Ich habe einen Rückforderungsbescheid erhalten. Ist das rechtens, wenn der Vater inzwischen zahlt?' },
    ],
    technical: [
      { subject: 'UVO: Formular zeigt falsches Jugendamt', description: 'Für meine Postleitzahl wird ein Jugendamt im Nachbarkreis angezeigt. Eine Auswahl ist nicht möglich.' },
      { subject: 'PDF-Zusammenfassung lässt sich nicht öffnen', description: 'Die heruntergeladene Zusammenfassung meines Antrags ist beschädigt ({browser}).' },
    ],
    recurring: [
      {
        id: 'uvo-xfamilie-delivery',
        weight: 3,
        subjects: ['UVO: Antrag beim Jugendamt nicht angekommen', 'Unterhaltsvorschuss-Antrag kommt nicht beim Jugendamt an', 'UVO Antrag Zustellung Jugendamt fehlgeschlagen'],
        description: 'Das Jugendamt teilt mit, dass kein Antrag vorliegt, obwohl die Eingangsbestätigung von UVO vorliegt. Vermutlich wurde die XFamilie-Nachricht über den Nachrichtenbroker nicht zugestellt. Abgeschickt gegen {zeit} Uhr.',
      },
      {
        id: 'uvo-upload-hangs',
        weight: 1,
        subjects: ['UVO: Hochladen der Nachweise hängt', 'Upload im Unterhaltsvorschuss-Antrag hängt bei 99 %'],
        description: 'Beim Hochladen der Nachweise bleibt der Fortschrittsbalken bei 99 % stehen. Mehrfach versucht mit {browser}.',
      },
    ],
    improvements: [
      { title: 'Statusanzeige für eingereichte UVO-Anträge', description: 'Antragstellende fragen oft nach dem Stand; eine Statusseite würde viele Anrufe bei der 115 ersparen.' },
    ],
  },
  vms: {
    mix: familyMix,
    questions: [
      { subject: 'Vaterschaftsanerkennung vor der Geburt', description: 'Können wir die Vaterschaft schon vor der Geburt online vorbereiten und wann müssen wir zum Termin?' },
      { subject: 'Termin beim Jugendamt für die Sorgeerklärung', description: 'Wie bekomme ich nach dem Online-Antrag einen Termin für die Beurkundung der Sorgeerklärung?' },
      { subject: 'Welche Ausweise muss ich mitbringen?', description: 'Für die Beurkundung der Vaterschaftsanerkennung: reicht der Reisepass oder brauche ich den Personalausweis?' },
    ],
    subjectMatter: [
      { subject: 'Sorgeerklärung bei minderjähriger Mutter', description: 'Die Mutter ist 17. Braucht es für die Sorgeerklärung die Zustimmung ihrer Eltern?' },
      { subject: 'Vaterschaftsanerkennung mit ausländischem Vater', description: 'Der Vater hat die italienische Staatsangehörigkeit. Welche Unterlagen sind zusätzlich nötig?' },
    ],
    technical: [
      { subject: 'VMS: Terminvorschläge werden nicht angezeigt', description: 'Nach dem Ausfüllen erscheint keine Terminauswahl, nur ein Ladekreis ({browser}).' },
    ],
    recurring: [
      {
        id: 'vms-pdf-missing',
        weight: 2,
        subjects: ['VMS: PDF der Sorgeerklärung wird nicht erzeugt', 'Sorgeerklärung: PDF-Erzeugung schlägt fehl'],
        description: 'Nach dem Absenden kommt die Meldung „Dokument konnte nicht erstellt werden“. Die vorbereitete Sorgeerklärung liegt dem Jugendamt nicht vor. {zeit} Uhr, {browser}.',
      },
    ],
    improvements: [
      { title: 'Beide Elternteile getrennt anmelden lassen', description: 'Der zweite Elternteil soll seine Angaben selbst ergänzen können, statt dass einer alles eintippt.' },
    ],
  },
  ehe: {
    mix: familyMix,
    questions: [
      { subject: 'Anmeldung der Eheschließung online', description: 'Wir wollen im Mai heiraten. Wie weit im Voraus können wir die Eheschließung online anmelden?' },
      { subject: 'Trauung in einem anderen Standesamt', description: 'Wir wohnen in verschiedenen Städten. Bei welchem Standesamt melden wir die Ehe an?' },
      { subject: 'Gebühren für die Eheschließung', description: 'Welche Gebühren fallen an und wie werden sie bei der Online-Anmeldung bezahlt?' },
    ],
    subjectMatter: [
      { subject: 'Ehefähigkeitszeugnis für ausländische Partnerin', description: 'Meine Verlobte ist brasilianische Staatsangehörige. Wird ein Ehefähigkeitszeugnis benötigt?' },
      { subject: 'Namensführung nach der Heirat', description: 'Können wir einen Doppelnamen als Ehenamen wählen?' },
    ],
    technical: [
      { subject: 'Eheschließung: Online-Zahlung schlägt fehl', description: 'Die Zahlung per giropay bricht mit „Transaktion abgelehnt“ ab, das Konto ist gedeckt.' },
    ],
    recurring: [
      {
        id: 'ehe-no-slots',
        weight: 2,
        subjects: ['Eheschließung: keine freien Termine angezeigt', 'Terminbuchung Standesamt zeigt keine Termine'],
        description: 'Im Terminkalender des Standesamts erscheinen für alle Monate „keine freien Termine“, laut Telefonauskunft gibt es aber Termine. {browser}, {zeit} Uhr.',
      },
    ],
    improvements: [
      { title: 'Trauzeugen nachträglich ändern', description: 'Paare möchten die Angaben zu Trauzeugen nach der Anmeldung online ändern können.' },
    ],
  },
  lieferantencockpit: {
    mix: businessMix,
    questions: [
      { subject: 'Registrierung im Lieferantencockpit', description: 'Unser Unternehmen möchte sich als Lieferant registrieren. Welche Angaben werden benötigt?' },
      { subject: 'Zweiten Benutzer für unser Unternehmen anlegen', description: 'Wie kann eine Kollegin einen eigenen Zugang für unser Unternehmenskonto bekommen?' },
      { subject: 'Rechnung zu Bestellung nicht auffindbar', description: 'Im Cockpit sehen wir die Bestellung, aber nicht die zugehörige E-Rechnung. Wo finden wir sie?' },
    ],
    subjectMatter: [
      { subject: 'Pflichtangaben zur XRechnung', description: 'Welche Leitweg-ID müssen wir für Rechnungen an die Behörde angeben?' },
    ],
    technical: [
      { subject: 'Lieferantencockpit: Export als CSV leer', description: 'Der Export der Bestellübersicht erzeugt eine leere Datei.' },
      { subject: 'Stammdaten lassen sich nicht speichern', description: 'Beim Speichern der Bankverbindung erscheint „unbekannter Fehler“ ({browser}).' },
    ],
    recurring: [
      {
        id: 'lc-elster-login',
        weight: 3,
        subjects: ['Lieferantencockpit: Login mit ELSTER-Zertifikat schlägt fehl', 'Anmeldung mit ELSTER-Unternehmenskonto nicht möglich', 'Lieferantencockpit ELSTER Login Fehler'],
        description: 'Die Anmeldung mit dem ELSTER-Organisationszertifikat endet mit „Authentifizierung fehlgeschlagen“. Das Zertifikat ist gültig. Versucht um {zeit} Uhr mit {browser}.',
      },
    ],
    improvements: [
      { title: 'Benachrichtigung bei neuen Bestellungen', description: 'Lieferanten wünschen eine E-Mail, sobald eine neue Bestellung im Cockpit eingeht.' },
      { title: 'Mehrere Ansprechpartner je Unternehmen', description: 'Unternehmen möchten für Einkauf und Buchhaltung getrennte Kontakte hinterlegen.' },
    ],
  },
  'pq-portal': {
    mix: businessMix,
    questions: [
      { subject: 'Ablauf der Präqualifizierung', description: 'Wie lange dauert die Präqualifizierung nach dem vollständigen Upload der Nachweise?' },
      { subject: 'Verlängerung des PQ-Zertifikats', description: 'Unser Eintrag läuft im nächsten Monat ab. Wie beantragen wir die Verlängerung?' },
      { subject: 'Welche Nachweise sind Pflicht?', description: 'Welche Eignungsnachweise brauchen wir für Bauleistungen bis 500.000 Euro?' },
    ],
    subjectMatter: [
      { subject: 'Gültigkeit der Unbedenklichkeitsbescheinigung', description: 'Wie alt darf die Unbedenklichkeitsbescheinigung der Krankenkasse höchstens sein?' },
    ],
    technical: [
      { subject: 'PQ-Portal: Zertifikat nicht als PDF abrufbar', description: 'Der Download des PQ-Zertifikats liefert einen Serverfehler 500.' },
    ],
    recurring: [
      {
        id: 'pq-upload-timeout',
        weight: 3,
        subjects: ['PQ-Portal: Zeitüberschreitung beim Hochladen der Eignungsnachweise', 'Upload Eignungsnachweise im PQ-Portal bricht ab', 'PQ-Portal Upload Nachweise Timeout'],
        description: 'Beim Hochladen mehrerer Eignungsnachweise (zusammen etwa 20 MB) kommt nach einer Minute „Zeitüberschreitung der Anfrage“. Einzelne kleine Dateien gehen. {browser}, {zeit} Uhr.',
      },
    ],
    improvements: [
      { title: 'Erinnerung vor Ablauf von Nachweisen', description: 'Unternehmen möchten rechtzeitig erinnert werden, bevor hinterlegte Nachweise ablaufen.' },
    ],
  },
  'datenservice-einkauf': {
    mix: { question: 40, 'subject-matter': 20, technical: 30, improvement: 10 },
    questions: [
      { subject: 'Zugang zum Datenservice Öffentlicher Einkauf', description: 'Wie bekommt unsere Vergabestelle einen Zugang zum Vermittlungsdienst?' },
      { subject: 'Welche eForms-DE-Version wird unterstützt?', description: 'Ab wann muss unser Vergabesystem die neue eForms-DE-Version liefern?' },
    ],
    subjectMatter: [
      { subject: 'Pflichtfelder bei Bekanntmachungen unterhalb der EU-Schwellenwerte', description: 'Müssen für nationale Bekanntmachungen alle eForms-Felder befüllt werden?' },
    ],
    technical: [
      { subject: 'Vermittlungsdienst: Bekanntmachung erscheint nicht auf service.bund.de', description: 'Die Bekanntmachung wurde angenommen, ist aber nach zwei Tagen nicht veröffentlicht.' },
    ],
    recurring: [
      {
        id: 'des-eforms-validation',
        weight: 3,
        subjects: ['eForms-Bekanntmachung wird mit Validierungsfehler abgelehnt', 'Datenservice lehnt eForms-DE Bekanntmachung ab (Validierung)'],
        description: 'Der Vermittlungsdienst lehnt die Bekanntmachung mit „Schematron-Validierung fehlgeschlagen: BT-105“ ab, obwohl das Feld befüllt ist. Eingereicht um {zeit} Uhr.',
      },
    ],
    improvements: [
      { title: 'Verständlichere Validierungsmeldungen', description: 'Vergabestellen wünschen Fehlermeldungen, die das betroffene Feld im Klartext nennen.' },
    ],
  },
};

/** Share of tickets per service (weights): the family services carry most of the traffic. */
export const SERVICE_WEIGHTS: Record<string, number> = {
  elfe: 30, uvo: 20, vms: 12, ehe: 15, lieferantencockpit: 8, 'pq-portal': 8, 'datenservice-einkauf': 7,
};

/** Fictitious reporters (some tickets carry one, to show whom personal data reaches). */
export const REPORTER_NAMES = ['Erika Mustermann', 'Max Mustermann', 'Anna Schmidt', 'Mehmet Yılmaz', 'Julia Becker', 'Lukas Wagner', 'Sophie Hoffmann', 'Jonas Schulz'];

/** What desks and offices write when they move a ticket. */
export const ANSWERS = {
  accept: ['Anliegen aufgenommen.', 'Wir kümmern uns darum.', 'In Bearbeitung.'],
  requestInfo: ['Bitte senden Sie uns einen Screenshot der Fehlermeldung.', 'Bitte nennen Sie das Aktenzeichen Ihres Antrags.', 'Welchen Browser und welches Gerät nutzen Sie?'],
  infoReceived: ['Die Antragstellerin hat die Angaben nachgereicht.', 'Screenshot liegt jetzt vor.', 'Aktenzeichen telefonisch durchgegeben.'],
  resolveQuestion: ['Auskunft erteilt, Anliegen geklärt.', 'Link zur Ausfüllhilfe geschickt.', 'Telefonisch erläutert, Antragsteller ist zufrieden.'],
  resolveSubjectMatter: ['Rechtslage erläutert.', 'Fachliche Auskunft der Fachstelle übermittelt.', 'An das zuständige Amt verwiesen, Auskunft erteilt.'],
  resolveTechnical: ['Browser-Cache geleert, Antrag ging danach durch.', 'Fehler behoben, bitte erneut versuchen.', 'Workaround mitgeteilt: Datei verkleinert hochladen.'],
  escalate: ['Technischer Fehler, erste Ebene kann nicht helfen.', 'Tritt bei mehreren Antragstellenden auf, bitte prüfen.', 'Fehlermeldung reproduzierbar.'],
  returnAnswer: ['Bekanntes Problem, Workaround an die Antragstellenden weitergeben.', 'Konfiguration korrigiert, bitte Rückmeldung an den Bürger.'],
  reopen: ['Problem tritt erneut auf.', 'Antragstellerin meldet sich wieder: weiterhin Fehler.'],
};
