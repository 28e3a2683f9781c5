import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type {
  EmbeddingLoss,
  LogitLoss,
  LossFactory,
  Miner,
  ObjectiveBatch,
  PairLoss,
  ViewLoss,
} from '../../../core/contracts/loss.js';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { createObjective } from '../../../core/losses/objective.js';
import { Random } from '../../../core/random.js';
import { checkGradient, expectNoLeak, unitRows } from './helpers.js';

// Five unit vectors, classes [0, 0, 1, 1, 2].
const RAW = [
  [1, 0.2, 0],
  [0.9, 0.4, 0.1],
  [0, 1, 0.3],
  [0.5, 0.8, 0],
  [0.1, -0.2, 1],
];
const E = RAW.map((v) => v.map((x) => x / Math.hypot(...v)));
const LABELS = [0, 0, 1, 1, 2];
const B = E.length;
const cos = (i: number, j: number) => E[i]!.reduce((s, x, k) => s + x * E[j]![k]!, 0);
const dist = (i: number, j: number, kind: 'cosine' | 'l2') =>
  kind === 'cosine' ? 1 - cos(i, j) : Math.sqrt(Math.max(2 - 2 * cos(i, j), 0) + 1e-12);
const relu = (x: number) => Math.max(0, x);
const softplus = (x: number) => Math.log1p(Math.exp(x));
const pairs = () =>
  [...Array(B).keys()].flatMap((i) => [...Array(B).keys()].filter((j) => j !== i).map((j) => [i, j] as const));
const triplets = () =>
  pairs()
    .filter(([i, j]) => LABELS[i] === LABELS[j])
    .flatMap(([i, j]) => [...Array(B).keys()].filter((k) => LABELS[k] !== LABELS[i]).map((k) => [i, j, k] as const));
const meanNonZero = (values: number[]) => {
  const nz = values.filter((v) => v > 1e-12);
  return nz.length ? nz.reduce((s, v) => s + v, 0) / nz.length : 0;
};

let app: Simkit;
const loss = <T>(name: string, options: object = {}, miner?: string): T =>
  app.registry<LossFactory>('Loss').create(name, options)({
    embeddingDim: 3,
    numClasses: 3,
    miner: miner ? app.registry<Miner>('Miner').create(miner) : undefined,
  }) as T;
const value = (f: () => tf.Scalar) => tf.tidy(() => f().arraySync());
const embeddings = () => tf.tensor2d(E);
const labels = () => tf.tensor1d(LABELS, 'int32');

