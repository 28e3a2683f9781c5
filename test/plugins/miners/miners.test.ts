import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddingLoss, LossFactory, Miner, PairMiner, TripletMiner } from '../../../core/contracts/loss.js';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { createObjective } from '../../../core/losses/objective.js';
import { l2, mean, negativesOf, positivesOf, randomBatch, range, relu, type Matrix } from '../losses/float64.js';
import { checkGradient, expectNoLeak } from '../losses/helpers.js';
import { expectLargeBatch, expectNoLeakOver100Steps, expectRelativelyClose, lossValue } from '../losses/loss-checks.js';

const X: Matrix = randomBatch(12, 6, 3);
const LABELS = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3];
const B = X.length;
const D = range(B).map((i) => range(B).map((j) => (i === j ? 1e-6 : l2(X[i]!, X[j]!))));
const isPositive = (i: number, j: number) => j !== i && LABELS[i] === LABELS[j];
const isNegative = (i: number, j: number) => LABELS[i] !== LABELS[j];
type Triplet = readonly [number, number, number];
const allTriplets: Triplet[] = range(B).flatMap((i) =>
  positivesOf(LABELS, i).flatMap((j) => negativesOf(LABELS, i).map((k) => [i, j, k] as const)),
);

/** What a triplet miner selects on the whole batch (one chunk), as a list of (i, j, k). */
function tripletSelection(miner: TripletMiner, margin = 0.1): Triplet[] {
  const mask = tf.tidy(() => {
    const d = tf.tensor2d(D);
    const positive = tf.tensor2d(range(B).map((i) => range(B).map((j) => (isPositive(i, j) ? 1 : 0))));
    const negative = tf.tensor2d(range(B).map((i) => range(B).map((j) => (isNegative(i, j) ? 1 : 0))));
    const valid = positive.reshape([B, B, 1]).mul(negative.reshape([B, 1, B])) as tf.Tensor3D;
    return miner
      .select({ ap: d.reshape([B, B, 1]), an: d.reshape([B, 1, B]), valid, margin, distances: d, start: 0, dim: 6 })
      .arraySync();
  });
  return allTriplets.filter(([i, j, k]) => mask[i]![j]![k]! > 0.5);
}

function pairSelection(miner: PairMiner): { positive: [number, number][]; negative: [number, number][] } {
  const { positive, negative } = tf.tidy(() => {
    const masks = miner.select(
      tf.tensor2d(D),
      tf.tensor2d(range(B).map((i) => range(B).map((j) => (isPositive(i, j) ? 1 : 0)))),
      tf.tensor2d(range(B).map((i) => range(B).map((j) => (isNegative(i, j) ? 1 : 0)))),
    );
    return { positive: masks.positive.arraySync(), negative: masks.negative.arraySync() };
  });
  const pairs = (mask: number[][]) =>
    range(B).flatMap((i) =>
      range(B)
        .filter((j) => mask[i]![j]! > 0.5)
        .map((j) => [i, j] as [number, number]),
    );
  return { positive: pairs(positive), negative: pairs(negative) };
}

