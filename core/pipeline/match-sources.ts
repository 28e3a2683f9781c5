import type { Competition, CompetitionConfig, Item, Prediction } from '../contracts/competition.js';
import type { Overrides } from './knn.js';

/** Matches found without the trained model, united with the model's matches (task `match` only). */
export interface ExtraMatches {
  merge(predictions: readonly Prediction[], overrides: Overrides): Prediction[];
}

const NONE: ExtraMatches = { merge: (predictions) => [...predictions] };

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

export async function extraMatches(competition: Competition, _config: CompetitionConfig, queries: readonly Item[]): Promise<ExtraMatches> {
  if (competition.task !== 'match') return NONE;
  const groups = phashGroups(queries);
  if (groups.size === 0) return NONE;
  const phashOf = new Map(queries.map((item) => [item.id, item.phash]));
  return {
    merge: (predictions) =>
      predictions.map((prediction) => {
        const phash = phashOf.get(prediction.id);
        const same = phash ? groups.get(phash) ?? [] : [];
        return { id: prediction.id, labels: union(prediction.labels, same) };
      }),
  };
}
