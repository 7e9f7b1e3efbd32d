/**
 * German text matching for the backlog: do two support messages ask for the
 * same change? Pure code: no I/O, no clock; the same text and settings give
 * the same terms on every machine, so terms can be stored and indexed.
 *
 * Pipeline (analyseText):
 * 1. normaliseText: NFKC, German lower case, ß → ss, ä/ö/ü → a/o/u and the
 *    transliterations ae/oe/ue → a/o/u as well (not after a vowel, so "neue",
 *    "Dauer" keep their diphthong, and not "que"), other diacritics dropped,
 *    a hyphen inside a word joins ("PQ-Portal" → "pqportal", read as a
 *    compound), other punctuation splits. The plain vowel is the canonical
 *    form because Snowball's German stemmer ends there too and because
 *    people without a German keyboard type "ubermittlung".
 * 2. Stems: Snowball German (@orama/stemmers), then a separable verb's
 *    participle and zu-infinitive are put back together with its infinitive
 *    ("hochgeladen", "hochzuladen" → "hochlad" like "hochladen",
 *    "angemeldet" → "anmeld"), which Snowball alone leaves apart.
 * 3. Per-service synonyms (settings.synonyms, groups of words or phrases)
 *    are matched on stems and replaced by the group's first entry, so
 *    "Upload", "hochgeladen" and "lade hoch" become one term ("lade hoch",
 *    the verb written apart, is derived from "hochladen" too).
 * 4. Stop words (stop-words.ts and settings.stopWords) are dropped, and so
 *    are words with five digits or more (postcodes, phone, case and ticket
 *    numbers): they say who or which case, not what, and would fill the
 *    index with terms no other text has.
 * 5. Character 4-grams of every stem, padded with "_" at both ends. Stems
 *    alone miss German compounds: "Wohngeldantrag" and "Antrag auf
 *    Wohngeld" share no stem, but "wohngeldantrag" and "wohngeld"+"antrag"
 *    share most 4-grams. The padding marks where words start and end and
 *    gives short stems ("pdf", "uvo") grams at all ("_pdf", "pdf_").
 * Bounded: only the first MAX_INPUT_CHARS are read, a word is cut at
 * MAX_WORD_CHARS, and at most MAX_STEMS stems and MAX_GRAMS grams are kept,
 * so a 20,000-character description costs what a long subject costs.
 *
 * Similarity (compareTexts), 0..1, symmetric:
 *   score = 0.8 · stemScore + 0.2 · gramScore
 *   stemScore = (Σ credit(a) over stems of A + Σ credit(b) over stems of B)
 *               / (|stems A| + |stems B|), a "soft Dice" of the stem sets;
 *     credit(s) = 1 when the other side has s, or has a stem that contains
 *       s or that s contains (a compound's part: at least 4 letters inside
 *       it, "antrag" in "wohngeldantrag", or 3 at its start or end, "pdf"
 *       in "pdfdokument"); else the best 4-gram Dice of s
 *       with one of the other side's stems when it is ≥ 0.6 (one word spelt
 *       or inflected otherwise); else 0;
 *   gramScore = Dice of the two gram sets = 2 |A ∩ B| / (|A| + |B|).
 * The stem part is what a reader can check: the stems that earned credit
 * are `shared`. The gram part orders near-equal scores and adds what the
 * stem part misses; it has a small weight because different words with a
 * common ending ("hochladen", "herunterladen") share grams too.
 * Calibration (the 46 pairs of test/helpers/backlog-pairs.ts): the same
 * problem in other words scores 0.62 and more; different wishes sharing one
 * of two or three content words ("Rechnung hochladen" / "Rechnung als PDF
 * herunterladen") 0.48 and less: DEFAULT_SIMILARITY_THRESHOLD = 0.55.
 * A service's settings should name the service itself as a stop word: every
 * subject of ELFE says "ELFE", which would make any two of them half alike. Known limit of any
 * bag of words: two of three content words in common match, whatever the
 * third says ("Termin verschieben" / "Termin absagen" on one service).
 */
