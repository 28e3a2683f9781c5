import type { PostProcessor, RankedLabels } from '../../core/contracts/postprocessor.js';
import type { Registration } from '../../core/contracts/registration.js';
import { UserError } from '../../core/errors.js';

export interface KnnVoteOptions {
  /** Neighbours that vote. */
  readonly k: number;
  /** Each vote weighs max(similarity, 0)^power. */
  readonly power: number;
  /** Weight of the head's class probability when the state carries one: score·(1−w) + p·w. */
  readonly headWeight: number;
}

/**
 * kNN label voting: a label's score is Σ sim^p over the top-k neighbours carrying it, divided by k,
 * so scores are comparable across queries (GAP ranks all predictions together).
 */
export const knnVote: Registration<PostProcessor, KnnVoteOptions> = {
  name: 'knn-vote',
  description: 'rank labels by Σ similarity^p over the top-k neighbours (optionally fused with head probabilities)',
  defaults: { k: 10, power: 3, headWeight: 0 },
  create: ({ k, power, headWeight }: KnnVoteOptions) => {
    return {
      name: 'knn-vote',
      apply: (state) => {
        const galleryLabels = state.galleryLabels;
        if (!galleryLabels) throw new UserError('knn-vote needs gallery labels');
        const predictions: RankedLabels[] = state.neighbours.map((row, q) => {
          const scores = new Map<string, number>();
          row.indices.slice(0, k).forEach((g, r) => {
            for (const label of galleryLabels[g]!.split(' ')) {
              scores.set(label, (scores.get(label) ?? 0) + Math.max(row.similarities[r]!, 0) ** power / k);
            }
          });
          const probabilities = state.classProbabilities?.[q];
          if (probabilities && headWeight > 0) {
            for (const [label, p] of probabilities)
              scores.set(label, (scores.get(label) ?? 0) * (1 - headWeight) + p * headWeight);
          }
          const ranked = [...scores].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
          return { labels: ranked.map(([label]) => label), scores: ranked.map(([, score]) => score) };
        });
        return { ...state, predictions };
      },
    };
  },
};
