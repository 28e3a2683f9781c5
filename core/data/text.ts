import type { NeighbourRow } from '../contracts/postprocessor.js';

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

/** FNV-1a 32-bit hash of the UTF-8 bytes of a string: stable across runs, machines and languages. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  const byte = (b: number) => (hash = Math.imul(hash ^ b, 0x01000193));
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code < 0x80) byte(code);
    else if (code < 0x800) {
      byte(0xc0 | (code >> 6));
      byte(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      byte(0xe0 | (code >> 12));
      byte(0x80 | ((code >> 6) & 0x3f));
      byte(0x80 | (code & 0x3f));
    } else {
      byte(0xf0 | (code >> 18));
      byte(0x80 | ((code >> 12) & 0x3f));
      byte(0x80 | ((code >> 6) & 0x3f));
      byte(0x80 | (code & 0x3f));
    }
  }
  return hash >>> 0;
}

/** The bucket of a token among `buckets` (FNV-1a 32 modulo). */
export function hashToken(token: string, buckets: number): number {
  return fnv1a32(token) % buckets;
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

/** A sparse matrix in compressed sparse row form; row i's entries are indptr[i]..indptr[i + 1]. */
export interface CsrMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly indptr: Int32Array;
  /** Column of each entry, ascending within a row. */
  readonly indices: Int32Array;
  readonly values: Float32Array;
}

/** One sparse row: column indices (ascending) and their values. */
export interface SparseRow {
  readonly indices: Int32Array;
  readonly values: Float32Array;
}

export function csrRow(matrix: CsrMatrix, row: number): SparseRow {
  const start = matrix.indptr[row]!;
  const end = matrix.indptr[row + 1]!;
  return { indices: matrix.indices.subarray(start, end), values: matrix.values.subarray(start, end) };
}

/** Rows (for instance built one by one) as one CSR matrix with `cols` columns (default: the largest index + 1). */
export function csrFromRows(rows: readonly SparseRow[], cols?: number): CsrMatrix {
  const indptr = new Int32Array(rows.length + 1);
  rows.forEach((row, i) => (indptr[i + 1] = indptr[i]! + row.indices.length));
  const indices = new Int32Array(indptr[rows.length]!);
  const values = new Float32Array(indices.length);
  let width = 0;
  rows.forEach((row, i) => {
    indices.set(row.indices, indptr[i]);
    values.set(row.values, indptr[i]);
    for (const index of row.indices) width = Math.max(width, index + 1);
  });
  return { rows: rows.length, cols: cols ?? width, indptr, indices, values };
}

export interface TfidfOptions extends AnalyzerOptions {
  /** tf = 1 + ln(count) instead of count. Default false. */
  readonly sublinearTf?: boolean;
  /** tf = 1 for every term present (applied before sublinear tf). Default false. */
  readonly binary?: boolean;
  /** idf = ln((1 + n) / (1 + df)) + 1 when true (default), ln(n / df) + 1 when false. */
  readonly smoothIdf?: boolean;
  /** Terms in fewer documents than this are dropped. Default 1. */
  readonly minDf?: number;
  /** Terms in more than this fraction of the documents are dropped. Default 1. */
  readonly maxDf?: number;
  /** Keep only the most frequent terms over the corpus (ties: the earlier term in sorted order). */
  readonly maxFeatures?: number;
  /** Hash terms into this many columns (FNV-1a 32) instead of keeping a vocabulary. */
  readonly buckets?: number;
}

/**
 * TF-IDF with scikit-learn's TfidfVectorizer definitions: weight = tf · idf, rows L2-normalised
 * (an empty row stays zero). Vocabulary columns are the kept terms in sorted order. Terms unseen at
 * fit time are ignored by transform.
 */
export class TfidfVectorizer {
  private vocabulary = new Map<string, number>();
  private idfWeights = new Float64Array(0);

  constructor(private readonly options: TfidfOptions = {}) {}