import { stemmer } from '@orama/stemmers/german';
import { z } from 'zod';
import { BOILERPLATE, FAILURE_AND_WISH_WORDS, KEPT_FROM_PACKAGE, PACKAGE_STOP_WORDS } from './stop-words.js';

export const MAX_INPUT_CHARS = 8_000;
export const MAX_WORD_CHARS = 48;
export const MAX_STEMS = 64;
export const MAX_GRAMS = 256;
export const GRAM_SIZE = 4;
export const DEFAULT_SIMILARITY_THRESHOLD = 0.55;
const STEM_WEIGHT = 0.8;
const GRAM_WEIGHT = 0.2;
/** Two different stems this alike in grams are one word spelt or inflected otherwise ("ubermitlung"). */
const NEAR_STEM_DICE = 0.6;
/** The shorter stem must have this many letters to count as part of a compound anywhere inside it… */
const MIN_PART_CHARS = 4;
/** …or this many at its start or end, where a compound's parts meet. */
const MIN_EDGE_PART_CHARS = 3;

/** A service's matching settings (from the topology). */
export interface TextSettings {
  /** Groups of words or phrases that mean the same; the first entry names the group. */
  synonyms?: readonly (readonly string[])[];
  /** More words to ignore, e.g. the service's own name, which every subject of it carries. */
  stopWords?: readonly string[];
}

/** A text's terms, compact enough to keep in an item document. */
export const AnalysedSchema = z.strictObject({
  stems: z.array(z.string().min(1).max(MAX_WORD_CHARS)).max(MAX_STEMS),
  // GRAM_SIZE code points: up to twice as many UTF-16 units outside the BMP.
  grams: z.array(z.string().min(GRAM_SIZE).max(2 * GRAM_SIZE)).max(MAX_GRAMS),
});
export type Analysed = z.infer<typeof AnalysedSchema>;

/** What a comparison reads of an analysed text: its stems (its grams follow from them). */
export type Compared = Pick<Analysed, 'stems'>;

export interface Comparison {
  score: number;
  /** The terms that earned credit (a shared stem, a compound's part, a near spelling), A's first. */
  shared: string[];
}

const VOWEL = 'aeiouy';

/** One canonical spelling of a German text, for matching (never for display). */
export function normaliseText(s: string): string {
  let t = s.normalize('NFKC').toLocaleLowerCase('de-DE');
  t = t.replace(/ß/g, 'ss').replace(/ä/g, 'a').replace(/ö/g, 'o').replace(/ü/g, 'u');
  t = t.replace(new RegExp(`(?<![${VOWEL}])ae`, 'g'), 'a');
  t = t.replace(new RegExp(`(?<![${VOWEL}])oe`, 'g'), 'o');
  t = t.replace(new RegExp(`(?<![${VOWEL}q])ue`, 'g'), 'u');
  t = t.normalize('NFD').replace(/\p{M}+/gu, '');
  t = t.replace(/(?<=[\p{L}\p{N}])[-\u2010\u2011](?=[\p{L}\p{N}])/gu, '');
  return t.replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}

/** Separable prefixes, longest first, whose participle puts "ge" between prefix and verb. */
const SEPARABLE = ['zusammen', 'herunter', 'zuruck', 'heraus', 'runter', 'weiter', 'durch', 'fest', 'frei', 'hoch', 'nach', 'auf', 'aus', 'bei', 'ein', 'her', 'hin', 'los', 'mit', 'vor', 'weg', 'ab', 'an', 'um', 'zu'];
const PARTICIPLE = new RegExp(`^(${SEPARABLE.join('|')})ge(\\p{L}{3,}?)(?:et|t)?$`, 'u');
/** "hochzuladen", "anzumelden": the infinitive with "zu" inside. */
const ZU_INFINITIVE = new RegExp(`^(${SEPARABLE.join('|')})zu(\\p{L}{3,})$`, 'u');

/** Snowball's stem, with a separable verb's participle joined to its infinitive's stem. */
export function stemWord(word: string): string {
  const stem = stemmer(word);
  const joined = PARTICIPLE.exec(stem) ?? ZU_INFINITIVE.exec(stem);
  return joined ? `${joined[1]}${joined[2]}` : stem;
}

