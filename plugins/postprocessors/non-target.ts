import type { PostProcessor } from '../../core/contracts/postprocessor.js';
import type { Registration } from '../../core/contracts/registration.js';

export interface NonTargetOptions {
  /** How many of the nearest distractors are averaged. */
  readonly k: number;
  /** Weight of the penalty. */
  readonly weight: number;
}

/**
 * Non-target penalty (landmark recognition): each query's label scores are lowered by `weight` ×
 * the mean similarity of the query to its k nearest known non-targets (e.g. non-landmark images),
 * so that queries resembling distractors rank last in GAP. Without distractors it changes nothing.
 */
export const nonTargetPenalty: Registration<PostProcessor, NonTargetOptions> = {
  name: 'non-target-penalty',
  description: 'subtract the mean similarity to the k nearest distractors (e.g. non-landmark images) from label scores',
  defaults: { k: 5, weight: 1 },
  create: ({ k, weight }: NonTargetOptions) => {
    return {
      name: 'non-target-penalty',
      apply: (state, context) => {
        if (!state.distractorVectors || state.distractorVectors.length === 0 || !state.predictions) return state;
        const rows = context.search(state.queryVectors, state.distractorVectors, k);
        const predictions = state.predictions.map((ranked, q) => {
          const similarities = rows[q]!.similarities;
          const penalty = similarities.length
            ? (weight * similarities.reduce((s, v) => s + v, 0)) / similarities.length
            : 0;
          return { labels: ranked.labels, scores: ranked.scores.map((score) => score - penalty) };
        });
        return { ...state, predictions };
      },
    };
  },
};
