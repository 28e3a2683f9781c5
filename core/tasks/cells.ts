import type { Item, Prediction, SubmissionFormat } from '../contracts/competition.js';
import type { KnnState } from '../contracts/postprocessor.js';

/** Labels capped at the format's limit, space-separated; with confidence the best label and its score. */
export function submissionCell(prediction: Prediction, { maxLabels, withConfidence }: SubmissionFormat): string {
  const labels = maxLabels === null ? prediction.labels : prediction.labels.slice(0, maxLabels);
  if (!withConfidence) return labels.join(' ');
  const [label] = labels;
  return label === undefined ? '' : `${label} ${(prediction.scores?.[0] ?? 0).toFixed(6)}`;
}

export function sameLabel(a: Item, b: Item): boolean {
  return a.labels.some((label) => b.labels.includes(label));
}

/** Each gallery id as a number, equal ids alike, kept per gallery: tuning reads the same gallery for every setting. */
const idNumbers = new WeakMap<readonly string[], { numbers: Int32Array; byId: Map<string, number> }>();

function galleryIdNumbers(galleryIds: readonly string[]): { numbers: Int32Array; byId: Map<string, number> } {
  let known = idNumbers.get(galleryIds);
  if (!known) {
    const byId = new Map<string, number>();
    const numbers = Int32Array.from(galleryIds, (id) => {
      let number = byId.get(id);
      if (number === undefined) byId.set(id, (number = byId.size));
      return number;
    });
    idNumbers.set(galleryIds, (known = { numbers, byId }));
  }
  return known;
}

/** Each query's neighbours as gallery ids, best first, each once; `self` puts the query's own id first. */
export function neighbourIds(state: KnnState, { self }: { self: boolean }): Prediction[] {
  const { numbers, byId } = galleryIdNumbers(state.galleryIds);
  // seen[n] === q + 1: the id numbered n is already in query q's prediction (one array, not a set per query).
  const seen = new Int32Array(byId.size);
  return state.queryIds.map((id, q) => {
    const row = state.neighbours[q]!;
    const stamp = q + 1;
    const labels: string[] = self ? [id] : [];
    const scores: number[] = self ? [1] : [];
    const own = self ? byId.get(id) : undefined;
    if (own !== undefined) seen[own] = stamp;
    for (let rank = 0; rank < row.indices.length; rank++) {
      const galleryIndex = row.indices[rank]!;
      const number = numbers[galleryIndex]!;
      if (seen[number] === stamp) continue;
      seen[number] = stamp;
      labels.push(state.galleryIds[galleryIndex]!);
      scores.push(row.similarities[rank]!);
    }
    return { id, labels, scores };
  });
}
