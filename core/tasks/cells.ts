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

/** Each query's neighbours as gallery ids, best first, each once; `self` puts the query's own id first. */
export function neighbourIds(state: KnnState, { self }: { self: boolean }): Prediction[] {
  return state.queryIds.map((id, q) => {
    const row = state.neighbours[q]!;
    const labels: string[] = self ? [id] : [];
    const scores: number[] = self ? [1] : [];
    const seen = new Set(labels);
    row.indices.forEach((galleryIndex, rank) => {
      const galleryId = state.galleryIds[galleryIndex]!;
      if (seen.has(galleryId)) return;
      seen.add(galleryId);
      labels.push(galleryId);
      scores.push(row.similarities[rank]!);
    });
    return { id, labels, scores };
  });
}
