import type { NeighbourRow, PostProcessor } from '../../core/contracts/postprocessor.js';
import type { Registration } from '../../core/contracts/registration.js';
import { appendNeighbours, cachedRows, stateItems } from './match-source.js';

/** Items sharing a perceptual hash show the same image: a cheap, precise match signal (Shopee). */
export const phash: Registration<PostProcessor, Record<string, never>> = {
  name: 'phash',
  description: "match source: add the gallery items whose perceptual hash equals the query's",
  defaults: {},
  create: () => ({
    name: 'phash',
    models: [],
    apply: (state) => {
      const { queries, gallery } = stateItems(state, 'phash');
      const rows = cachedRows(queries, gallery, 'phash', () => {
        const byHash = new Map<string, number[]>();
        gallery.forEach((item, g) => {
          if (item.phash) byHash.set(item.phash, [...(byHash.get(item.phash) ?? []), g]);
        });
        return queries.map((item): NeighbourRow => {
          const indices = item.phash ? (byHash.get(item.phash) ?? []) : [];
          return { indices, similarities: indices.map(() => 1) };
        });
      });
      return appendNeighbours(state, rows, 1);
    },
  }),
};