describe('miners: selections recomputed in float64, used by losses end to end', () => {
  let app: Simkit;
  const miner = <T extends Miner>(name: string, options: object = {}) =>
    app.registry<Miner>('Miner').create(name, options) as T;
  beforeAll(async () => {
    await initEngine('cpu');
    app = await Simkit.create();
  });

  it('triplet-margin: t = d_an − d_ap against its own margin, for each type (PML TripletMarginMiner)', () => {
    const t = ([i, j, k]: Triplet) => D[i]![k]! - D[i]![j]!;
    const m = 0.15;
    const expected = {
      all: (v: number) => v <= m,
      hard: (v: number) => v <= 0,
      'semi-hard': (v: number) => v > 0 && v <= m,
      easy: (v: number) => v > m,
    };
    for (const [type, keep] of Object.entries(expected)) {
      const selected = tripletSelection(miner('triplet-margin', { margin: m, type }), 0.9);
      expect(selected, type).toEqual(allTriplets.filter((x) => keep(t(x))));
      expect(selected.length, type).toBeGreaterThan(0);
    }
    expect(() => miner('triplet-margin', { type: 'medium' })).toThrow(/unknown type "medium"/);
  });

  it('batch-easy-hard: per anchor the nearest (easy) or farthest (hard) positive with the hard, semi-hard or easy negative', () => {
    for (const positives of ['easy', 'hard'] as const) {
      for (const negatives of ['hard', 'semi-hard', 'easy'] as const) {
        const expected = range(B).flatMap((i) => {
          const ps = positivesOf(LABELS, i);
          const j = ps.reduce((a, b) =>
            (positives === 'hard' ? D[i]![b]! > D[i]![a]! : D[i]![b]! < D[i]![a]!) ? b : a,
          );
          const ns = negativesOf(LABELS, i).filter((k) => negatives !== 'semi-hard' || D[i]![k]! > D[i]![j]!);
          if (!ns.length) return [];
          const k = ns.reduce((a, b) =>
            (negatives === 'easy' ? D[i]![b]! > D[i]![a]! : D[i]![b]! < D[i]![a]!) ? b : a,
          );
          return [[i, j, k] as const];
        });
        expect(
          tripletSelection(miner('batch-easy-hard', { positives, negatives })),
          `${positives}/${negatives}`,
        ).toEqual(expected);
      }
    }
  });

  it('angular: the angle at the negative, tan ∠n = d_ap / (2‖x_n − x_c‖), above angleDegrees (PML AngularMiner)', () => {
    const unit = (v: number[]) => v.map((x) => x / Math.hypot(...v));
    const U = X.map(unit);
    const angle = ([i, j, k]: Triplet) => {
      const centre = U[i]!.map((x, q) => (x + U[j]![q]!) / 2);
      const toCentre = Math.hypot(...U[k]!.map((x, q) => x - centre[q]!));
      return (Math.atan(D[i]![j]! / (2 * toCentre)) * 180) / Math.PI;
    };
    for (const degrees of [20, 35]) {
      const expected = allTriplets.filter((x) => angle(x) > degrees);
      expect(expected.length).toBeGreaterThan(0);
      expect(tripletSelection(miner('angular', { angleDegrees: degrees }))).toEqual(expected);
    }
  });

  it('distance-weighted: one negative per positive pair, never beyond nonzeroLossCutoff; draws follow 1/q(d)', () => {
    const dw = miner<TripletMiner>('distance-weighted', { cutoff: 0.5, nonzeroLossCutoff: 1.4 });
    const counts = new Map<string, number>();
    const draws = 300;
    for (let draw = 0; draw < draws; draw++) {
      const selected = tripletSelection(dw);
      for (const i of range(B))
        for (const j of positivesOf(LABELS, i))
          expect(selected.filter(([a, p]) => a === i && p === j).length).toBeLessThanOrEqual(1);
      for (const [i, , k] of selected) {
        expect(D[i]![k]!).toBeLessThan(1.4);
        counts.set(`${i},${k}`, (counts.get(`${i},${k}`) ?? 0) + 1);
      }
    }
    // Anchor 0: the share of draws of each eligible negative against 1/q(d) normalised, n = 6.
    const n = 6;
    const eligible = negativesOf(LABELS, 0).filter((k) => D[0]![k]! < 1.4);
    const weight = (d: number) => {
      const c = Math.min(Math.max(d, 0.5), 1.99);
      return Math.exp((2 - n) * Math.log(c) - ((n - 3) / 2) * Math.log(1 - (c * c) / 4));
    };
    const total = eligible.reduce((s, k) => s + weight(D[0]![k]!), 0);
    const drawn = eligible.reduce((s, k) => s + (counts.get(`0,${k}`) ?? 0), 0);
    for (const k of eligible)
      expect(Math.abs((counts.get(`0,${k}`) ?? 0) / drawn - weight(D[0]![k]!) / total), `negative ${k}`).toBeLessThan(
        0.08,
      );
  });

  it('multi-similarity miner: negatives with d < max positive d + ε, positives with d > min negative d − ε (PML MultiSimilarityMiner)', () => {
    const epsilon = 0.1;
    const selected = pairSelection(miner('multi-similarity', { epsilon }));
    const farthest = (i: number) => Math.max(...positivesOf(LABELS, i).map((j) => D[i]![j]!));
    const nearest = (i: number) => Math.min(...negativesOf(LABELS, i).map((k) => D[i]![k]!));
    expect(selected.negative).toEqual(
      range(B).flatMap((i) =>
        negativesOf(LABELS, i)
          .filter((k) => D[i]![k]! < farthest(i) + epsilon)
          .map((k) => [i, k]),
      ),
    );
    expect(selected.positive).toEqual(
      range(B).flatMap((i) =>
        positivesOf(LABELS, i)
          .filter((j) => D[i]![j]! > nearest(i) - epsilon)
          .map((j) => [i, j]),
      ),
    );
    expect(selected.negative.length).toBeGreaterThan(0);
  });

  it('hdc: the hardest share of positive pairs (largest d) and of negative pairs (smallest d) over the batch', () => {
    const positives = range(B).flatMap((i) => positivesOf(LABELS, i).map((j) => [i, j] as [number, number]));
    const negatives = range(B).flatMap((i) => negativesOf(LABELS, i).map((j) => [i, j] as [number, number]));
    for (const share of [0.5, 0.2]) {
      const selected = pairSelection(miner('hdc', { filterPercentage: share }));
      const hardest = (pairs: [number, number][], largest: boolean) => {
        const sorted = [...pairs].sort((a, b) =>
          largest ? D[b[0]]![b[1]]! - D[a[0]]![a[1]]! : D[a[0]]![a[1]]! - D[b[0]]![b[1]]!,
        );
        const cut =
          D[sorted[Math.ceil(share * pairs.length) - 1]![0]]![sorted[Math.ceil(share * pairs.length) - 1]![1]]!;
        return pairs.filter(([i, j]) => (largest ? D[i]![j]! >= cut : D[i]![j]! <= cut));
      };
      expect(selected.positive).toEqual(hardest(positives, true));
      expect(selected.negative).toEqual(hardest(negatives, false));
    }
    expect(() => miner('hdc', { filterPercentage: 0 })).toThrow(/filterPercentage/);
  });

  it('uniform-histogram: at most k pairs from each of the equal distance bins, every non-empty bin represented', () => {
    const bins = 4;
    const selected = pairSelection(miner('uniform-histogram', { bins, positivesPerBin: 2, negativesPerBin: 3 }));
    const check = (pairs: [number, number][], all: [number, number][], perBin: number) => {
      const values = all.map(([i, j]) => D[i]![j]!);
      const [low, high] = [Math.min(...values), Math.max(...values)];
      const bin = ([i, j]: [number, number]) =>
        Math.min(bins - 1, Math.floor((D[i]![j]! - low) / ((high - low) / bins)));
      for (const b of range(bins)) {
        const available = all.filter((p) => bin(p) === b).length;
        expect(pairs.filter((p) => bin(p) === b).length, `bin ${b}`).toBe(Math.min(perBin, available));
      }
    };
    check(
      selected.positive,
      range(B).flatMap((i) => positivesOf(LABELS, i).map((j) => [i, j] as [number, number])),
      2,
    );
    check(
      selected.negative,
      range(B).flatMap((i) => negativesOf(LABELS, i).map((j) => [i, j] as [number, number])),
      3,
    );
  });

  it('every miner in a loss: triplet miners with triplet, pair miners with contrastive; no leaks over 100 steps', () => {
    const value = lossValue(
      app,
      { name: 'contrastive', options: { negativeMargin: 1.2 }, miner: 'multi-similarity', numClasses: 4 },
      X,
      LABELS,
    );
    const selected = pairSelection(miner('multi-similarity'));
    const expected =
      mean(selected.positive.map(([i, j]) => D[i]![j]!).filter((v) => v > 1e-12)) +
      mean(selected.negative.map(([i, k]) => relu(1.2 - D[i]![k]!)).filter((v) => v > 1e-12));
    expectRelativelyClose(value, expected, 'contrastive + multi-similarity miner');
    for (const name of ['triplet-margin', 'batch-easy-hard', 'angular', 'distance-weighted'])
      expectNoLeakOver100Steps(
        app,
        { name: 'triplet', options: { distance: 'l2' }, miner: name, numClasses: 4 },
        X,
        LABELS,
      );
    for (const name of ['multi-similarity', 'hdc', 'uniform-histogram'])
      expectNoLeakOver100Steps(app, { name: 'contrastive', miner: name, numClasses: 4 }, X, LABELS);
  });

  it('B = 512 with every miner, no B³ memory (wasm)', async () => {
    await initEngine('wasm');
    try {
      for (const name of ['triplet-margin', 'batch-easy-hard', 'angular', 'distance-weighted'])
        expectLargeBatch(app, { name: 'triplet', options: { distance: 'l2' }, miner: name, numClasses: 64 });
      for (const name of ['multi-similarity', 'hdc', 'uniform-histogram'])
        expectLargeBatch(app, { name: 'contrastive', miner: name, numClasses: 64 });
    } finally {
      await initEngine('cpu');
    }
  }, 300_000);
});

