import type { NeighbourRow } from '../../core/contracts/postprocessor.js';
import { searchNeighbours } from '../../core/search/neighbours.js';
import { VectorIndex } from '../../core/search/vector-index.js';

/**
 * Euclidean nearest neighbours through the project's inner-product FAISS index:
 * argmin_y ‖x − y‖² = argmax_y (x·y − ‖y‖²/2), so each gallery row gets one more coordinate
 * −‖y‖²/2 and each query a 1. Rows index the gallery; `similarities` are x·y − ‖y‖²/2.
 */
export function euclideanNeighbours(
  gallery: Float32Array,
  queries: Float32Array,
  dim: number,
  k: number,
): NeighbourRow[] {
  const augmented = dim + 1;
  const galleryRows = gallery.length / dim;
  const queryRows = queries.length / dim;
  const g = new Float32Array(galleryRows * augmented);
  for (let i = 0; i < galleryRows; i++) {
    let squared = 0;
    for (let j = 0; j < dim; j++) {
      const v = gallery[i * dim + j]!;
      g[i * augmented + j] = v;
      squared += v * v;
    }
    g[i * augmented + dim] = -squared / 2;
  }
  const q = new Float32Array(queryRows * augmented);
  for (let i = 0; i < queryRows; i++) {
    q.set(queries.subarray(i * dim, (i + 1) * dim), i * augmented);
    q[i * augmented + dim] = 1;
  }
  const index = VectorIndex.create(augmented);
  index.add(
    Array.from({ length: galleryRows }, (_, i) => String(i)),
    g,
  );
  return searchNeighbours(
    index,
    Array.from({ length: queryRows }, (_, i) => `query ${i}`),
    q,
    { k },
  );
}

/**
 * Majority vote of the first `k` neighbours' labels, ties going to the smallest label (as
 * scikit-learn's KNeighborsClassifier with uniform weights).
 */
export function majorityVote(rows: readonly NeighbourRow[], galleryLabels: ArrayLike<number>, k: number): Int32Array {
  return Int32Array.from(rows, (row) => {
    const votes = new Map<number, number>();
    for (const g of row.indices.slice(0, k)) votes.set(galleryLabels[g]!, (votes.get(galleryLabels[g]!) ?? 0) + 1);
    let best = -1;
    let bestVotes = 0;
    for (const [label, count] of votes)
      if (count > bestVotes || (count === bestVotes && label < best)) [best, bestVotes] = [label, count];
    return best;
  });
}

export function accuracy(predicted: ArrayLike<number>, truth: ArrayLike<number>): number {
  let correct = 0;
  for (let i = 0; i < truth.length; i++) if (predicted[i] === truth[i]) correct += 1;
  return truth.length === 0 ? 0 : correct / truth.length;
}
