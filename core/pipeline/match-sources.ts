import type { Competition, CompetitionConfig, Item, Prediction } from '../contracts/competition.js';
import { TfidfVectorizer, sparseTopK } from '../data/text.js';
import type { Overrides } from './knn.js';

/** Matches found without the trained model, united with the model's matches (task `match` only). */
export interface ExtraMatches {
  merge(predictions: readonly Prediction[], overrides: Overrides): Prediction[];
}

export const NO_EXTRA_MATCHES: ExtraMatches = { merge: (predictions) => [...predictions] };

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

/** Tuned like a post-processor option: `text.threshold` in the config's `tune`. */
export const TEXT_THRESHOLD_KEY = 'text.threshold';
const DEFAULT_TEXT_THRESHOLD = 0.7;

/**
 * For `match` competitions: items sharing a perceptual hash, and (for text+image data) items whose
 * titles are TF-IDF cosine neighbours above `text.threshold`, fitted on the matched set itself as
 * Shopee's winners did on the test titles.
 */
export async function extraMatches(competition: Competition, config: CompetitionConfig, queries: readonly Item[]): Promise<ExtraMatches> {
  if (competition.task !== 'match') return NO_EXTRA_MATCHES;
  const groups = phashGroups(queries);
  const phashOf = new Map(queries.map((item) => [item.id, item.phash]));
  const useText = competition.modality === 'text+image' && queries.some((item) => item.text);
  const titles = queries.map((item) => item.text ?? '');
  const vectors = useText ? new TfidfVectorizer({ sublinearTf: true }).fit(titles).transform(titles) : [];
  const textRows = useText ? sparseTopK(vectors, vectors, config.neighbours) : [];
  const fallback = config.tune[TEXT_THRESHOLD_KEY]?.[0] ?? DEFAULT_TEXT_THRESHOLD;
  const position = new Map(queries.map((item, i) => [item.id, i]));
  return {
    merge: (predictions, overrides) => {
      const threshold = overrides[TEXT_THRESHOLD_KEY] ?? fallback;
      return predictions.map((prediction) => {
        const phash = phashOf.get(prediction.id);
        const row = textRows[position.get(prediction.id) ?? -1];
        const byText = row ? row.indices.filter((_, r) => row.similarities[r]! >= threshold).map((g) => queries[g]!.id) : [];
        return { id: prediction.id, labels: union(union(prediction.labels, phash ? groups.get(phash) ?? [] : []), byText) };
      });
    },
  };
}
