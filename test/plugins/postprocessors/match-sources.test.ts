import { describe, expect, it } from 'vitest';
import type { ComponentChoice, Item } from '../../../core/contracts/competition.js';
import type { KnnState, NeighbourRow } from '../../../core/contracts/postprocessor.js';
import { Simkit } from '../../../core/di/container.js';
import { exactSearchContext } from '../../../core/search/neighbours.js';
import { postProcess, withoutNeighbours } from '../../../core/pipeline/knn.js';
import { taskStrategy } from '../../core/tasks/task-strategy.js';
import { combinedVectors } from '../../../plugins/postprocessors/combined.js';
import { appendNeighbours } from '../../../plugins/postprocessors/match-source.js';
import { Random } from '../../../core/random.js';
import { randomRows, randomState } from '../../core/search/random-rows.js';

function unit(angle: number): number[] {
  return [Math.cos(angle), Math.sin(angle)];
}

// Four postings: a and b share an image file (phash) but not a title; c's title is a's; d stands alone.
const ITEMS: Item[] = [
  { id: 'a', labels: [], phash: 'p1', text: 'red cotton shirt', extra: {} },
  { id: 'b', labels: [], phash: 'p1', text: 'steel knife', extra: {} },
  { id: 'c', labels: [], phash: 'p2', text: 'red cotton shirt', extra: {} },
  { id: 'd', labels: [], phash: 'p3', text: 'blue bottle', extra: {} },
];
// Angles of the image and text vectors of a, b, c, d.
const IMAGE_ANGLES = [0, 0.3, 1.2, 2.5];
const TEXT_ANGLES = [0, 1.0, 0.2, 0.25];
const vectors = (angles: number[]) => Float32Array.from(angles.flatMap(unit));
const image = vectors(IMAGE_ANGLES);
const text = vectors(TEXT_ANGLES);
const ids = ITEMS.map((item) => item.id);

/** The items matched among themselves, each row holding only the item itself (as min2 at threshold 1.01 leaves it). */
const STATE: KnnState = {
  dim: 2,
  queryIds: ids,
  queryVectors: image,
  galleryIds: ids,
  galleryVectors: image,
  neighbours: ITEMS.map((_, q) => ({ indices: [q], similarities: [1] })),
  queryItems: ITEMS,
  galleryItems: ITEMS,
  searchModel: 'image',
  models: { text: { dim: 2, queryVectors: text, galleryVectors: text } },
};

const app = Simkit.create();
const context = exactSearchContext(2);
const matchesOf = async (chain: ComponentChoice[], state: KnnState = STATE) =>
  Object.fromEntries(
    postProcess(await app, taskStrategy('match'), chain, state, context).map((p) => [
      p.id,
      [...p.labels].sort().join(' '),
    ]),
  );

