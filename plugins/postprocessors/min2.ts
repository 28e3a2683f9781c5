import type { PostProcessor } from '../../core/contracts/postprocessor.js';
import type { Registration } from '../../core/contracts/registration.js';
import { filterNeighbours, firstNonSelf } from '../../core/search/neighbours.js';

export interface Min2Options {
  /** Neighbours at least this similar are matches. */
  readonly threshold: number;
  /** The best non-self neighbour is kept even below `threshold`, unless it is below this floor. */
  readonly floor: number;
}

/**
 * Threshold matching that never leaves an item alone: every item of a Shopee group has at least one
 * other member, so the nearest non-self neighbour is kept unless it is very far.
 */
export const min2: Registration<PostProcessor, Min2Options> = {
  name: 'min2',
  description: 'threshold, but always keep the best non-self neighbour unless it is below a floor',
  defaults: { threshold: 0.5, floor: 0.2 },
  create: ({ threshold, floor }: Min2Options) => {
    return {
      name: 'min2',
      apply: (state) => {
        const best = state.queryIds.map((_, q) => firstNonSelf(state, q));
        return {
          ...state,
          neighbours: filterNeighbours(state.neighbours, (q, r) => {
            const similarity = state.neighbours[q]!.similarities[r]!;
            return similarity >= threshold || (r === best[q] && similarity >= floor);
          }),
        };
      },
    };
  },
};
