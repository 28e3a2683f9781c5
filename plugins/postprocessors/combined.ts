import type { ModelVectors, PostProcessor } from '../../core/contracts/postprocessor.js';
import type { Registration } from '../../core/contracts/registration.js';
import { UserError } from '../../core/errors.js';
import { exactSearch } from '../../core/search/neighbours.js';
import { appendNeighbours, cachedRows, modelVectors } from './match-source.js';

export interface CombinedOptions {
  /** The models whose vectors are put side by side (keys of the config's `models`). */
  readonly models: readonly string[];
  /** Gallery items whose mean similarity reaches this are added. */
  readonly threshold: number;
  /** Neighbours looked at per query. */
  readonly neighbours: number;
}

/**
 * The models' vectors side by side, each part scaled by 1/√n: the inner product of two rows is the
 * mean of their cosine similarities by each model.
 */
export function combinedVectors(
  parts: readonly { readonly vectors: Float32Array; readonly dim: number }[],
): Float32Array {
  const count = parts.length === 0 ? 0 : parts[0]!.vectors.length / parts[0]!.dim;
  const dim = parts.reduce((sum, part) => sum + part.dim, 0);
  const scale = Math.sqrt(1 / parts.length);
  const out = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) {
    let offset = i * dim;
    for (const { vectors, dim: partDim } of parts) {
      for (let d = 0; d < partDim; d++) out[offset + d] = vectors[i * partDim + d]! * scale;
      offset += partDim;
    }
  }
  return out;
}

/** Nearest neighbours by the mean of several models' cosine similarities (image and text, for Shopee). */
export const combined: Registration<PostProcessor, CombinedOptions> = {
  name: 'combined',
  description: 'match source: add the gallery items whose mean cosine by the named models reaches a threshold',
  defaults: { models: ['image', 'text'], threshold: 0.7, neighbours: 50 },
  create: ({ models, threshold, neighbours }: CombinedOptions) => {
    const names: unknown = models;
    if (!Array.isArray(names) || names.length < 2 || names.some((model) => typeof model !== 'string'))
      throw new UserError(
        `combined: models must name two or more models, got ${JSON.stringify(models)}`,
        'e.g. models: [image, text]',
      );
    return {
      name: 'combined',
      models,
      apply: (state) => {
        const parts: ModelVectors[] = models.map((model) => modelVectors(state, model, 'combined'));
        const count = state.galleryIds.length;
        const rows = cachedRows(
          parts[0]!.queryVectors,
          parts[1]!.queryVectors,
          `combined ${models.join(',')} ${neighbours}`,
          () => {
            if (count === 0) return [];
            const queries = combinedVectors(parts.map((part) => ({ vectors: part.queryVectors, dim: part.dim })));
            const gallery = parts.every((part) => part.galleryVectors === part.queryVectors)
              ? queries
              : combinedVectors(parts.map((part) => ({ vectors: part.galleryVectors, dim: part.dim })));
            const dim = parts.reduce((sum, part) => sum + part.dim, 0);
            return exactSearch(queries, gallery, dim, Math.min(neighbours, count));
          },
        );
        return appendNeighbours(state, rows, threshold);
      },
    };
  },
};
