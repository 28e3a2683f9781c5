import type { NeighbourRow, PostProcessor } from '../../core/contracts/postprocessor.js';
import type { Registration } from '../../core/contracts/registration.js';
import { queriesAreGallery } from '../../core/search/neighbours.js';

/**
 * Symmetric matching for a set matched against itself: if A lists B then B lists A (with the same
 * similarity), since "same product" is symmetric. Rows stay sorted by similarity.
 */
export const reciprocal: Registration<PostProcessor, Record<string, never>> = {
  name: 'reciprocal',
  description: 'symmetric matches: A→B adds B→A (sets matched against themselves)',
  defaults: {},
  create: () => ({
    name: 'reciprocal',
    apply: (state) => {
      if (!queriesAreGallery(state)) return state;
      const merged = state.neighbours.map((row) => new Map(row.indices.map((g, r) => [g, row.similarities[r]!])));
      state.neighbours.forEach((row, q) =>
        row.indices.forEach((g, r) => {
          if (!merged[g]!.has(q)) merged[g]!.set(q, row.similarities[r]!);
        }),
      );
      const neighbours: NeighbourRow[] = merged.map((map) => {
        const sorted = [...map].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
        return { indices: sorted.map(([g]) => g), similarities: sorted.map(([, s]) => s) };
      });
      return { ...state, neighbours };
    },
  }),
};