/** A word cut to MAX_WORD_CHARS, never inside a surrogate pair. */
function cutWord(w: string): string {
  if (w.length <= MAX_WORD_CHARS) return w;
  const cut = w.slice(0, MAX_WORD_CHARS);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

const wordsOf = (phrase: string): string[] => normaliseText(phrase).split(' ').filter(Boolean);

const KEPT = new Set(KEPT_FROM_PACKAGE.flatMap(wordsOf));
const PACKAGE_STOP = new Set(PACKAGE_STOP_WORDS.flatMap(wordsOf).filter((w) => !KEPT.has(w)));
const SUPPORT_STOP = [...BOILERPLATE, ...FAILURE_AND_WISH_WORDS].flatMap(wordsOf);
const SUPPORT_STOP_WORDS = new Set(SUPPORT_STOP);
const SUPPORT_STOP_STEMS = new Set(SUPPORT_STOP.map(stemWord));

interface Phrase {
  stems: string[];
  canonical: string;
}

interface CompiledSettings {
  single: Map<string, string>;
  /** Multi-word entries as stem sequences by their first stem, longest first. */
  phrases: Map<string, Phrase[]>;
  stopWords: Set<string>;
  stopStems: Set<string>;
}

const compiled = new WeakMap<TextSettings, CompiledSettings>();
const NO_SETTINGS: TextSettings = {};

function compileSettings(settings: TextSettings): CompiledSettings {
  const known = compiled.get(settings);
  if (known) return known;
  const single = new Map<string, string>();
  const phrases: Phrase[] = [];
  for (const group of settings.synonyms ?? []) {
    const first = group[0];
    if (first === undefined) continue;
    const canonical = cutWord(wordsOf(first).join(''));
    if (canonical.length === 0) continue;
    for (const entry of group) {
      const stems = wordsOf(entry).map(stemWord);
      if (stems.length === 1 && !single.has(stems[0]!)) {
        single.set(stems[0]!, canonical);
        // "lade hoch": a separable verb written apart, its prefix after the verb.
        const prefix = SEPARABLE.find((p) => stems[0]!.startsWith(p) && stems[0]!.length - p.length >= 3);
        if (prefix) phrases.push({ stems: [stems[0]!.slice(prefix.length), prefix], canonical });
      } else if (stems.length > 1) phrases.push({ stems, canonical });
    }
  }
  const byFirst = new Map<string, Phrase[]>();
  for (const phrase of phrases.sort((a, b) => b.stems.length - a.stems.length)) {
    const list = byFirst.get(phrase.stems[0]!) ?? [];
    list.push(phrase);
    byFirst.set(phrase.stems[0]!, list);
  }
  const extra = (settings.stopWords ?? []).flatMap(wordsOf);
  const result = { single, phrases: byFirst, stopWords: new Set(extra), stopStems: new Set(extra.map(stemWord)) };
  compiled.set(settings, result);
  return result;
}

const MAX_DIGITS = 4;
const hasTooManyDigits = (word: string) => (word.match(/\p{N}/gu)?.length ?? 0) > MAX_DIGITS;

function isStopWord(word: string, stem: string, s: CompiledSettings): boolean {
  return hasTooManyDigits(word) || PACKAGE_STOP.has(word) || SUPPORT_STOP_WORDS.has(word) || SUPPORT_STOP_STEMS.has(stem) || s.stopWords.has(word) || s.stopStems.has(stem);
}

function matchPhrase(stemAt: (i: number) => string | undefined, at: number, s: CompiledSettings): Phrase | undefined {
  const first = stemAt(at);
  return first === undefined ? undefined : s.phrases.get(first)?.find((phrase) => phrase.stems.every((stem, i) => stemAt(at + i) === stem));
}

/** The padded character n-grams of one stem (by code point, so no gram splits a surrogate pair). */
export function gramsOf(stem: string): string[] {
  const padded = `_${stem}_`;
  const grams: string[] = [];
  if (!/[\uD800-\uDFFF]/.test(padded)) {
    for (let i = 0; i + GRAM_SIZE <= padded.length; i++) grams.push(padded.slice(i, i + GRAM_SIZE));
    return grams;
  }
  const points = Array.from(padded);
  for (let i = 0; i + GRAM_SIZE <= points.length; i++) grams.push(points.slice(i, i + GRAM_SIZE).join(''));
  return grams;
}


/** A text's stems and grams under a service's settings (bounded, deterministic). */
export function analyseText(text: string, settings: TextSettings = NO_SETTINGS): Analysed {
  const s = compileSettings(settings);
  const words = normaliseText(text.slice(0, MAX_INPUT_CHARS))
    .split(' ')
    .filter(Boolean)
    .map(cutWord);
  // Stemmed on demand: a long text stops at MAX_STEMS long before its last word.
  const wordStems: string[] = [];
  const stemAt = (i: number) => (i < words.length ? (wordStems[i] ??= stemWord(words[i]!)) : undefined);
  const stems = new Set<string>();
  for (let i = 0; i < words.length && stems.size < MAX_STEMS; i++) {
    const phrase = matchPhrase(stemAt, i, s);
    if (phrase) {
      stems.add(phrase.canonical);
      i += phrase.stems.length - 1;
      continue;
    }
    const word = words[i]!;
    const stem = stemAt(i)!;
    const synonym = s.single.get(stem);
    if (synonym) stems.add(synonym);
    else if (word.length >= 2 && !isStopWord(word, stem, s)) stems.add(stem);
  }
  const grams = new Set<string>();
  for (const stem of stems) {
    for (const gram of gramsOf(stem)) {
      if (grams.size >= MAX_GRAMS) break;
      grams.add(gram);
    }
  }
  return { stems: [...stems], grams: [...grams].sort() };
}

/** A compound's part: inside the whole, or (shorter, down to 3 letters) at its start or end ("pdf" in "pdfdokument"). */
const isPartOf = (part: string, whole: string) =>
  part.length < whole.length &&
  ((part.length >= MIN_PART_CHARS && whole.includes(part)) || (part.length >= MIN_EDGE_PART_CHARS && (whole.startsWith(part) || whole.endsWith(part))));

/** One side of a comparison: its stems, each stem's grams, which stems hold each gram (so near stems are found without trying every pair), and the text's grams. */
interface Side {
  stems: readonly string[];
  stemSet: ReadonlySet<string>;
  gramSets: ReadonlySet<string>[];
  byGram: Map<string, number[]>;
  /** The text's grams: those of its stems in order, at most MAX_GRAMS, as analyseText keeps them. */
  grams: ReadonlySet<string>;
  /** The credit a stem of another text earned against this side: the same words recur in a service's texts. */
  credits: Map<string, Credit>;
}

interface Credit {
  credit: number;
  shown?: string;
}

/** Credits remembered per side, at most: a side kept long (a kept observation) stays small (a few KiB). */
const MAX_REMEMBERED_CREDITS = 64;

/**
 * Sides by the analysed text they were made of: the backlog feed compares
 * one new text with up to a hundred others, and an item's text with every
 * ticket it links, so each text's side is made once, not once per pair.
 */
const sides = new WeakMap<Compared, Side>();

function sideOf(text: Compared): Side {
  const known = sides.get(text);
  if (known) return known;
  const byGram = new Map<string, number[]>();
  const grams = new Set<string>();
  const gramSets = text.stems.map((stem, i) => {
    const own = new Set(gramsOf(stem));
    for (const g of own) {
      const list = byGram.get(g);
      if (list) list.push(i);
      else byGram.set(g, [i]);
      if (grams.size < MAX_GRAMS) grams.add(g);
    }
    return own;
  });
  // The stems copied: a side stays right even if the caller changes its array later.
  const stems = [...text.stems];
  const side = { stems, stemSet: new Set(stems), gramSets, byGram, grams, credits: new Map<string, Credit>() };
  sides.set(text, side);
  return side;
}

function diceOf(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size + b.size === 0) return 0;
  let common = 0;
  for (const g of a) if (b.has(g)) common++;
  return (2 * common) / (a.size + b.size);
}

