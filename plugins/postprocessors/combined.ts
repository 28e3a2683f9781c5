import type { ModelVectors, PostProcessor } from '../../core/contracts/postprocessor.js';
import type { Registration } from '../../core/contracts/registration.js';
import { exactSearch } from '../../core/index/neighbours.js';
import { appendNeighbours, cachedRows } from './match-source.js';
import { textVectors, type ModelSourceOptions } from './text-model.js';

/**
 * Image and text vectors side by side, each half scaled by 1/√2: the inner product of two rows is
 * the mean of their image and text cosine similarities.
 */
export function combinedVectors(
  image: Float32Array,
  imageDim: number,
  text: Float32Array,
  textDim: number,
): Float32Array {
  const count = image.length / imageDim;
  const dim = imageDim + textDim;
  const out = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) {
    for (let d = 0; d < imageDim; d++) out[i * dim + d] = image[i * imageDim + d]! * Math.SQRT1_2;
    for (let d = 0; d < textDim; d++) out[i * dim + imageDim + d] = text[i * textDim + d]! * Math.SQRT1_2;
  }
  return out;
}

/** Nearest neighbours by the mean of the image and text cosine similarities. */
export const combined: Registration<PostProcessor, ModelSourceOptions> = {
  name: 'combined',
  description: 'match source: add the gallery items whose mean image and text-model cosine reaches a threshold',
  defaults: { threshold: 0.7, neighbours: 50 },
  create: ({ threshold, neighbours }: ModelSourceOptions) => {
    return {
      name: 'combined',
      models: ['image', 'text'],
      apply: (state) => {
        const text: ModelVectors = textVectors(state.text, 'combined');
        const count = state.galleryIds.length;
        const rows = cachedRows(state.queryVectors, text.queryVectors, `combined ${neighbours}`, () => {
          if (count === 0) return [];
          const queries = combinedVectors(state.queryVectors, state.dim, text.queryVectors, text.dim);
          const gallery =
            state.galleryVectors === state.queryVectors
              ? queries
              : combinedVectors(state.galleryVectors, state.dim, text.galleryVectors, text.dim);
          return exactSearch(queries, gallery, state.dim + text.dim, Math.min(neighbours, count));
        });
        return appendNeighbours(state, rows, threshold);
      },
    };
  },
};
