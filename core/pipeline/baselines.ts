import type { Competition, Item, Prediction } from '../contracts/competition.js';

function groupBy(items: readonly Item[], key: (item: Item) => string | undefined): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const item of items) {
    const value = key(item);
    if (value === undefined) continue;
    const ids = groups.get(value) ?? [];
    ids.push(item.id);
    groups.set(value, ids);
  }
  return groups;
}

/** Labels by how many gallery items carry them, most frequent first (ties by label). */
function labelsByFrequency(gallery: readonly Item[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const item of gallery) for (const label of item.labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/**
 * Trivial predictions that a trained pipeline must beat, scored on the same validation split:
 * match — every item matches only itself, and (where the data has one) items sharing a perceptual
 * hash; retrieval — the index in file order; label tasks — the most frequent training labels (ranked
 * where the submission ranks labels); multi-label — the most frequent label, and every label.
 */
export function baselines(competition: Competition, queries: readonly Item[], gallery: readonly Item[]): Record<string, Prediction[]> {
  switch (competition.task) {
    case 'match': {
      const result: Record<string, Prediction[]> = { 'self only': queries.map((item) => ({ id: item.id, labels: [item.id] })) };
      if (queries.some((item) => item.phash !== undefined)) {
        const byHash = groupBy(queries, (item) => item.phash);
        result['phash only'] = queries.map((item) => ({ id: item.id, labels: item.phash === undefined ? [item.id] : byHash.get(item.phash)! }));
      }
      return result;
    }
    case 'retrieve': {
      const ranked = gallery.map((item) => item.id);
      return { 'index order': queries.map((item) => ({ id: item.id, labels: ranked, scores: ranked.map(() => 1) })) };
    }
    case 'multilabel': {
      // Every row gets the labels themselves, not a ranking, so "most frequent" is one label; every
      // label on every row is the other trivial answer (it scores above zero on every class present).
      const labels = labelsByFrequency(gallery).map(([label]) => label);
      return {
        'most frequent class': queries.map((item) => ({ id: item.id, labels: labels.slice(0, 1) })),
        'every class': queries.map((item) => ({ id: item.id, labels })),
      };
    }
    default: {
      const frequent = labelsByFrequency(gallery);
      const labels = frequent.map(([label]) => label);
      const scores = frequent.map(([, count]) => count / gallery.length);
      return { 'most frequent class': queries.map((item) => ({ id: item.id, labels, scores })) };
    }
  }
}
