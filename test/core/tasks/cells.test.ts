import { describe, expect, it } from 'vitest';
import type { Prediction } from '../../../core/contracts/competition.js';
import type { KnnState } from '../../../core/contracts/postprocessor.js';
import { Random } from '../../../core/random.js';
import { neighbourIds } from '../../../core/tasks/cells.js';
import { randomState } from '../search/random-rows.js';

/** neighbourIds as first written: a set of ids per query. */
function idsWithSets(state: KnnState, self: boolean): Prediction[] {
  return state.queryIds.map((id, q) => {
    const row = state.neighbours[q]!;
    const labels: string[] = self ? [id] : [];
    const scores: number[] = self ? [1] : [];
    const seen = new Set(labels);
    row.indices.forEach((galleryIndex, rank) => {
      const galleryId = state.galleryIds[galleryIndex]!;
      if (seen.has(galleryId)) return;
      seen.add(galleryId);
      labels.push(galleryId);
      scores.push(row.similarities[rank]!);
    });
    return { id, labels, scores };
  });
}

describe('neighbourIds', () => {
  it('equals a set per query, with repeated gallery ids, queries in and outside the gallery, self or not', () => {
    const random = new Random(11);
    // Ids repeat in the gallery (g0 at 0 and 25, …): each id is predicted once, at its best rank.
    const gallery = Array.from({ length: 40 }, (_, g) => `g${g % 25}`);
    for (let round = 0; round < 20; round++) {
      const state = randomState(random, gallery, 150);
      for (const self of [true, false]) expect(neighbourIds(state, { self })).toEqual(idsWithSets(state, self));
    }
  });

  it('a second state over the same gallery array reads it afresh', () => {
    const gallery = ['a', 'b', 'c'];
    const base = {
      dim: 1,
      queryVectors: new Float32Array(1),
      galleryIds: gallery,
      galleryVectors: new Float32Array(3),
    };
    const first = neighbourIds(
      { ...base, queryIds: ['a'], neighbours: [{ indices: [0, 1, 1], similarities: [1, 0.9, 0.9] }] },
      { self: true },
    );
    expect(first).toEqual([{ id: 'a', labels: ['a', 'b'], scores: [1, 0.9] }]);
    const second = neighbourIds(
      { ...base, queryIds: ['z'], neighbours: [{ indices: [2, 0], similarities: [0.8, 0.7] }] },
      { self: true },
    );
    expect(second).toEqual([{ id: 'z', labels: ['z', 'c', 'a'], scores: [1, 0.8, 0.7] }]);
  });
});