describe('cross-batch memory', () => {
  let app: Simkit;
  beforeAll(async () => {
    await initEngine('cpu');
    app = await Simkit.create();
  });
  const xbm = (memorySize: number, loss: object | string = { name: 'contrastive', options: { negativeMargin: 1.2 } }) =>
    app.registry<LossFactory>('Loss').create('cross-batch-memory', { loss, memorySize })({
      embeddingDim: 6,
      numClasses: 4,
      lossNamed: (name, options) => app.registry<LossFactory>('Loss').create(name, options),
    }) as EmbeddingLoss;
  const compute = (loss: EmbeddingLoss, x: Matrix, labels: number[]) =>
    tf.tidy(() => loss.compute(tf.tensor2d(x), tf.tensor1d(labels, 'int32')).arraySync());
  const contrastive64 = (rows: Matrix, labels: number[]) => {
    const d = (i: number, j: number) => l2(rows[i]!, rows[j]!);
    const pairs = range(rows.length).flatMap((i) =>
      range(rows.length)
        .filter((j) => j !== i)
        .map((j) => [i, j] as const),
    );
    return (
      mean(
        pairs
          .filter(([i, j]) => labels[i] === labels[j])
          .map(([i, j]) => d(i, j))
          .filter((v) => v > 1e-12),
      ) +
      mean(
        pairs
          .filter(([i, j]) => labels[i] !== labels[j])
          .map(([i, j]) => relu(1.2 - d(i, j)))
          .filter((v) => v > 1e-12),
      )
    );
  };

  it('the wrapped loss on the batch plus the queued past batches, oldest dropped first', () => {
    const [first, second, third] = [X.slice(0, 4), X.slice(4, 8), X.slice(8, 12)];
    const [l1, l2_, l3] = [
      [0, 0, 1, 1],
      [1, 2, 2, 0],
      [3, 3, 0, 2],
    ];
    const loss = xbm(6);
    expectRelativelyClose(compute(loss, first, l1), contrastive64(first, l1), 'empty memory');
    expectRelativelyClose(
      compute(loss, second, l2_),
      contrastive64([...second, ...first], [...l2_, ...l1]),
      'one batch queued',
    );
    // Memory of 6: the second batch and the newest two rows of the first... the queue holds [second, first[0..1]].
    expectRelativelyClose(
      compute(loss, third, l3),
      contrastive64([...third, ...second, ...first.slice(0, 2)], [...l3, ...l2_, ...l1.slice(0, 2)]),
      'queue full',
    );
    loss.dispose();
  });

  it('gradient: finite differences with the memory held constant; no leak; refuses non-embedding losses', () => {
    const prefill = X.slice(6, 12);
    const made: EmbeddingLoss[] = [];
    checkGradient(
      (x) => {
        const loss = xbm(6);
        made.push(loss);
        tf.tidy(() => loss.compute(tf.tensor2d(prefill), tf.tensor1d([0, 1, 2, 3, 0, 1], 'int32')));
        return loss.compute(x, tf.tensor1d([0, 0, 1, 1, 2, 3], 'int32'));
      },
      X.slice(0, 6),
    );
    made.forEach((loss) => loss.dispose());
    const objective = createObjective(
      app,
      { loss: 'cross-batch-memory', lossOptions: { loss: 'triplet', memorySize: 20 }, miner: 'semi-hard' },
      { embeddingDim: 6, numClasses: 4 },
    );
    expect(objective.description).toBe('cross-batch-memory (semi-hard)');
    const variable = tf.variable(tf.tensor2d(X));
    const y = tf.tensor1d(LABELS, 'int32');
    const optimizer = tf.train.sgd(0.01);
    expectNoLeak(
      () =>
        optimizer.minimize(() => objective.loss({ kind: 'labels', embeddings: variable, labels: y }), false, [
          variable,
        ]),
      'xbm',
    );
    tf.dispose([variable, y]);
    objective.dispose();
    optimizer.dispose();
    expect(() => xbm(8, 'cross-entropy')).toThrow(/works on logits/);
    expect(() => xbm(8, 'no-such-loss')).toThrow(/unknown loss "no-such-loss"/);
    expect(() => app.registry<LossFactory>('Loss').create('cross-batch-memory', { size: 3 })).toThrow(
      /has no option "size"/,
    );
  });

  it('B = 512 with a full memory of 1024, contrastive: finite, no B³ (or (B+M)³) memory (wasm)', async () => {
    await initEngine('wasm');
    try {
      const loss = app
        .registry<LossFactory>('Loss')
        .create('cross-batch-memory', { loss: 'contrastive', memorySize: 1024 })({
        embeddingDim: 128,
        numClasses: 64,
        lossNamed: (name, options) => app.registry<LossFactory>('Loss').create(name, options),
      }) as EmbeddingLoss;
      const y = tf.tensor1d(
        Array.from({ length: 512 }, (_, i) => i % 64),
        'int32',
      );
      for (const seed of [1, 2]) tf.tidy(() => loss.compute(tf.randomNormal([512, 128], 0, 1, 'float32', seed), y));
      const x = tf.variable(tf.randomNormal([512, 128], 0, 1, 'float32', 3));
      const before = tf.memory().numBytes;
      let held = 0;
      const { value, grads } = tf.variableGrads(() => {
        const result = loss.compute(x as tf.Tensor2D, y);
        held = tf.memory().numBytes - before;
        return result;
      }, [x]);
      expect(Number.isFinite(value.arraySync())).toBe(true);
      expect(grads[x.name]!.dataSync().every(Number.isFinite)).toBe(true);
      // (B + M)² = 2.4 M floats per matrix; (B + M)³ would be 3.6 G.
      expect(held).toBeLessThan(64 * 1536 * 1536 * 4);
      tf.dispose([value, x, y, ...Object.values(grads)]);
      loss.dispose();
    } finally {
      await initEngine('cpu');
    }
  }, 120_000);
});