describe('match sources (post-processors)', () => {
  it('combined vectors: the inner product of two rows is the mean of their image and text cosines', () => {
    const combined = combinedVectors([
      { vectors: image, dim: 2 },
      { vectors: text, dim: 2 },
    ]);
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        let dot = 0;
        for (let d = 0; d < 4; d++) dot += combined[i * 4 + d]! * combined[j * 4 + d]!;
        const mean = (Math.cos(IMAGE_ANGLES[i]! - IMAGE_ANGLES[j]!) + Math.cos(TEXT_ANGLES[i]! - TEXT_ANGLES[j]!)) / 2;
        expect(dot).toBeCloseTo(mean, 6);
      }
    }
  });

  it('combined over three models: the inner product of two rows is the mean of the three cosines', async () => {
    const OTHER_ANGLES = [0.5, 0.1, 2.0, 0.7];
    const other = vectors(OTHER_ANGLES);
    const state: KnnState = {
      ...STATE,
      models: { ...STATE.models, other: { dim: 2, queryVectors: other, galleryVectors: other } },
    };
    for (const threshold of [0.3, 0.6, 0.9]) {
      const got = await matchesOf(
        [{ name: 'combined', options: { models: ['image', 'text', 'other'], threshold } }],
        state,
      );
      for (const [q, item] of ITEMS.entries()) {
        const expected = new Set([item.id]);
        ITEMS.forEach((candidate, g) => {
          const mean =
            [IMAGE_ANGLES, TEXT_ANGLES, OTHER_ANGLES].reduce(
              (sum, angles) => sum + Math.cos(angles[q]! - angles[g]!),
              0,
            ) / 3;
          if (mean >= threshold + 1e-6) expected.add(candidate.id);
        });
        expect(got[item.id], `≥ ${threshold}, query ${item.id}`).toBe([...expected].sort().join(' '));
      }
    }
  });

  it('phash adds the items sharing a perceptual hash; tfidf the title neighbours at or above its threshold', async () => {
    expect(await matchesOf([{ name: 'phash', options: {} }])).toEqual({ a: 'a b', b: 'a b', c: 'c', d: 'd' });
    // a–c: the same title (cosine 1).
    expect(
      await matchesOf([
        { name: 'phash', options: {} },
        { name: 'tfidf', options: { threshold: 0.99 } },
      ]),
    ).toEqual({ a: 'a b c', b: 'a b', c: 'a c', d: 'd' });
    expect(await matchesOf([{ name: 'tfidf', options: { threshold: 1.01 } }])).toEqual({
      a: 'a',
      b: 'b',
      c: 'c',
      d: 'd',
    });
  });

  it('model-match and combined add the neighbours at or above their thresholds, after the rows already there', async () => {
    for (const threshold of [0.5, 0.8, 0.95, 0.99]) {
      for (const source of ['model-match', 'combined'] as const) {
        const got = await matchesOf([{ name: source, options: { threshold } }]);
        for (const [q, item] of ITEMS.entries()) {
          const expected = new Set([item.id]);
          ITEMS.forEach((other, g) => {
            const cosine = Math.cos(TEXT_ANGLES[q]! - TEXT_ANGLES[g]!);
            const similarity =
              source === 'model-match' ? cosine : (cosine + Math.cos(IMAGE_ANGLES[q]! - IMAGE_ANGLES[g]!)) / 2;
            if (similarity >= threshold + 1e-6) expected.add(other.id);
          });
          expect(got[item.id], `${source} ≥ ${threshold}, query ${item.id}`).toBe([...expected].sort().join(' '));
        }
      }
    }
    // Order: the image neighbours first, then each source's in the chain's order. Text cosine of a and d: cos(0.25) ≈
    // 0.969.
    let steps = 0;
    const a = postProcess(
      await app,
      taskStrategy('match'),
      [
        { name: 'phash', options: {} },
        { name: 'model-match', options: { model: 'text', threshold: 0.95 } },
      ],
      STATE,
      context,
      {},
      { advance: (items) => (steps += items) },
    )[0]!;
    expect(a.labels).toEqual(['a', 'b', 'c', 'd']);
    // The test set's progress bar advances once per post-processor.
    expect(steps).toBe(2);
  });

  it('from empty rows, a chain of sources alone still matches each item with itself', async () => {
    expect(await matchesOf([{ name: 'phash', options: {} }], withoutNeighbours(STATE))).toEqual({
      a: 'a b',
      b: 'a b',
      c: 'c',
      d: 'd',
    });
  });

  it('says what a source needs: items with titles, the models it names', async () => {
    const { models: _models, ...imageOnly } = STATE;
    await expect(matchesOf([{ name: 'model-match', options: {} }], imageOnly)).rejects.toThrow(
      /model-match post-processor reads model "text", which this run does not have/,
    );
    await expect(matchesOf([{ name: 'combined', options: { models: ['image', 'title'] } }])).rejects.toThrow(
      /reads model "title".*\n?.*|models: image, text/,
    );
    const untitled = ITEMS.map(({ text: _t, ...item }) => item);
    await expect(
      matchesOf([{ name: 'tfidf', options: {} }], { ...STATE, queryItems: untitled, galleryItems: untitled }),
    ).rejects.toThrow(/needs titles/);
    await expect(matchesOf([{ name: 'tfidf', options: { threshold: 0.5, limit: 3 } }])).rejects.toThrow(
      /"tfidf" has no option "limit"; its options: threshold, neighbours/,
    );
  });
});

/** appendNeighbours as first written: a set per row, every row copied. */
function appendWithSets(state: KnnState, rows: readonly NeighbourRow[], threshold: number): NeighbourRow[] {
  return state.neighbours.map((row, q) => {
    const found = rows[q];
    if (!found) return row;
    const indices = [...row.indices];
    const similarities = [...row.similarities];
    const present = new Set(indices);
    found.indices.forEach((g, r) => {
      if (found.similarities[r]! < threshold || present.has(g)) return;
      present.add(g);
      indices.push(g);
      similarities.push(found.similarities[r]!);
    });
    return { indices, similarities };
  });
}

describe('appendNeighbours', () => {
  it('equals a set per row on rows that repeat gallery items, over many queries and thresholds', () => {
    const random = new Random(7);
    const gallery = Array.from({ length: 30 }, (_, g) => `g${g}`);
    for (let round = 0; round < 20; round++) {
      const state = randomState(random, gallery, 200);
      // Some queries get no found row (a source with fewer rows than queries).
      const found = randomRows(random, 180, gallery.length, 20);
      for (const threshold of [0, 0.3, 0.7, 1.01]) {
        const appended = appendNeighbours(state, found, threshold);
        expect(appended.neighbours).toEqual(appendWithSets(state, found, threshold));
        // A row with nothing added is the same row, not a copy.
        appended.neighbours.forEach((row, q) => {
          if (row.indices.length === state.neighbours[q]!.indices.length) expect(row).toBe(state.neighbours[q]);
        });
      }
    }
  });
});
