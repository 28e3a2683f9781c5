import type { KnnState, NeighbourRow } from '../../../core/contracts/postprocessor.js';
import { Random } from '../../../core/random.js';

/**
 * Neighbour rows over a small gallery, drawn so that rows repeat gallery items (within a row and between rows),
 * some are empty and similarities tie: what the one-array-for-all-queries bookkeeping has to get right.
 */
export function randomRows(random: Random, queries: number, gallery: number, longest = 12): NeighbourRow[] {
  return Array.from({ length: queries }, () => {
    const length = random.int(longest + 1);
    return {
      indices: Array.from({ length }, () => random.int(gallery)),
      similarities: Array.from({ length }, () => Math.round(random.next() * 10) / 10),
    };
  });
}

/** A state of `queries` rows over `galleryIds` (ids may repeat), query ids drawn from the gallery's and others. */
export function randomState(random: Random, galleryIds: readonly string[], queries: number): KnnState {
  return {
    dim: 1,
    queryIds: Array.from({ length: queries }, (_, q) =>
      random.next() < 0.7 ? galleryIds[random.int(galleryIds.length)]! : `query-${q}`,
    ),
    queryVectors: new Float32Array(queries),
    galleryIds,
    galleryVectors: new Float32Array(galleryIds.length),
    neighbours: randomRows(random, queries, galleryIds.length),
  };
}
