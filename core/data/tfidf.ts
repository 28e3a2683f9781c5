import { hashToken } from './hashing.js';
import type { CsrMatrix } from './sparse.js';
import { analyze, type AnalyzerOptions } from './text-analysis.js';

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
