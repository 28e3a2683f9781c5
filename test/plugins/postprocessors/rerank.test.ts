import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { KnnState, TrainingVectors } from '../../../core/contracts/postprocessor.js';
import { initEngine } from '../../../core/engine/backend.js';
import { Random } from '../../../core/random.js';
import { exactSearch, exactSearchContext } from '../../../core/search/neighbours.js';
import { minedPairs, pairScores, rerank, trainPairModel } from '../../../plugins/postprocessors/rerank.js';
import { create } from './helpers.js';

const DIM = 8;
const CLASSES = 6;

/**
 * Items whose class shows in dimensions 0–3 (a code of ±0.35) while dimensions 4–7 carry larger noise: the cosine is
 * dominated by the noise, a pair model can learn to read the code.
 */
function items(count: number, seed: number): { vectors: Float32Array; labels: string[] } {
  const random = new Random(seed);
  const codes = Array.from({ length: CLASSES }, (_, c) => [0, 1, 2, 3].map((bit) => ((c >> bit) & 1 ? 0.35 : -0.35)));
  const vectors = new Float32Array(count * DIM);
  const labels: string[] = [];
  for (let i = 0; i < count; i++) {
    const c = i % CLASSES;
    const row = [...codes[c]!, ...[0, 1, 2, 3].map(() => random.uniform(-1, 1))];
    const norm = Math.sqrt(row.reduce((sum, v) => sum + v * v, 0));
    row.forEach((v, j) => (vectors[i * DIM + j] = v / norm));
    labels.push(`c${c}`);
  }
  return { vectors, labels };
}

function training(count: number, seed: number): TrainingVectors {
  const { vectors, labels } = items(count, seed);
  return { ids: labels.map((_, i) => `t${i}`), vectors, labels };
}

/** Held-out queries searching a held-out gallery, with the training items for the re-ranker. */
function state(train: TrainingVectors, k: number): KnnState {
  const queries = items(30, 11);
  const gallery = items(60, 12);
  return {
    dim: DIM,
    queryIds: queries.labels.map((_, i) => `q${i}`),
    queryVectors: queries.vectors,
    galleryIds: gallery.labels.map((_, i) => `g${i}`),
    galleryVectors: gallery.vectors,
    galleryLabels: gallery.labels,
    neighbours: exactSearch(queries.vectors, gallery.vectors, DIM, k),
    queryItems: queries.labels.map((label, i) => ({ id: `q${i}`, labels: [label], extra: {} })),
    training: train,
  };
}

function precisionAt1(result: KnnState, truth: KnnState): number {
  const queryLabels = truth.queryItems!.map((item) => item.labels[0]);
  return (
    result.neighbours.filter((row, q) => truth.galleryLabels![row.indices[0]!] === queryLabels[q]).length /
    result.neighbours.length
  );
}

