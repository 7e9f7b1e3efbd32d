/** The backlog's text matching: pure, no I/O. Its Redis index is src/store/backlog-index.ts. */
export {
  analyseText, AnalysedSchema, compareTexts, DEFAULT_SIMILARITY_THRESHOLD, isMatch, normaliseText, stemWord,
  MAX_GRAMS, MAX_INPUT_CHARS, MAX_STEMS, MAX_WORD_CHARS, termWordsOf, wordsForTerms,
  type Analysed, type Comparison, type TextSettings,
} from './text.js';
