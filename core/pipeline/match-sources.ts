import type { Competition, CompetitionConfig, Item, Prediction } from '../contracts/competition.js';
import type { NeighbourRow } from '../contracts/postprocessor.js';
import { TfidfVectorizer, sparseTopK } from '../data/text.js';
import { exactSearch } from '../index/neighbours.js';
import type { Overrides } from './knn.js';

/** Matches found besides the image model's neighbours, united with them (task `match` only). */
export interface ExtraMatches {
  /** The similarity sources in use, by tune key prefix (`tfidf`, `text-model`, `combined`). */
  readonly sources: readonly string[];
  merge(predictions: readonly Prediction[], overrides: Overrides): Prediction[];
  /** The same matches without the sources that come from trained models (phash and TF-IDF only). */
  withoutTrainedModels(): ExtraMatches;
}

export const NO_EXTRA_MATCHES: ExtraMatches = { sources: [], merge: (predictions) => [...predictions], withoutTrainedModels: () => NO_EXTRA_MATCHES };

/** Sources that need no trained model. */
const UNTRAINED_SOURCES: ReadonlySet<string> = new Set(['tfidf']);

/** L2-normalised vectors, one row of `dim` per query, in the queries' order. */
export interface QueryVectors {
  readonly vectors: Float32Array;
  readonly dim: number;
}

/** The trained models' vectors of the matched items. */
export interface QueryEmbeddings {
  readonly image: QueryVectors;
  readonly text?: QueryVectors;
}

/** Items sharing a perceptual hash show the same image: a cheap, precise match signal (Shopee). */
function phashGroups(items: readonly Item[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const item of items) {
    if (!item.phash) continue;
    const ids = groups.get(item.phash) ?? [];
    ids.push(item.id);
    groups.set(item.phash, ids);
  }
  return groups;
}

function union(first: readonly string[], second: readonly string[]): string[] {
  const seen = new Set(first);
  return [...first, ...second.filter((id) => !seen.has(id) && seen.add(id))];
}

/** Each source's threshold is tuned as `<source>.threshold` in the config's `tune`. */
export function thresholdKey(source: string): string {
  return `${source}.threshold`;
}

const DEFAULT_THRESHOLD = 0.7;

/**
 * Image and text vectors side by side, each half scaled by 1/√2: the inner product of two rows is
 * the mean of their image and text cosine similarities.
 */
export function combinedVectors(image: QueryVectors, text: QueryVectors): QueryVectors {
  const count = image.vectors.length / image.dim;
  const dim = image.dim + text.dim;
  const out = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) {
    for (let d = 0; d < image.dim; d++) out[i * dim + d] = image.vectors[i * image.dim + d]! * Math.SQRT1_2;
    for (let d = 0; d < text.dim; d++) out[i * dim + image.dim + d] = text.vectors[i * text.dim + d]! * Math.SQRT1_2;
  }
  return { vectors: out, dim };
}

/**
 * For `match` competitions, matches besides the image model's neighbours, each kept where its
 * similarity reaches its tuned threshold: items sharing a perceptual hash; for text+image data,
 * TF-IDF cosine neighbours of the titles (fitted on the matched set itself, as Shopee's winners
 * did on the test titles) as `tfidf`; with a text model, its neighbours as `text-model` and the
 * neighbours by the mean of image and text similarity as `combined`. Without `embeddings`, only
 * what needs no trained model (phash, TF-IDF).
 */
export function extraMatches(competition: Competition, config: CompetitionConfig, queries: readonly Item[], embeddings?: QueryEmbeddings): ExtraMatches {
  if (competition.task !== 'match') return NO_EXTRA_MATCHES;
  const groups = phashGroups(queries);
  const phashOf = new Map(queries.map((item) => [item.id, item.phash]));
  const k = Math.min(config.neighbours, queries.length);
  const sources = new Map<string, readonly NeighbourRow[]>();
  if (competition.modality === 'text+image' && queries.some((item) => item.text)) {
    const titles = queries.map((item) => item.text ?? '');
    const vectors = new TfidfVectorizer({ sublinearTf: true }).fit(titles).transform(titles);
    sources.set('tfidf', sparseTopK(vectors, vectors, config.neighbours));
  }
  if (embeddings?.text && queries.length > 0) {
    const { text, image } = embeddings;
    sources.set('text-model', exactSearch(text.vectors, text.vectors, text.dim, k));
    const combined = combinedVectors(image, text);
    sources.set('combined', exactSearch(combined.vectors, combined.vectors, combined.dim, k));
  }
  const position = new Map(queries.map((item, i) => [item.id, i]));
  const matchesFrom = (used: ReadonlyMap<string, readonly NeighbourRow[]>): ExtraMatches => ({
    sources: [...used.keys()],
    merge: (predictions, overrides) => {
      const thresholds = new Map([...used.keys()].map((source) => {
        const key = thresholdKey(source);
        return [source, overrides[key] ?? config.tune[key]?.[0] ?? DEFAULT_THRESHOLD];
      }));
      return predictions.map((prediction) => {
        const q = position.get(prediction.id) ?? -1;
        const phash = phashOf.get(prediction.id);
        let labels = union(prediction.labels, phash ? groups.get(phash) ?? [] : []);
        for (const [source, rows] of used) {
          const row = rows[q];
          if (!row) continue;
          const threshold = thresholds.get(source)!;
          labels = union(labels, row.indices.filter((_, r) => row.similarities[r]! >= threshold).map((g) => queries[g]!.id));
        }
        return { id: prediction.id, labels };
      });
    },
    withoutTrainedModels: () => matchesFrom(new Map([...used].filter(([source]) => UNTRAINED_SOURCES.has(source)))),
  });
  return matchesFrom(sources);
}
