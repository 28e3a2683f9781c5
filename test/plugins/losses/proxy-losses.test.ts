import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { createObjective } from '../../../core/losses/objective.js';
import {
  cosine,
  crossEntropy,
  logOnePlusSumExp,
  logSumExp,
  mean,
  randomBatch,
  range,
  squaredL2,
  type Matrix,
} from './float64.js';
import {
  createLoss,
  expectFiniteOnDegenerateBatches,
  expectGradient,
  expectLargeBatch,
  expectNoLeakOver100Steps,
  expectRelativelyClose,
  expectUnknownOptionRefused,
  lossValue,
} from './loss-checks.js';

// Eight raw rows, five classes of which class 4 is absent from the batch (a proxy without rows).
const X = randomBatch(8, 4, 21);
const LABELS = [0, 0, 0, 1, 1, 2, 2, 3];
const C = 5;
const N = X.length;

// Formulas as pytorch-metric-learning documents them (docs/losses.md says which version), on given class weights W.
/** The options the reference formulas read; every loss under test has its own in its defaults. */
type ReferenceOptions = Readonly<
  Record<'margin' | 'alpha' | 'softmaxScale' | 'temperature' | 'centres' | 'scale' | 'gamma', number>
>;

const references: Record<string, (w: Matrix, o: ReferenceOptions) => number> = {
  'proxy-anchor': (w, { margin: d, alpha: a }) => {
    const present = range(C).filter((c) => LABELS.includes(c));
    const pull = mean(
      present.map((c) =>
        logOnePlusSumExp(
          range(N)
            .filter((i) => LABELS[i] === c)
            .map((i) => -a * (cosine(X[i]!, w[c]!) - d)),
        ),
      ),
    );
    const push = mean(
      range(C).map((c) =>
        logOnePlusSumExp(
          range(N)
            .filter((i) => LABELS[i] !== c)
            .map((i) => a * (cosine(X[i]!, w[c]!) + d)),
        ),
      ),
    );
    return pull + push;
  },
  'proxy-nca': (w, { softmaxScale: s }) =>
    mean(
      range(N).map((i) =>
        crossEntropy(
          w.map((p) => -s * squaredL2(X[i]!, p)),
          LABELS[i]!,
        ),
      ),
    ),
  'normalized-softmax': (w, { temperature: t }) =>
    mean(
      range(N).map((i) =>
        crossEntropy(
          w.map((p) => cosine(X[i]!, p) / t),
          LABELS[i]!,
        ),
      ),
    ),
  'soft-triple': (w, { centres: k, scale: la, gamma: g, margin: d }) =>
    mean(
      range(N).map((i) => {
        const logits = range(C).map((c) => {
          const s = range(k).map((j) => cosine(X[i]!, w[c * k + j]!));
          const norm = logSumExp(s.map((v) => v / g));
          const toClass = s.reduce((total, v) => total + Math.exp(v / g - norm) * v, 0);
          return la * (toClass - (c === LABELS[i] ? d : 0));
        });
        return crossEntropy(logits, LABELS[i]!);
      }),
    ),
  'large-margin-softmax': (w, { margin: m, scale: s }) =>
    mean(
      range(N).map((i) => {
        const logits = range(C).map((c) => {
          const cos = cosine(X[i]!, w[c]!);
          const theta = Math.acos(cos);
          const k = Math.min(Math.floor((m * theta) / Math.PI), m - 1);
          const psi = (-1) ** k * Math.cos(m * theta) - 2 * k;
          return s * Math.hypot(...w[c]!) * Math.hypot(...X[i]!) * (c === LABELS[i] ? psi : cos);
        });
        return crossEntropy(logits, LABELS[i]!);
      }),
    ),
};

const WEIGHT_NAME: Record<string, string> = {
  'proxy-anchor': 'proxies',
  'proxy-nca': 'proxies',
  'normalized-softmax': 'weight',
  'soft-triple': 'centres',
  'large-margin-softmax': 'weight',
};

