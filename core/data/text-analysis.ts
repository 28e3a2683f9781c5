/** Text analysis as scikit-learn's vectorizers do it: normalisation, word tokens, word and character n-grams. */

/** Unicode NFKC (full-width forms, ligatures, superscripts → plain characters), then lower case. */
export function normalizeText(text: string, lowercase = true): string {
  const normalized = text.normalize('NFKC');
  return lowercase ? normalized.toLowerCase() : normalized;
}

/** Runs of two or more letters, digits or underscores: scikit-learn's default token pattern `(?u)\b\w\w+\b`. */
const WORD = /[\p{L}\p{N}_]{2,}/gu;

export function wordTokens(text: string): string[] {
  return text.match(WORD) ?? [];
}

export type NgramRange = readonly [min: number, max: number];

/** Word n-grams joined by a space, as scikit-learn's word analyzer builds them. */
export function wordNgrams(tokens: readonly string[], [min, max]: NgramRange): string[] {
  const grams = min === 1 ? [...tokens] : [];
  for (let n = Math.max(min, 2); n <= Math.min(max, tokens.length); n++) {
    for (let i = 0; i + n <= tokens.length; i++) grams.push(tokens.slice(i, i + n).join(' '));
  }
  return grams;
}

/** Character n-grams over the whole text with whitespace runs collapsed (scikit-learn's 'char'). */
export function charNgrams(text: string, [min, max]: NgramRange): string[] {
  const chars = Array.from(text.replace(/\s\s+/gu, ' '));
  const grams: string[] = [];
  for (let n = min; n <= Math.min(max, chars.length); n++) {
    for (let i = 0; i + n <= chars.length; i++) grams.push(chars.slice(i, i + n).join(''));
  }
  return grams;
}

/** Character n-grams inside words padded with one space each side (scikit-learn's 'char_wb'). */
export function charWbNgrams(text: string, [min, max]: NgramRange): string[] {
  const grams: string[] = [];
  for (const word of text.replace(/\s\s+/gu, ' ').split(/\s+/u).filter(Boolean)) {
    const chars = Array.from(` ${word} `);
    for (let n = min; n <= max; n++) {
      const last = Math.max(0, chars.length - n);
      for (let i = 0; i <= last; i++) grams.push(chars.slice(i, i + n).join(''));
      if (last === 0) break; // the padded word fits in one n-gram: counted once, not again for longer n
    }
  }
  return grams;
}

export interface AnalyzerOptions {
  /** 'word' (default), 'char' or 'char_wb', as in scikit-learn. */
  readonly analyzer?: 'word' | 'char' | 'char_wb';
  /** n-gram lengths, in words or characters. Default [1, 1]. */
  readonly ngramRange?: NgramRange;
  /** Default true. Text is always NFKC-normalised. */
  readonly lowercase?: boolean;
  /** Words removed before word n-grams are formed (word analyzer only). */
  readonly stopWords?: readonly string[];
}

/** The terms of a text: normalise, then words, word n-grams or character n-grams. */
export function analyze(text: string, options: AnalyzerOptions = {}): string[] {
  const normalized = normalizeText(text, options.lowercase ?? true);
  const range = options.ngramRange ?? [1, 1];
  switch (options.analyzer ?? 'word') {
    case 'char':
      return charNgrams(normalized, range);
    case 'char_wb':
      return charWbNgrams(normalized, range);
    default: {
      const stop = options.stopWords ? new Set(options.stopWords) : undefined;
      const tokens = wordTokens(normalized);
      return wordNgrams(stop ? tokens.filter((token) => !stop.has(token)) : tokens, range);
    }
  }
}