describe('losses recomputed with float64 loops', () => {
  beforeAll(async () => {
    await initEngine('cpu');
    app = await Simkit.create();
  });

  it('contrastive: relu(d − m_pos) over same-label pairs plus relu(m_neg − d) over the others, each averaged over non-zero terms', () => {
    for (const distance of ['l2', 'cosine'] as const) {
      const expected =
        meanNonZero(
          pairs()
            .filter(([i, j]) => LABELS[i] === LABELS[j])
            .map(([i, j]) => relu(dist(i, j, distance) - 0.05)),
        ) +
        meanNonZero(
          pairs()
            .filter(([i, j]) => LABELS[i] !== LABELS[j])
            .map(([i, j]) => relu(0.8 - dist(i, j, distance))),
        );
      const l = loss<EmbeddingLoss>('contrastive', { positiveMargin: 0.05, negativeMargin: 0.8, distance });
      expect(value(() => l.compute(embeddings(), labels()))).toBeCloseTo(expected, 4);
    }
  });

  it('triplet: all triplets, soft margin, and each miner', () => {
    const m = 0.3;
    const t = (i: number, j: number, k: number) => dist(i, j, 'cosine') - dist(i, k, 'cosine');
    expect(value(() => loss<EmbeddingLoss>('triplet', { margin: m }).compute(embeddings(), labels()))).toBeCloseTo(
      meanNonZero(triplets().map(([i, j, k]) => relu(t(i, j, k) + m))),
      4,
    );
    const soft = triplets().map(([i, j, k]) => softplus(t(i, j, k)));
    expect(
      value(() => loss<EmbeddingLoss>('triplet', { softMargin: true }).compute(embeddings(), labels())),
    ).toBeCloseTo(soft.reduce((s, v) => s + v, 0) / soft.length, 4);
    const semiHard = triplets().filter(([i, j, k]) => t(i, j, k) < 0 && t(i, j, k) > -m);
    expect(semiHard.length).toBeGreaterThan(0);
    expect(
      value(() => loss<EmbeddingLoss>('triplet', { margin: m }, 'semi-hard').compute(embeddings(), labels())),
    ).toBeCloseTo(meanNonZero(semiHard.map(([i, j, k]) => relu(t(i, j, k) + m))), 4);
    const hard = triplets().filter(([i, j, k]) => t(i, j, k) > 0);
    expect(
      value(() => loss<EmbeddingLoss>('triplet', { margin: m }, 'hard').compute(embeddings(), labels())),
    ).toBeCloseTo(meanNonZero(hard.map(([i, j, k]) => relu(t(i, j, k) + m))), 4);
    const batchHard = [...Array(B).keys()].flatMap((i) => {
      const positives = [...Array(B).keys()].filter((j) => j !== i && LABELS[j] === LABELS[i]);
      const negatives = [...Array(B).keys()].filter((k) => LABELS[k] !== LABELS[i]);
      if (!positives.length) return [];
      const j = positives.reduce((a, b) => (dist(i, b, 'cosine') > dist(i, a, 'cosine') ? b : a));
      const k = negatives.reduce((a, b) => (dist(i, b, 'cosine') < dist(i, a, 'cosine') ? b : a));
      return [relu(t(i, j, k) + m)];
    });
    expect(
      value(() => loss<EmbeddingLoss>('triplet', { margin: m }, 'batch-hard').compute(embeddings(), labels())),
    ).toBeCloseTo(meanNonZero(batchHard), 4);
  });

  it('hinge: max(0, m − y·(τ − d)) averaged over all ordered pairs', () => {
    const expected = pairs().map(([i, j]) =>
      relu(0.1 - (LABELS[i] === LABELS[j] ? 1 : -1) * (0.4 - dist(i, j, 'cosine'))),
    );
    expect(
      value(() => loss<EmbeddingLoss>('hinge', { threshold: 0.4, margin: 0.1 }).compute(embeddings(), labels())),
    ).toBeCloseTo(expected.reduce((s, v) => s + v, 0) / expected.length, 4);
  });

  it('margin loss: learnable β, distance-weighted negatives normalised per anchor', () => {
    const [alpha, beta, cutoff, n] = [0.2, 0.9, 0.5, 3];
    let total = 0;
    let active = 0;
    for (let i = 0; i < B; i++) {
      const negatives = [...Array(B).keys()].filter((k) => LABELS[k] !== LABELS[i]);
      const logW = negatives.map((k) => {
        const d = Math.min(Math.max(dist(i, k, 'l2'), cutoff), 1.99);
        return -(n - 2) * Math.log(d) - ((n - 3) / 2) * Math.log(1 - (d * d) / 4);
      });
      const max = Math.max(...logW);
      const sum = logW.reduce((s, w) => s + Math.exp(w - max), 0);
      negatives.forEach((k, r) => {
        const l = relu(alpha + beta - dist(i, k, 'l2')) * (Math.exp(logW[r]! - max) / sum) * negatives.length;
        total += l;
        if (l > 1e-12) active += 1;
      });
      for (const j of [...Array(B).keys()].filter((j) => j !== i && LABELS[j] === LABELS[i])) {
        const l = relu(alpha + dist(i, j, 'l2') - beta);
        total += l;
        if (l > 1e-12) active += 1;
      }
    }
    const l = loss<EmbeddingLoss>('margin', { alpha, initialBeta: beta, cutoff });
    expect(value(() => l.compute(embeddings(), labels()))).toBeCloseTo(total / active, 4);
    expect(l.variables()[0]!.shape).toEqual([3]);
    l.dispose();
  });

  it('NT-Xent: −log softmax over the 2B views, twin as the positive, self excluded', () => {
    const a = E.slice(0, 3);
    const b = E.slice(2, 5);
    const views = [...a, ...b];
    const tau = 0.5;
    let total = 0;
    views.forEach((v, i) => {
      const sims = views.map((w, j) => (j === i ? -Infinity : v.reduce((s, x, k) => s + x * w[k]!, 0) / tau));
      const max = Math.max(...sims);
      const logSum = max + Math.log(sims.reduce((s, x) => s + Math.exp(x - max), 0));
      total -= sims[(i + 3) % 6]! - logSum;
    });
    const l = loss<ViewLoss>('nt-xent', { temperature: tau });
    expect(value(() => l.compute(tf.tensor2d(a), tf.tensor2d(b)))).toBeCloseTo(total / 6, 4);
  });

  it('binary cross-entropy = logistic loss; focal loss down-weights easy classes', () => {
    const z = [
      [2, -1, 0.5],
      [-3, 0.2, 4],
    ];
    const y = [1, 2];
    const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
    const bce = z.flatMap((row, i) =>
      row.map((x, c) => (c === y[i] ? -Math.log(sigmoid(x)) : -Math.log(1 - sigmoid(x)))),
    );
    const logisticTerms = z.flatMap((row, i) => row.map((x, c) => Math.log1p(Math.exp(-(c === y[i] ? 1 : -1) * x))));
    const focalTerms = z.flatMap((row, i) =>
      row.map((x, c) => {
        const p = sigmoid(x);
        const positive = c === y[i];
        const pt = positive ? p : 1 - p;
        return (positive ? 0.25 : 0.75) * (1 - pt) ** 2 * -Math.log(pt);
      }),
    );
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    const run = (name: string) => value(() => loss<LogitLoss>(name).compute(tf.tensor2d(z), tf.tensor1d(y, 'int32')));
    expect(run('binary-cross-entropy')).toBeCloseTo(mean(bce), 5);
    expect(run('logistic')).toBeCloseTo(mean(logisticTerms), 5);
    expect(run('focal')).toBeCloseTo(mean(focalTerms), 5);
  });

  it('siamese heads: concat is asymmetric unless symmetric, |a−b| and cosine regression by formula', () => {
    const w = [0.3, -0.2, 0.5, -0.4, 0.1, 0.2];
    const a = [E[0]!, E[2]!];
    const b = [E[1]!, E[4]!];
    const target = [1, 0];
    const sigmoidBce = (logit: number, t: number) =>
      Math.max(logit, 0) - logit * t + Math.log1p(Math.exp(-Math.abs(logit)));
    const concatLogit = (x: number[], y: number[]) => [...x, ...y].reduce((s, v, k) => s + v * w[k]!, 0) + 0.1;
    const run = (l: PairLoss, x: number[][], y: number[][]) =>
      value(() => l.compute(tf.tensor2d(x), tf.tensor2d(y), tf.tensor1d(target)));
    const concat = loss<PairLoss>('siamese-concat', { hidden: 0 });
    concat.setWeights({ weight: tf.tensor2d(w, [6, 1]), bias: tf.tensor1d([0.1]) });
    const expected = (x: number[][], y: number[][]) =>
      (sigmoidBce(concatLogit(x[0]!, y[0]!), 1) + sigmoidBce(concatLogit(x[1]!, y[1]!), 0)) / 2;
    expect(run(concat, a, b)).toBeCloseTo(expected(a, b), 5);
    expect(run(concat, b, a)).toBeCloseTo(expected(b, a), 5);
    expect(Math.abs(run(concat, a, b) - run(concat, b, a))).toBeGreaterThan(1e-3);
    const symmetric = loss<PairLoss>('siamese-concat', { symmetric: true, hidden: 0 });
    symmetric.setWeights({ weight: tf.tensor2d(w, [6, 1]), bias: tf.tensor1d([0.1]) });
    expect(run(symmetric, a, b)).toBeCloseTo(run(symmetric, b, a), 6);
    // With a hidden layer (the default for concat): z = relu([a ; b]·W₁ + b₁)·w + b.
    const w1 = [...Array(6).keys()].map((i) => [0.4 - 0.1 * i, 0.05 * i - 0.2]);
    const [b1, w2] = [
      [0.1, -0.05],
      [0.7, -0.3],
    ];
    const hiddenLogit = (x: number[], y: number[]) => {
      const h = [0, 1].map((u) => relu([...x, ...y].reduce((sum, v, k) => sum + v * w1[k]![u]!, 0) + b1[u]!));
      return h[0]! * w2[0]! + h[1]! * w2[1]! - 0.2;
    };
    const twoLayer = loss<PairLoss>('siamese-concat', { hidden: 2 });
    twoLayer.setWeights({
      hiddenweight: tf.tensor2d(w1),
      hiddenbias: tf.tensor1d(b1),
      weight: tf.tensor2d(w2, [2, 1]),
      bias: tf.tensor1d([-0.2]),
    });
    expect(run(twoLayer, a, b)).toBeCloseTo(
      (sigmoidBce(hiddenLogit(a[0]!, b[0]!), 1) + sigmoidBce(hiddenLogit(a[1]!, b[1]!), 0)) / 2,
      5,
    );
    twoLayer.dispose();
    const difference = loss<PairLoss>('siamese-difference');
    difference.setWeights({ weight: tf.tensor2d(w.slice(0, 3), [3, 1]), bias: tf.tensor1d([0]) });
    const diffLogit = (x: number[], y: number[]) => x.reduce((s, v, k) => s + Math.abs(v - y[k]!) * w[k]!, 0);
    expect(run(difference, a, b)).toBeCloseTo(
      (sigmoidBce(diffLogit(a[0]!, b[0]!), 1) + sigmoidBce(diffLogit(a[1]!, b[1]!), 0)) / 2,
      5,
    );
    const cosine = loss<PairLoss>('siamese-cosine');
    const c = (x: number[], y: number[]) => x.reduce((s, v, k) => s + v * y[k]!, 0);
    expect(run(cosine, a, b)).toBeCloseTo(((c(a[0]!, b[0]!) - 1) ** 2 + (c(a[1]!, b[1]!) - 0) ** 2) / 2, 5);
    [concat, symmetric, difference].forEach((l) => l.dispose());
  });

  it('pair-margin miner: contrastive and hinge over positives with d > m_pos and negatives with d < m_neg', () => {
    const [mPos, mNeg] = [0.25, 0.9];
    const kept = (i: number, j: number) =>
      LABELS[i] === LABELS[j] ? dist(i, j, 'cosine') > mPos : dist(i, j, 'cosine') < mNeg;
    const minedPairs = pairs().filter(([i, j]) => kept(i, j));
    expect(minedPairs.length).toBeGreaterThan(0);
    expect(minedPairs.length).toBeLessThan(pairs().length);
    const expectedContrastive =
      meanNonZero(
        minedPairs.filter(([i, j]) => LABELS[i] === LABELS[j]).map(([i, j]) => relu(dist(i, j, 'cosine') - 0.1)),
      ) +
      meanNonZero(
        minedPairs.filter(([i, j]) => LABELS[i] !== LABELS[j]).map(([i, j]) => relu(1 - dist(i, j, 'cosine'))),
      );
    const minerOptions = { positiveMargin: mPos, negativeMargin: mNeg };
    const mined = (name: string, options: object) =>
      app.registry<LossFactory>('Loss').create(name, options)({
        embeddingDim: 3,
        numClasses: 3,
        miner: app.registry<Miner>('Miner').create('pair-margin', minerOptions),
      }) as EmbeddingLoss;
    expect(
      value(() => mined('contrastive', { positiveMargin: 0.1, distance: 'cosine' }).compute(embeddings(), labels())),
    ).toBeCloseTo(expectedContrastive, 4);
    const hingeTerms = minedPairs.map(([i, j]) =>
      relu(0.1 - (LABELS[i] === LABELS[j] ? 1 : -1) * (0.4 - dist(i, j, 'cosine'))),
    );
    expect(value(() => mined('hinge', { threshold: 0.4, margin: 0.1 }).compute(embeddings(), labels()))).toBeCloseTo(
      hingeTerms.reduce((s, v) => s + v, 0) / hingeTerms.length,
      4,
    );
  });

  it('a miner of the wrong kind, or on a loss without pairs or triplets, is refused', () => {
    expect(() => loss('triplet', {}, 'pair-margin')).toThrow(/triplet miner/);
    expect(() => loss('contrastive', {}, 'semi-hard')).toThrow(/pair miner/);
    expect(() =>
      createObjective(app, { loss: 'nt-xent', miner: 'semi-hard' }, { embeddingDim: 3, numClasses: 3 }),
    ).toThrow(/nothing to select/);
    expect(() => createObjective(app, { head: 'arcface', miner: 'hard' }, { embeddingDim: 3, numClasses: 3 })).toThrow(
      /nothing to select/,
    );
    expect(() =>
      createObjective(app, { loss: 'triplet', head: 'arcface' }, { embeddingDim: 3, numClasses: 3 }),
    ).toThrow(/not on a head/);
  });

  it('triplets of a batch larger than one chunk of anchors (L2, all, semi-hard, easy, batch-hard) match float64 loops', () => {
    const random = new Random(5);
    const n = 30;
    const chunkEntries = 7 * n * n; // 7 anchors per chunk: five chunks, the last one short
    const y = Array.from({ length: n }, (_, i) => i % 4);
    const points = Array.from({ length: n }, (_, i) =>
      Array.from({ length: 4 }, (_, k) => (k === y[i]! ? 1 : 0) + random.uniform(-0.8, 0.8)),
    );
    const unitPoints = points.map((v) => v.map((x) => x / Math.hypot(...v)));
    const d = unitPoints.map((u) =>
      unitPoints.map((v) => Math.sqrt(Math.max(2 - 2 * u.reduce((s, x, k) => s + x * v[k]!, 0), 0) + 1e-12)),
    );
    const m = 0.2;
    const sums = { all: [0, 0], 'semi-hard': [0, 0], easy: [0, 0] } as Record<string, [number, number]>;
    const hardest: number[] = [];
    for (let i = 0; i < n; i++) {
      let [far, near] = [-1, Infinity];
      for (let j = 0; j < n; j++) if (j !== i && y[j] === y[i]) far = Math.max(far, d[i]![j]!);
      for (let k = 0; k < n; k++) if (y[k] !== y[i]) near = Math.min(near, d[i]![k]!);
      hardest.push(relu(far - near + m));
      for (let j = 0; j < n; j++) {
        if (j === i || y[j] !== y[i]) continue;
        for (let k = 0; k < n; k++) {
          if (y[k] === y[i]) continue;
          const [ap, an] = [d[i]![j]!, d[i]![k]!];
          const l = relu(ap - an + m);
          const add = (key: string) => {
            if (l > 1e-12) {
              sums[key]![0] += l;
              sums[key]![1] += 1;
            }
          };
          add('all');
          if (ap < an && an < ap + m) add('semi-hard');
          if (an > ap + m) {
            sums.easy![0] += softplus(ap - an);
            sums.easy![1] += 1;
          }
        }
      }
    }
    const run = (miner?: string, softMargin = false) =>
      value(() =>
        loss<EmbeddingLoss>('triplet', { margin: m, distance: 'l2', chunkEntries, softMargin }, miner).compute(
          tf.tensor2d(unitPoints),
          tf.tensor1d(y, 'int32'),
        ),
      );
    expect(run()).toBeCloseTo(sums.all![0] / sums.all![1], 4);
    expect(run('semi-hard')).toBeCloseTo(sums['semi-hard']![0] / sums['semi-hard']![1], 4);
    expect(sums['semi-hard']![1]).toBeGreaterThan(0);
    expect(sums['semi-hard']![1]).toBeLessThan(sums.all![1]);
    // Easy triplets have no hinge loss; with the soft margin they still count.
    expect(run('easy')).toBe(0);
    expect(run('easy', true)).toBeCloseTo(sums.easy![0] / sums.easy![1], 4);
    expect(run('batch-hard')).toBeCloseTo(meanNonZero(hardest), 4);
  });

  // Margins chosen so that every term stays active: the "mean over non-zero terms" reductions jump
  // where a term crosses zero, which finite differences would see as a huge slope.
  it('embedding and view losses: gradients match finite differences', () => {
    const x = RAW.map((row) => row.map((v) => v * 0.9 + 0.05));
    for (const [name, options, miner] of [
      ['contrastive', { negativeMargin: 2.5 }, undefined],
      ['contrastive', { negativeMargin: 2.5, distance: 'cosine' }, undefined],
      ['triplet', { margin: 2.5 }, undefined],
      ['triplet', { margin: 2.5, distance: 'l2' }, 'all-triplets'],
      ['triplet', { softMargin: true }, 'all-triplets'],
      // Several chunks of anchors: the gradient is accumulated chunk by chunk.
      ['triplet', { margin: 2.5, chunkEntries: 2 * B * B }, undefined],
      ['triplet', { softMargin: true, distance: 'l2', chunkEntries: B * B }, 'all-triplets'],
      ['hinge', { margin: 3 }, undefined],
      // A cutoff at the top of the clipping range makes every negative weight 1, so finite
      // differences see the same function tf differentiates (the weights are outside the gradient).
      ['margin', { alpha: 2, cutoff: 1.99 }, undefined],
    ] as const) {
      const l = loss<EmbeddingLoss>(name, options, miner);
      checkGradient((t) => l.compute(unitRows(t), labels()), x);
      l.dispose();
    }
    const views = loss<ViewLoss>('nt-xent');
    checkGradient(
      (t) =>
        views.compute(
          unitRows(t.slice([0, 0], [2, 3]) as tf.Tensor2D),
          unitRows(t.slice([2, 0], [2, 3]) as tf.Tensor2D),
        ),
      x.slice(0, 4),
    );
  });

  it('margin loss: the gradient of β matches finite differences', () => {
    const l = loss<EmbeddingLoss>('margin', { alpha: 0.6 });
    const beta = l.variables()[0]!;
    const start = [0.9, 1.1, 0.7];
    const at = (b: number[]) => {
      beta.assign(tf.tensor1d(b));
      return value(() => l.compute(embeddings(), labels()));
    };
    at(start);
    const analytic = tf.tidy(
      () => tf.variableGrads(() => l.compute(embeddings(), labels()), [beta]).grads[beta.name]!.arraySync() as number[],
    );
    expect(analytic.some((g) => Math.abs(g) > 1e-3)).toBe(true);
    const h = 1e-3;
    start.forEach((_, c) => {
      const shifted = (delta: number) => at(start.map((b, i) => (i === c ? b + delta : b)));
      expect(Math.abs(analytic[c]! - (shifted(h) - shifted(-h)) / (2 * h))).toBeLessThan(1e-2);
    });
    l.dispose();
  });

  it('logit and pair losses: gradients match finite differences', () => {
    const z = [
      [2, -1, 0.5],
      [-3, 0.2, 4],
      [0.1, 0.3, -0.2],
    ];
    for (const [name, options] of [
      ['cross-entropy', { labelSmoothing: 0.1 }],
      ['binary-cross-entropy', {}],
      ['logistic', {}],
      ['focal', { gamma: 2, alpha: 0.3 }],
    ] as const) {
      const l = loss<LogitLoss>(name, options);
      checkGradient((t) => l.compute(t, tf.tensor1d([1, 2, 0], 'int32')), z, 1e-2);
    }
    const x = RAW.slice(0, 4);
    const targets = () => tf.tensor1d([1, 0]);
    for (const [name, options] of [
      ['siamese-concat', {}],
      ['siamese-concat', { symmetric: true }],
      ['siamese-difference', {}],
      ['siamese-cosine', {}],
    ] as const) {
      const l = loss<PairLoss>(name, options);
      checkGradient(
        (t) =>
          l.compute(
            unitRows(t.slice([0, 0], [2, 3]) as tf.Tensor2D),
            unitRows(t.slice([2, 0], [2, 3]) as tf.Tensor2D),
            targets(),
          ),
        x,
      );
      if (l.variables().length) {
        const { grads, value: v } = tf.variableGrads(
          () => l.compute(tf.tensor2d(E.slice(0, 2)), tf.tensor2d(E.slice(2, 4)), targets()),
          l.variables(),
        );
        expect(Object.values(grads).map((g) => g.dataSync().some((x) => x !== 0))).toEqual(
          l.variables().map(() => true),
        );
        tf.dispose([v, ...Object.values(grads)]);
      }
      l.dispose();
    }
  });

  it('no NaN: one-class batch, zero vectors, no valid triplet — loss 0 with connected, finite gradients', () => {
    const one = tf.tensor1d([2, 2, 2], 'int32');
    const zeros = tf.zeros([3, 3]) as tf.Tensor2D;
    for (const [name, miner] of [
      ['contrastive'],
      ['contrastive', 'pair-margin'],
      ['triplet'],
      ['triplet', 'batch-hard'],
      ['triplet', 'semi-hard'],
      ['hinge'],
      ['hinge', 'pair-margin'],
      ['margin'],
    ] as const) {
      const l = loss<EmbeddingLoss>(name, {}, miner);
      const x = tf.tensor2d(E.slice(0, 3));
      const g = tf.grad((t: tf.Tensor) => l.compute(t as tf.Tensor2D, one))(x);
      expect(g.dataSync().every(Number.isFinite)).toBe(true);
      if (name === 'triplet') expect(value(() => l.compute(x, one))).toBe(0);
      const gz = tf.grad((t: tf.Tensor) => l.compute(t as tf.Tensor2D, tf.tensor1d([0, 1, 1], 'int32')))(zeros);
      expect(gz.dataSync().every(Number.isFinite)).toBe(true);
      tf.dispose([g, gz, x]);
      l.dispose();
    }
    // Focal loss with γ < 1 on saturated logits (σ = 1 exactly in float32, 1 − p_t = 0).
    const saturatedFocal = loss<LogitLoss>('focal', { gamma: 0.5 });
    const gFocal = tf.grad((t: tf.Tensor) => saturatedFocal.compute(t as tf.Tensor2D, tf.tensor1d([0, 1], 'int32')))(
      tf.tensor2d([
        [40, -40],
        [-40, 40],
      ]),
    );
    expect(gFocal.dataSync().every(Number.isFinite)).toBe(true);
    gFocal.dispose();
    // Views and pairs: zero vectors and identical rows (cos = 1).
    const views = loss<ViewLoss>('nt-xent');
    for (const [a, b] of [
      [zeros, zeros],
      [tf.tensor2d(E.slice(0, 3)), tf.tensor2d(E.slice(0, 3))],
    ] as const) {
      const g = tf.grads((p: tf.Tensor, q: tf.Tensor) => views.compute(p as tf.Tensor2D, q as tf.Tensor2D))([a, b]);
      expect(g.every((t) => t.dataSync().every(Number.isFinite))).toBe(true);
      for (const name of ['siamese-concat', 'siamese-difference', 'siamese-cosine']) {
        const l = loss<PairLoss>(name);
        const gp = tf.grads((p: tf.Tensor, q: tf.Tensor) =>
          l.compute(p as tf.Tensor2D, q as tf.Tensor2D, tf.tensor1d([1, 0, 1])),
        )([a, b]);
        expect(
          gp.every((t) => t.dataSync().every(Number.isFinite)),
          name,
        ).toBe(true);
        l.dispose();
      }
    }
  });

  it('no tensor leaks over 100 steps with each loss', () => {
    const variable = tf.variable(tf.tensor2d(RAW));
    const optimizer = tf.train.sgd(0.01);
    const y = labels();
    const unit = () => unitRows(variable);
    for (const [name, miner] of [
      ['contrastive'],
      ['contrastive', 'pair-margin'],
      ['triplet', 'all-triplets'],
      ['triplet', 'hard'],
      ['triplet', 'semi-hard'],
      ['triplet', 'easy'],
      ['triplet', 'batch-hard'],
      ['hinge'],
      ['margin'],
      ['cross-entropy'],
      ['focal'],
      ['binary-cross-entropy'],
      ['logistic'],
      ['nt-xent'],
      ['siamese-concat'],
      ['siamese-difference'],
      ['siamese-cosine'],
    ] as const) {
      const objective = createObjective(app, { loss: name, miner }, { embeddingDim: 3, numClasses: 3 });
      const batch = (): ObjectiveBatch => {
        const e = unit();
        const [a, b] = [e.slice([0, 0], [2, 3]) as tf.Tensor2D, e.slice([2, 0], [2, 3]) as tf.Tensor2D];
        if (objective.batch === 'views') return { kind: 'views', a, b };
        if (objective.batch === 'pairs') return { kind: 'pairs', a, b, targets: tf.tensor1d([1, 0]) };
        return { kind: 'labels', embeddings: e, labels: y };
      };
      expectNoLeak(
        () => optimizer.minimize(() => objective.loss(batch()), false, [variable, ...objective.variables()]),
        `${name} ${miner ?? ''}`,
      );
      objective.dispose();
    }
    tf.dispose([variable, y]);
    optimizer.dispose();
  });

  it('triplet loss keeps O(B²) memory for backpropagation, not the B³ triplets', () => {
    const size = 128;
    const l = loss<EmbeddingLoss>('triplet', { margin: 0.2, distance: 'l2' }, 'semi-hard');
    const x = tf.variable(tf.randomNormal([size, 3], 0, 1, 'float32', 3));
    const y = tf.tensor1d(
      Array.from({ length: size }, (_, i) => i % 8),
      'int32',
    );
    const before = tf.memory().numBytes;
    let heldByForward = 0;
    const { value: total, grads } = tf.variableGrads(() => {
      const result = l.compute(unitRows(x as tf.Tensor2D), y);
      heldByForward = tf.memory().numBytes - before;
      return result;
    }, [x]);
    expect(Number.isFinite(total.arraySync())).toBe(true);
    // All triplets of the batch would need size³·4 bytes (8.4 MB); a few B×B matrices are ~65 kB each.
    expect(heldByForward).toBeLessThan(32 * size * size * 4);
    tf.dispose([total, x, y, ...Object.values(grads)]);
  });
});