/** The credit the `i`th stem of `from` earns against the other side (see the formula at the top), and the term that shows why. */
function creditOf(from: Side, i: number, other: Side): Credit {
  const stem = from.stems[i]!;
  if (other.stemSet.has(stem)) return { credit: 1, shown: stem };
  const known = other.credits.get(stem);
  if (known) return known;
  const credit = partOrNearCredit(stem, from.gramSets[i]!, other);
  if (other.credits.size < MAX_REMEMBERED_CREDITS) other.credits.set(stem, credit);
  return credit;
}

/** A stem's credit against a side that does not hold it: a compound's part, or the nearest spelling. */
function partOrNearCredit(stem: string, grams: ReadonlySet<string>, other: Side): Credit {
  for (const o of other.stems) {
    if (isPartOf(stem, o)) return { credit: 1, shown: stem };
    if (isPartOf(o, stem)) return { credit: 1, shown: o };
  }
  const common = new Map<number, number>();
  for (const g of grams) for (const j of other.byGram.get(g) ?? []) common.set(j, (common.get(j) ?? 0) + 1);
  let best = 0;
  for (const [j, n] of common) best = Math.max(best, (2 * n) / (grams.size + other.gramSets[j]!.size));
  return best >= NEAR_STEM_DICE ? { credit: best, shown: stem } : { credit: 0 };
}

