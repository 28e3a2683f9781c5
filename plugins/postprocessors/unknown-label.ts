import type { PostProcessor } from '../../core/contracts/postprocessor.js';
import type { Registration } from '../../core/contracts/registration.js';
import { UserError } from '../../core/errors.js';

export interface UnknownLabelOptions {
  /** The label of "none of the known classes", e.g. new_whale. */
  readonly label: string;
  /** It is inserted before the first ranked label whose score is below this. */
  readonly threshold: number;
}

/** Inserts an "unknown" label where the ranked scores drop below a threshold (Humpback Whale's new_whale). */
export const unknownLabel: Registration<PostProcessor, UnknownLabelOptions> = {
  name: 'unknown-label',
  description: 'insert an unknown label (e.g. new_whale) where the label scores drop below a threshold',
  defaults: { label: 'new_whale', threshold: 0.5 },
  create: ({ label, threshold }: UnknownLabelOptions) => {
    return {
      name: 'unknown-label',
      apply: (state) => {
        if (!state.predictions) throw new UserError('unknown-label needs ranked labels first (e.g. knn-vote)');
        const predictions = state.predictions.map((ranked) => {
          const labels = ranked.labels.filter((l) => l !== label);
          const scores = ranked.scores.filter((_, i) => ranked.labels[i] !== label);
          let at = scores.findIndex((score) => score < threshold);
          if (at < 0) at = labels.length;
          return {
            labels: [...labels.slice(0, at), label, ...labels.slice(at)],
            scores: [...scores.slice(0, at), threshold, ...scores.slice(at)],
          };
        });
        return { ...state, predictions };
      },
    };
  },
};