describe('rerank: a siamese pair model re-scores the top-k', () => {
  beforeAll(async () => {
    await initEngine('native');
  });

  it("mines each training item's nearest other items as pairs, target 1 where the labels agree (float64 ranking)", () => {
    const train = training(24, 1);
    const pairs = minedPairs(train, DIM, 3);
    for (let i = 0; i < 24; i++) {
      const cosine = (j: number) => {
        let dot = 0;
        for (let d = 0; d < DIM; d++) dot += train.vectors[i * DIM + d]! * train.vectors[j * DIM + d]!;
        return dot;
      };
      const expected = [...Array(24).keys()]
        .filter((j) => j !== i)
        .sort((x, y) => cosine(y) - cosine(x))
        .slice(0, 3);
      const got = pairs.a.flatMap((a, p) => (a === i ? [pairs.b[p]!] : []));
      expect(got).toEqual(expected);
      got.forEach((j) => {
        const p = pairs.a.findIndex((a, index) => a === i && pairs.b[index] === j);
        expect(pairs.targets[p]).toBe(train.labels[i] === train.labels[j] ? 1 : 0);
      });
    }
  });

  it('scores a pair as the match probability of the classifier, sigmoid(|a − b|·w + b) (float64)', () => {
    const train = training(30, 5);
    const model = trainPairModel(train, DIM, { ...rerank.defaults, pair: 'siamese-difference', hidden: 0, epochs: 2 });
    const weights = model.getWeights();
    const w = Array.from(weights.weight!.dataSync());
    const bias = weights.bias!.dataSync()[0]!;
    const probe = state(train, 5);
    const pairs = [
      [0, 3],
      [7, 1],
      [29, 59],
    ] as const;
    const scores = pairScores(model, probe, pairs);
    pairs.forEach(([q, g], p) => {
      let z = bias;
      for (let d = 0; d < DIM; d++)
        z += Math.abs(probe.queryVectors[q * DIM + d]! - probe.galleryVectors[g * DIM + d]!) * w[d]!;
      expect(scores[p]).toBeCloseTo(1 / (1 + Math.exp(-z)), 5);
    });
    model.dispose();
  });

  it("orders each top-k by the pair model's scores (weight 1) and keeps the rest of the row", () => {
    const train = training(120, 2);
    const before = state(train, 20);
    const options = {
      pair: 'siamese-difference',
      hidden: 0,
      k: 10,
      mine: 20,
      epochs: 30,
      learningRate: 0.05,
      weight: 1,
    };
    const after = create(rerank, options).apply(before, exactSearchContext(DIM));
    const model = trainPairModel(train, DIM, options);
    after.neighbours.forEach((row, q) => {
      const scores = pairScores(
        model,
        before,
        row.indices.slice(0, 10).map((g) => [q, g] as const),
      );
      for (let r = 0; r < 10; r++) expect(row.similarities[r]).toBeCloseTo(scores[r]!, 5);
      for (let r = 1; r < 10; r++) expect(scores[r - 1]!).toBeGreaterThanOrEqual(scores[r]!);
      expect([...row.indices.slice(0, 10)].sort((x, y) => x - y)).toEqual(
        [...before.neighbours[q]!.indices.slice(0, 10)].sort((x, y) => x - y),
      );
      expect(row.indices.slice(10)).toEqual(before.neighbours[q]!.indices.slice(10));
    });
    model.dispose();
    // The code dimensions carry the class; a pair model that learned to read them finds more of the right classes.
    expect(precisionAt1(after, before)).toBeGreaterThan(precisionAt1(before, before) + 0.1);
  });

  it('learns from the training items only: the labels of the searched gallery change nothing', () => {
    const train = training(60, 3);
    const options = { pair: 'siamese-concat', hidden: 16, epochs: 5 };
    const base = state(train, 10);
    const relabelled = { ...base, galleryLabels: [...base.galleryLabels!].reverse() };
    const a = create(rerank, options).apply(base, exactSearchContext(DIM));
    const b = create(rerank, options).apply(
      { ...relabelled, training: { ...train, vectors: train.vectors.slice() } },
      exactSearchContext(DIM),
    );
    expect(b.neighbours).toEqual(a.neighbours);
    expect(() => create(rerank, options).apply({ ...base, training: undefined }, exactSearchContext(DIM))).toThrow(
      /no training vectors/,
    );
  });

  it('keeps its pair model across applies and leaks no tensor; siamese-cosine and weight 0 keep the order', () => {
    const train = training(60, 4);
    const base = state(train, 10);
    const processor = create(rerank, { pair: 'siamese-difference', hidden: 8, epochs: 3 });
    processor.apply(base, exactSearchContext(DIM));
    const tensors = tf.memory().numTensors;
    processor.apply(base, exactSearchContext(DIM));
    expect(tf.memory().numTensors).toBe(tensors);
    const fresh = { ...train, vectors: train.vectors.slice() };
    processor.apply({ ...base, training: fresh }, exactSearchContext(DIM));
    // A new pair model: its four variables (hidden and output weights and biases) and nothing else.
    expect(tf.memory().numTensors).toBe(tensors + 4);
    const cosine = create(rerank, { pair: 'siamese-cosine' }).apply(base, exactSearchContext(DIM));
    cosine.neighbours.forEach((row, q) => {
      expect(row.indices).toEqual(base.neighbours[q]!.indices);
      row.similarities.forEach((s, r) => expect(s).toBeCloseTo(base.neighbours[q]!.similarities[r]!, 5));
    });
    expect(create(rerank, { weight: 0 }).apply(base, exactSearchContext(DIM))).toBe(base);
    // Built when the run checks its chain, before any training: an unknown pair model is refused there.
    expect(() => create(rerank, { pair: 'siamese-triplet' })).toThrow(/unknown pair model "siamese-triplet"/);
  });
});