/**
 * How alike two analysed texts are (see the formula at the top), and the
 * terms they share. Only the stems are read: the grams are theirs (as
 * analyseText derives them), so a stored text may leave its grams out.
 */
export function compareTexts(a: Compared, b: Compared): Comparison {
  if (a.stems.length + b.stems.length === 0) return { score: 0, shared: [] };
  const sideA = sideOf(a);
  const sideB = sideOf(b);
  const shared = new Set<string>();
  let credits = 0;
  for (const [from, other] of [[sideA, sideB], [sideB, sideA]] as const) {
    for (let i = 0; i < from.stems.length; i++) {
      const { credit, shown } = creditOf(from, i, other);
      credits += credit;
      if (shown !== undefined) shared.add(shown);
    }
  }
  const stemScore = credits / (a.stems.length + b.stems.length);
  const gramScore = diceOf(sideA.grams, sideB.grams);
  const score = Math.round((STEM_WEIGHT * stemScore + GRAM_WEIGHT * gramScore) * 10_000) / 10_000;
  return { score, shared: [...shared] };
}

/** Whether two texts match at a threshold (the topology carries one per service). */
export function isMatch(a: Analysed, b: Analysed, threshold = DEFAULT_SIMILARITY_THRESHOLD): boolean {
  return compareTexts(a, b).score >= threshold;
}

/**
 * The terms of comparisons as a reader knows them, for one text: for each
 * term the first word of `text` (as written there) whose stem is the term
 * or holds it ("hochlad" → "Hochladen"); a term no word of the text gives
 * stays as it is. Each word once. The text is read once, however many
 * comparisons (an item's links) are put into words.
 */
export function termWordsOf(text: string): (terms: readonly string[]) => string[] {
  const written = (text.slice(0, MAX_INPUT_CHARS).match(/[\p{L}\p{N}][\p{L}\p{N}-]*/gu) ?? []).slice(0, 500);
  const stems = written.map((w) => stemWord(cutWord(normaliseText(w).replace(/ /g, ''))));
  return (terms) => {
    const out = new Set<string>();
    for (const term of terms) {
      const i = stems.findIndex((st) => st === term);
      const j = i >= 0 ? i : stems.findIndex((st) => term.length >= MIN_PART_CHARS && st.includes(term));
      out.add(j >= 0 ? written[j]! : term);
    }
    return [...out];
  };
}

/** termWordsOf for one comparison. */
export const wordsForTerms = (text: string, terms: readonly string[]): string[] => termWordsOf(text)(terms);