  fit(documents: readonly string[]): this {
    const df = new Map<string, number>();
    const total = new Map<string, number>();
    for (const document of documents) {
      const terms = this.features(document);
      for (const term of terms) total.set(term, (total.get(term) ?? 0) + 1);
      for (const term of new Set(terms)) df.set(term, (df.get(term) ?? 0) + 1);
    }
    const { minDf = 1, maxDf = 1, maxFeatures, buckets, smoothIdf = true } = this.options;
    let kept = [...df.keys()].filter((term) => df.get(term)! >= minDf && df.get(term)! <= maxDf * documents.length);
    kept.sort(buckets ? (a, b) => Number(a) - Number(b) : undefined);
    if (maxFeatures !== undefined && kept.length > maxFeatures) {
      const order = new Map(kept.map((term, i) => [term, i]));
      const top = new Set(
        [...kept].sort((a, b) => total.get(b)! - total.get(a)! || order.get(a)! - order.get(b)!).slice(0, maxFeatures),
      );
      kept = kept.filter((term) => top.has(term));
    }
    const n = documents.length;
    if (buckets) {
      this.vocabulary = new Map(kept.map((bucket) => [bucket, Number(bucket)]));
      this.idfWeights = new Float64Array(buckets);
    } else {
      this.vocabulary = new Map(kept.map((term, index) => [term, index]));
      this.idfWeights = new Float64Array(kept.length);
    }
    for (const term of kept) {
      const d = df.get(term)!;
      this.idfWeights[this.vocabulary.get(term)!] = smoothIdf ? Math.log((1 + n) / (1 + d)) + 1 : Math.log(n / d) + 1;
    }
    return this;
  }

  transform(documents: readonly string[]): CsrMatrix {
    const { sublinearTf = false, binary = false } = this.options;
    const indptr = new Int32Array(documents.length + 1);
    const indices: number[] = [];
    const values: number[] = [];
    documents.forEach((document, d) => {
      const counts = new Map<number, number>();
      for (const term of this.features(document)) {
        const column = this.vocabulary.get(term);
        if (column !== undefined) counts.set(column, (counts.get(column) ?? 0) + 1);
      }
      const columns = [...counts.keys()].sort((a, b) => a - b);
      const weights = columns.map((column) => {
        const count = binary ? 1 : counts.get(column)!;
        return (sublinearTf ? 1 + Math.log(count) : count) * this.idfWeights[column]!;
      });
      const norm = Math.sqrt(weights.reduce((sum, w) => sum + w * w, 0)) || 1;
      for (let i = 0; i < columns.length; i++) {
        indices.push(columns[i]!);
        values.push(weights[i]! / norm);
      }
      indptr[d + 1] = indices.length;
    });
    return {
      rows: documents.length,
      cols: this.cols,
      indptr,
      indices: Int32Array.from(indices),
      values: Float32Array.from(values),
    };
  }

  fitTransform(documents: readonly string[]): CsrMatrix {
    return this.fit(documents).transform(documents);
  }

  /** Number of columns of the output. */
  get cols(): number {
    return this.idfWeights.length;
  }

  /** The column of a term (a vocabulary lookup, or its bucket when hashing), if it was kept at fit time. */
  column(term: string): number | undefined {
    return this.vocabulary.get(this.options.buckets ? String(hashToken(term, this.options.buckets)) : term);
  }

  /** idf of each column (0 for buckets no document filled). */
  get idf(): Float64Array {
    return this.idfWeights;
  }

  /** A document's features: its terms, or their buckets (as strings) when hashing. */
  private features(document: string): string[] {
    const terms = analyze(document, this.options);
    const buckets = this.options.buckets;
    return buckets ? terms.map((term) => String(hashToken(term, buckets))) : terms;
  }
}

