import { hashToken } from './hashing.js';
import { charWbNgrams, normalizeText, wordTokens, type NgramRange } from './text-analysis.js';

export interface HashedTokenOptions {
  /** Ids are 1..buckets (FNV-1a 32 of the term modulo buckets, plus one); 0 is padding. */
  readonly buckets: number;
  /** Length of the output: longer texts are truncated, shorter ones padded with 0. */
  readonly maxTokens: number;
  /**
   * Which terms are hashed: word n-grams (`words`, default [1, 2]: unigrams and bigrams) and/or
   * character n-grams inside words (`chars`, scikit-learn's char_wb, default none). Either may be
   * null to leave it out.
   */
  readonly ngrams?: { readonly words?: NgramRange | null; readonly chars?: NgramRange | null };
  /** Default true. Text is always NFKC-normalised. */
  readonly lowercase?: boolean;
}

/**
 * A text as hashed n-gram ids, the input of the text-encoder backbone: normalise (NFKC, lower
 * case), take word n-grams by position (at each word, the n-grams starting there, shortest first:
 * "a b c" with [1, 2] → a, a b, b, b c, c), then character n-grams of each word (char_wb, in
 * order), map each term t to fnv1a32(t) mod buckets + 1, and truncate or pad with 0 to maxTokens.
 * Position order means truncation keeps the beginning of the text, bigrams included.
 */
export function hashedTokenIds(text: string, options: HashedTokenOptions): Int32Array {
  const { buckets, maxTokens } = options;
  if (!Number.isInteger(buckets) || buckets < 1)
    throw new RangeError(`buckets must be a positive integer, got ${buckets}`);
  if (!Number.isInteger(maxTokens) || maxTokens < 0)
    throw new RangeError(`maxTokens must be a non-negative integer, got ${maxTokens}`);
  const words = options.ngrams?.words === undefined ? ([1, 2] as const) : options.ngrams.words;
  const chars = options.ngrams?.chars ?? null;
  const normalized = normalizeText(text, options.lowercase ?? true);
  const ids = new Int32Array(maxTokens);
  let count = 0;
  const push = (term: string) => {
    if (count < maxTokens) ids[count++] = hashToken(term, buckets) + 1;
    return count < maxTokens;
  };
  if (words) {
    const tokens = wordTokens(normalized);
    outer: for (let i = 0; i < tokens.length; i++) {
      for (let n = words[0]; n <= words[1] && i + n <= tokens.length; n++) {
        if (!push(tokens.slice(i, i + n).join(' '))) break outer;
      }
    }
  }
  if (chars) {
    for (const gram of charWbNgrams(normalized, chars)) if (!push(gram)) break;
  }
  return ids;
}

/** hashedTokenIds of each text, row after row: a B × maxTokens matrix for an int32 tensor. */
export function hashedTokenBatch(texts: readonly string[], options: HashedTokenOptions): Int32Array {
  const out = new Int32Array(texts.length * options.maxTokens);
  texts.forEach((text, i) => out.set(hashedTokenIds(text, options), i * options.maxTokens));
  return out;
}