// [loss, options for the value test (PML's defaults first), options that keep finite differences smooth]
const CASES: [string, Record<string, number>[], Record<string, number>][] = [
  [
    'proxy-anchor',
    [
      { margin: 0.1, alpha: 32 },
      { margin: 0.3, alpha: 4 },
    ],
    { margin: 0.1, alpha: 2 },
  ],
  ['proxy-nca', [{ softmaxScale: 1 }, { softmaxScale: 5 }], { softmaxScale: 1 }],
  ['normalized-softmax', [{ temperature: 0.05 }, { temperature: 0.5 }], { temperature: 0.5 }],
  [
    'soft-triple',
    [
      { centres: 10, scale: 20, gamma: 0.1, margin: 0.01 },
      { centres: 3, scale: 5, gamma: 0.5, margin: 0.2 },
    ],
    { centres: 3, scale: 2, gamma: 0.5, margin: 0.1 },
  ],
  [
    'large-margin-softmax',
    [
      { margin: 4, scale: 1 },
      { margin: 2, scale: 0.5 },
      { margin: 1, scale: 1 },
    ],
    { margin: 3, scale: 0.5 },
  ],
];

const weightsFor = (name: string, options: Record<string, number>, seed: number): Matrix =>
  randomBatch(C * (name === 'soft-triple' ? options.centres! : 1), 4, seed);

let app: Simkit;

describe('losses with class weights (proxies, centres, classifiers)', () => {
  beforeAll(async () => {
    await initEngine('cpu');
    app = await Simkit.create();
  });

  for (const [name, valueOptions, smooth] of CASES) {
    describe(name, () => {
      it('matches the documented formula in float64 on given weights, with its defaults and other options', () => {
        [...valueOptions, undefined].forEach((options, n) => {
          const effective = options ?? valueOptions[0]!;
          const w = weightsFor(name, effective, 40 + n);
          const actual = lossValue(app, { name, numClasses: C, options }, X, LABELS, {
            [WEIGHT_NAME[name]!]: tf.tensor2d(w),
          });
          expectRelativelyClose(
            actual,
            references[name]!(w, effective as ReferenceOptions),
            `${name} ${JSON.stringify(options ?? 'defaults')}`,
          );
        });
      });

      it('gradient (embeddings and weights), no NaN on degenerate batches, no leak, B = 512, unknown option', () => {
        const lossCase = { name, numClasses: C, options: smooth };
        expectGradient(app, lossCase, X, LABELS, { [WEIGHT_NAME[name]!]: tf.tensor2d(weightsFor(name, smooth, 50)) });
        expectFiniteOnDegenerateBatches(app, lossCase);
        expectNoLeakOver100Steps(app, lossCase, X, LABELS);
        expectLargeBatch(app, { name, numClasses: 64 });
        expectUnknownOptionRefused(app, lossCase);
      });

      it('keeps its weights under a stable name in the objective checkpoint, and refuses a mis-shaped one', () => {
        const objective = createObjective(app, { loss: name, lossOptions: smooth }, { embeddingDim: 4, numClasses: C });
        const key = `loss/${WEIGHT_NAME[name]}`;
        const saved = objective.getWeights();
        expect(Object.keys(saved)).toEqual([key]);
        const values = saved[key]!.clone();
        objective.setWeights({ [key]: tf.zerosLike(values) });
        objective.setWeights({ [key]: values });
        expect(objective.getWeights()[key]!.dataSync()).toEqual(values.dataSync());
        expect(() => objective.setWeights({ [key]: tf.zeros([1, 4]) })).toThrow(/expected/);
        expect(objective.variables()).toHaveLength(1);
        objective.dispose();
        values.dispose();
      });
    });
  }

  it('large-margin softmax: margin 1 is the plain softmax of ‖W‖‖x‖cos θ; a non-integer margin is refused', () => {
    const w = weightsFor('large-margin-softmax', {}, 60);
    const softmax = mean(
      range(N).map((i) =>
        crossEntropy(
          w.map((p) => Math.hypot(...p) * Math.hypot(...X[i]!) * cosine(X[i]!, p)),
          LABELS[i]!,
        ),
      ),
    );
    expectRelativelyClose(
      lossValue(app, { name: 'large-margin-softmax', numClasses: C, options: { margin: 1 } }, X, LABELS, {
        weight: tf.tensor2d(w),
      }),
      softmax,
      'margin 1',
    );
    expect(() => createLoss(app, { name: 'large-margin-softmax', numClasses: C, options: { margin: 2.5 } }, 4)).toThrow(
      /whole number/,
    );
  });
});
