import type { NeighbourRow } from '../contracts/postprocessor.js';

/** Unicode NFKC (full-width forms, ligatures → plain letters), lower case, collapsed whitespace. */
export function normalizeText(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

/** Word tokens (letters and digits in any script), plus character n-grams of each word when `ngrams` is given. */
export function tokenize(text: string, ngrams?: readonly [min: number, max: number]): string[] {
  const words = normalizeText(text).match(/[\p{L}\p{N}]+/gu) ?? [];
  if (!ngrams) return words;
  const grams: string[] = [...words];
  for (const word of words) {
    const padded = ` ${word} `;
    for (let n = ngrams[0]; n <= ngrams[1]; n++) for (let i = 0; i + n <= padded.length; i++) grams.push(padded.slice(i, i + n));
  }
  return grams;
}

/** FNV-1a 32-bit hash of a token into `buckets` (stable across runs and machines). */
export function hashToken(token: string, buckets: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < token.length; i++) hash = Math.imul(hash ^ token.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % buckets;
}

/** One sparse row: term indices (ascending) and their weights. */
export interface SparseRow {
  readonly indices: Int32Array;
  readonly values: Float32Array;
}

export interface TfidfOptions {
  /** Character n-gram range added to word tokens; none by default. */
  readonly ngrams?: readonly [number, number];
  /** tf = 1 + ln(count) instead of count. */
  readonly sublinearTf?: boolean;
}

/**
 * TF-IDF with scikit-learn's definitions: idf(t) = ln((1 + n) / (1 + df(t))) + 1 (smooth idf),
 * tf = raw count (or 1 + ln count), rows L2-normalised. Terms unseen at fit time are ignored.
 */
export class TfidfVectorizer {
  private vocabulary = new Map<string, number>();
  private idf = new Float64Array(0);

  constructor(private readonly options: TfidfOptions = {}) {}

  fit(documents: readonly string[]): this {
    const df = new Map<string, number>();
    for (const document of documents) for (const term of new Set(tokenize(document, this.options.ngrams))) df.set(term, (df.get(term) ?? 0) + 1);
    const terms = [...df.keys()].sort();
    this.vocabulary = new Map(terms.map((term, index) => [term, index]));
    this.idf = Float64Array.from(terms, (term) => Math.log((1 + documents.length) / (1 + df.get(term)!)) + 1);
    return this;
  }

  transform(documents: readonly string[]): SparseRow[] {
    return documents.map((document) => {
      const counts = new Map<number, number>();
      for (const term of tokenize(document, this.options.ngrams)) {
        const index = this.vocabulary.get(term);
        if (index !== undefined) counts.set(index, (counts.get(index) ?? 0) + 1);
      }
      const indices = Int32Array.from([...counts.keys()].sort((a, b) => a - b));
      const weights = Array.from(indices, (index) => {
        const count = counts.get(index)!;
        return (this.options.sublinearTf ? 1 + Math.log(count) : count) * this.idf[index]!;
      });
      const norm = Math.hypot(...weights) || 1;
      return { indices, values: Float32Array.from(weights, (w) => w / norm) };
    });
  }

  get size(): number {
    return this.vocabulary.size;
  }
}

/**
 * The k most similar gallery rows of each query row by sparse dot product (cosine for L2-normalised
 * rows), through an inverted index over the gallery: only rows sharing a term are touched, and no
 * dense query × gallery matrix is built.
 */
export function sparseTopK(queries: readonly SparseRow[], gallery: readonly SparseRow[], k: number, minSimilarity = 0): NeighbourRow[] {
  const postings = new Map<number, { row: number; value: number }[]>();
  gallery.forEach((row, r) => row.indices.forEach((term, i) => {
    const list = postings.get(term) ?? [];
    list.push({ row: r, value: row.values[i]! });
    postings.set(term, list);
  }));
  const scores = new Float64Array(gallery.length);
  return queries.map((query) => {
    const touched: number[] = [];
    query.indices.forEach((term, i) => {
      for (const { row, value } of postings.get(term) ?? []) {
        if (scores[row] === 0) touched.push(row);
        scores[row] += value * query.values[i]!;
      }
    });
    const ranked = touched.filter((row) => scores[row]! >= minSimilarity).sort((a, b) => scores[b]! - scores[a]! || a - b).slice(0, k);
    const result = { indices: ranked, similarities: ranked.map((row) => scores[row]!) };
    for (const row of touched) scores[row] = 0;
    return result;
  });
}