/** Columns → (row, value) lists: the transpose of a CSR matrix, used as an inverted index. */
function invertedIndex(matrix: CsrMatrix): { start: Int32Array; rows: Int32Array; values: Float32Array } {
  const start = new Int32Array(matrix.cols + 1);
  for (const column of matrix.indices) start[column + 1]!++;
  for (let c = 0; c < matrix.cols; c++) start[c + 1]! += start[c]!;
  const fill = start.slice(0, matrix.cols);
  const rows = new Int32Array(matrix.indices.length);
  const values = new Float32Array(matrix.indices.length);
  for (let r = 0; r < matrix.rows; r++) {
    for (let e = matrix.indptr[r]!; e < matrix.indptr[r + 1]!; e++) {
      const at = fill[matrix.indices[e]!]!++;
      rows[at] = r;
      values[at] = matrix.values[e]!;
    }
  }
  return { start, rows, values };
}

/** Whether candidate a ranks before b: higher score, then lower index. */
const before = (scoreA: number, a: number, scoreB: number, b: number) =>
  scoreA > scoreB || (scoreA === scoreB && a < b);

/**
 * The k most similar gallery rows of each query row by sparse dot product (the cosine for
 * L2-normalised rows), at least `minSimilarity`, best first (ties: lower index). An inverted index
 * over the gallery means only rows sharing a column are touched; memory is one score per gallery
 * row, never a query × gallery matrix. Rows may be given as CSR or as a list.
 */
export function sparseTopK(
  queries: CsrMatrix | readonly SparseRow[],
  gallery: CsrMatrix | readonly SparseRow[],
  k: number,
  minSimilarity = 0,
): NeighbourRow[] {
  const q = 'indptr' in queries ? queries : csrFromRows(queries);
  const g = 'indptr' in gallery ? gallery : csrFromRows(gallery);
  const index = invertedIndex({ ...g, cols: Math.max(g.cols, q.cols) });
  const scores = new Float64Array(g.rows);
  const touched = new Int32Array(g.rows);
  const touchedBy = new Int32Array(g.rows).fill(-1);
  const heap: number[] = [];
  const result: NeighbourRow[] = [];
  for (let r = 0; r < q.rows; r++) {
    let count = 0;
    for (let e = q.indptr[r]!; e < q.indptr[r + 1]!; e++) {
      const column = q.indices[e]!;
      const weight = q.values[e]!;
      for (let p = index.start[column]!; p < index.start[column + 1]!; p++) {
        const row = index.rows[p]!;
        if (touchedBy[row] !== r) {
          touchedBy[row] = r;
          touched[count++] = row;
        }
        scores[row]! += weight * index.values[p]!;
      }
    }
    // A min-heap (by rank) of the best k so far: the root is the worst kept candidate.
    heap.length = 0;
    const worse = (i: number, j: number) => before(scores[heap[j]!]!, heap[j]!, scores[heap[i]!]!, heap[i]!);
    const swap = (i: number, j: number) => ([heap[i], heap[j]] = [heap[j]!, heap[i]!]);
    const siftDown = (i: number) => {
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let worst = i;
        if (left < heap.length && worse(left, worst)) worst = left;
        if (right < heap.length && worse(right, worst)) worst = right;
        if (worst === i) return;
        swap(i, worst);
        i = worst;
      }
    };
    for (let t = 0; t < count; t++) {
      const row = touched[t]!;
      if (scores[row]! < minSimilarity || k <= 0) continue;
      if (heap.length < k) {
        heap.push(row);
        for (let i = heap.length - 1; i > 0 && worse(i, (i - 1) >> 1); i = (i - 1) >> 1) swap(i, (i - 1) >> 1);
      } else if (before(scores[row]!, row, scores[heap[0]!]!, heap[0]!)) {
        heap[0] = row;
        siftDown(0);
      }
    }
    const ranked = [...heap].sort((a, b) => (before(scores[a]!, a, scores[b]!, b) ? -1 : 1));
    result.push({ indices: ranked, similarities: ranked.map((row) => scores[row]!) });
    for (let t = 0; t < count; t++) scores[touched[t]!] = 0;
  }
  return result;
}

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
