import type { ModelVectors, PostProcessor } from '../../core/contracts/postprocessor.js';
import type { Registration } from '../../core/contracts/registration.js';
import { UserError } from '../../core/errors.js';
import { exactSearch } from '../../core/index/neighbours.js';
import { appendNeighbours, cachedRows } from './match-source.js';

export interface ModelSourceOptions {
  /** Gallery items whose similarity reaches this are added. */
  readonly threshold: number;
  /** Neighbours looked at per query. */
  readonly neighbours: number;
}

export function textVectors(text: ModelVectors | undefined, source: string): ModelVectors {
  if (!text)
    throw new UserError(
      `the ${source} post-processor needs a text model`,
      'add `textModel` to the config, or remove it from postProcessors',
    );
  return text;
}

/** Nearest neighbours by the text model's embeddings (Shopee titles). */
export const textModel: Registration<PostProcessor, ModelSourceOptions> = {
  name: 'text-model',
  description: 'match source: add the gallery items whose text-model cosine reaches a threshold',
  defaults: { threshold: 0.7, neighbours: 50 },
  create: ({ threshold, neighbours }: ModelSourceOptions) => {
    return {
      name: 'text-model',
      models: ['text'],
      apply: (state) => {
        const text = textVectors(state.text, 'text-model');
        const count = text.galleryVectors.length / text.dim;
        const rows = cachedRows(text.queryVectors, text.galleryVectors, `text-model ${neighbours}`, () =>
          count === 0 ? [] : exactSearch(text.queryVectors, text.galleryVectors, text.dim, Math.min(neighbours, count)),
        );
        return appendNeighbours(state, rows, threshold);
      },
    };
  },
};
