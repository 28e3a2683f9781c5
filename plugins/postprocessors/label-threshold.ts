import type { PostProcessor } from '../../core/contracts/postprocessor.js';
import type { Registration } from '../../core/contracts/registration.js';
import { UserError } from '../../core/errors.js';

export interface LabelThresholdOptions {
  /** Keep the labels whose score is at least this fraction of the query's best score. */
  readonly threshold: number;
}

/** Multi-label answers: every ranked label scoring ≥ threshold × the best, so at least one label per row. */
export const labelThreshold: Registration<PostProcessor, LabelThresholdOptions> = {
  name: 'label-threshold',
  description: 'multi-label: keep ranked labels scoring at least a fraction of the best one (never none)',
  defaults: { threshold: 0.5 },
  create: (options) => {
    const threshold = options?.threshold ?? 0.5;
    return {
      name: 'label-threshold',
      apply: (state) => {
        if (!state.predictions) throw new UserError('label-threshold needs ranked labels first (e.g. knn-vote)');
        const predictions = state.predictions.map((ranked) => {
          const best = ranked.scores[0] ?? 0;
          const keep = ranked.scores.map((score, i) => i === 0 || score >= threshold * best);
          return { labels: ranked.labels.filter((_, i) => keep[i]), scores: ranked.scores.filter((_, i) => keep[i]) };
        });
        return { ...state, predictions };
      },
    };
  },
};
