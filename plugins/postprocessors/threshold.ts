import type { PostProcessor } from '../../core/contracts/postprocessor.js';
import type { Registration } from '../../core/contracts/registration.js';
import { filterNeighbours } from '../../core/search/neighbours.js';

export interface ThresholdOptions {
  /** Neighbours with a smaller inner-product similarity are dropped. */
  readonly threshold: number;
}

export const threshold: Registration<PostProcessor, ThresholdOptions> = {
  name: 'threshold',
  description: 'keep the neighbours whose similarity is at least a threshold',
  defaults: { threshold: 0.5 },
  create: ({ threshold: limit }: ThresholdOptions) => {
    return {
      name: 'threshold',
      apply: (state) => ({
        ...state,
        neighbours: filterNeighbours(state.neighbours, (q, r) => state.neighbours[q]!.similarities[r]! >= limit),
      }),
    };
  },
};
