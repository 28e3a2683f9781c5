import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import {
  cosine,
  crossEntropy,
  dot,
  l2,
  logOnePlusSumExp,
  logSumExp,
  mean,
  meanNonZero,
  negativesOf,
  positivesOf,
  randomBatch,
  range,
  relu,
  softplus,
  squaredL2,
  sum,
  unit,
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
  type LossCase,
} from './loss-checks.js';

// Eight raw rows (the losses normalise through their distance); class 3 has a single sample.
const X = randomBatch(8, 4, 7);
const LABELS = [0, 0, 0, 1, 1, 2, 2, 3];
const N = X.length;
const S = (i: number, j: number) => cosine(X[i]!, X[j]!);
/** The pairs a miner keeps (all without one). */
let kept: (i: number, j: number) => boolean = () => true;
const P = (i: number) => positivesOf(LABELS, i).filter((j) => kept(i, j));
const Q = (i: number) => negativesOf(LABELS, i).filter((j) => kept(i, j));
/** Ordered positive pairs (a, p). */
const positivePairs = () => range(N).flatMap((a) => P(a).map((p) => [a, p] as const));
const anchorsWithBoth = () => range(N).filter((i) => P(i).length && Q(i).length);

// Formulas as pytorch-metric-learning documents them (see docs/losses.md for the version).
/** The options the reference formulas read; every loss under test has its own in its defaults. */
type ReferenceOptions = Readonly<
  Record<
    | 'temperature'
    | 'margin'
    | 'gamma'
    | 'negativeMargin'
    | 'positiveMargin'
    | 'marginDegrees'
    | 'scale'
    | 'alphaDegrees'
    | 'softmaxScale'
    | 'numBins',
    number
  >
>;

const references: Record<string, (o: ReferenceOptions) => number> = {
  supcon: ({ temperature: t }) =>
    meanNonZero(
      range(N)
        .filter((i) => P(i).length)
        .map((i) => {
          const denominator = logSumExp([...P(i), ...Q(i)].map((a) => S(i, a) / t));
          return -mean(P(i).map((p) => S(i, p) / t - denominator));
        }),
    ),
  'nt-xent-labels': ({ temperature: t }) =>
    mean(positivePairs().map(([a, p]) => logSumExp([S(a, p) / t, ...Q(a).map((n) => S(a, n) / t)]) - S(a, p) / t)),
  circle: ({ margin: m, gamma: g }) =>
    meanNonZero(
      anchorsWithBoth().map((i) =>
        softplus(
          logSumExp(Q(i).map((n) => g * relu(S(i, n) + m) * (S(i, n) - m))) +
            logSumExp(P(i).map((p) => -g * relu(1 + m - S(i, p)) * (S(i, p) - (1 - m)))),
        ),
      ),
    ),
  'lifted-structure': ({ negativeMargin: a, positiveMargin: m }) =>
    mean(
      positivePairs().map(([i, j]) => {
        const negatives = [
          ...Q(i).map((k) => Math.exp(a - l2(X[i]!, X[k]!))),
          ...Q(j).map((k) => Math.exp(a - l2(X[j]!, X[k]!))),
        ];
        return relu(Math.log(sum(negatives)) + l2(X[i]!, X[j]!) - m) ** 2 / 2;
      }),
    ),
  'generalized-lifted-structure': ({ negativeMargin: a, positiveMargin: m }) =>
    mean(
      anchorsWithBoth().map((i) =>
        relu(logSumExp(P(i).map((p) => l2(X[i]!, X[p]!) - m)) + logSumExp(Q(i).map((n) => a - l2(X[i]!, X[n]!)))),
      ),
    ),
  'tuplet-margin': ({ marginDegrees, scale: s }) =>
    mean(
      positivePairs().map(([a, p]) => {
        const narrowed = Math.cos(Math.acos(S(a, p)) - (marginDegrees * Math.PI) / 180);
        return logOnePlusSumExp(Q(a).map((n) => s * (S(a, n) - narrowed)));
      }),
    ),
  angular: ({ alphaDegrees }) => {
    const t = Math.tan((alphaDegrees * Math.PI) / 180) ** 2;
    const u = X.map(unit);
    return mean(
      positivePairs().map(([a, p]) => {
        const middle = u[a]!.map((x, k) => x + u[p]![k]!);
        return logOnePlusSumExp(Q(a).map((n) => 4 * t * dot(middle, u[n]!) - 2 * (1 + t) * dot(u[a]!, u[p]!)));
      }),
    );
  },
  nca: ({ softmaxScale: s }) =>
    mean(
      range(N)
        .filter((i) => P(i).length)
        .map((i) => {
          const weight = (j: number) => Math.exp(-s * squaredL2(X[i]!, X[j]!));
          return -Math.log(sum(P(i).map(weight)) / sum([...P(i), ...Q(i)].map(weight)));
        }),
    ),
  'n-pairs': () => {
    const labels = [...new Set(LABELS)].sort((a, b) => a - b).filter((l) => LABELS.filter((x) => x === l).length >= 2);
    const pairs = labels.map((l) =>
      range(N)
        .filter((i) => LABELS[i] === l)
        .slice(0, 2),
    );
    return mean(
      pairs.map(([a], k) =>
        crossEntropy(
          pairs.map(([, p]) => S(a!, p!)),
          k,
        ),
      ),
    );
  },
  'fast-ap': ({ numBins }) => {
    const width = 4 / numBins;
    return mean(
      range(N)
        .filter((i) => P(i).length)
        .map((i) => {
          const histogram = (rows: number[]) =>
            range(numBins + 1).map((k) =>
              sum(rows.map((j) => relu(1 - Math.abs(squaredL2(X[i]!, X[j]!) - k * width) / width))),
            );
          const [hPositive, hNegative] = [histogram(P(i)), histogram(Q(i))];
          let [cumulativePositive, cumulative, precision] = [0, 0, 0];
          for (let k = 0; k <= numBins; k++) {
            cumulativePositive += hPositive[k]!;
            cumulative += hPositive[k]! + hNegative[k]!;
            if (cumulative > 0) precision += (hPositive[k]! * cumulativePositive) / cumulative;
          }
          return 1 - precision / P(i).length;
        }),
    );
  },
  'centroid-triplet': ({ margin: m }) => {
    const centroid = (rows: number[]) => range(X[0]!.length).map((k) => mean(rows.map((j) => X[j]![k]!)));
    const classes = [...new Set(LABELS)];
    return meanNonZero(
      range(N)
        .filter((i) => P(i).length)
        .flatMap((i) => {
          const toPositive = squaredL2(X[i]!, centroid(P(i)));
          return classes
            .filter((c) => c !== LABELS[i])
            .map((c) => relu(toPositive - squaredL2(X[i]!, centroid(range(N).filter((j) => LABELS[j] === c))) + m));
        }),
    );
  },
  instance: ({ gamma: g }) => {
    const distinct = [...new Set(LABELS)].sort((a, b) => a - b);
    return mean(
      range(N).map((i) =>
        crossEntropy(
          range(N).map((j) => g * S(i, j)),
          distinct.indexOf(LABELS[i]!),
        ),
      ),
    );
  },
};

// [loss, options for the value test (PML's defaults first), options that keep finite differences smooth]
const CASES: [string, Record<string, number>[], Record<string, number>][] = [
  ['supcon', [{ temperature: 0.1 }, { temperature: 0.5 }], { temperature: 0.5 }],
  ['nt-xent-labels', [{ temperature: 0.07 }, { temperature: 0.5 }], { temperature: 0.5 }],
  [
    'circle',
    [
      { margin: 0.4, gamma: 80 },
      { margin: 0.25, gamma: 8 },
    ],
    { margin: 0.4, gamma: 2 },
  ],
  [
    'lifted-structure',
    [
      { negativeMargin: 1, positiveMargin: 0 },
      { negativeMargin: 0.5, positiveMargin: 0.2 },
    ],
    { negativeMargin: 1, positiveMargin: 0 },
  ],
  [
    'generalized-lifted-structure',
    [
      { negativeMargin: 1, positiveMargin: 0 },
      { negativeMargin: 1.5, positiveMargin: 0.3 },
    ],
    { negativeMargin: 1, positiveMargin: 0 },
  ],
  [
    'tuplet-margin',
    [
      { marginDegrees: 5.73, scale: 64 },
      { marginDegrees: 20, scale: 4 },
    ],
    { marginDegrees: 5.73, scale: 2 },
  ],
  ['angular', [{ alphaDegrees: 40 }, { alphaDegrees: 50 }], { alphaDegrees: 40 }],
  ['nca', [{ softmaxScale: 1 }, { softmaxScale: 3 }], { softmaxScale: 1 }],
  ['n-pairs', [{}], {}],
  ['fast-ap', [{ numBins: 10 }, { numBins: 4 }], { numBins: 10 }],
  ['centroid-triplet', [{ margin: 0.05 }, { margin: 0.6 }], { margin: 4.5 }],
  ['instance', [{ gamma: 64 }, { gamma: 2 }], { gamma: 2 }],
];

let app: Simkit;

describe('pair and batch losses of the catalogue', () => {
  beforeAll(async () => {
    await initEngine('wasm');
    app = await Simkit.create();
  });

  it('circle: the gradient with α held at its value matches float64 central differences', () => {
    const [m, g] = [0.4, 2];
    // Circle loss of `rows` with the weights α computed from `frozen`.
    const circle64 = (rows: number[][], frozen: number[][]) => {
      const s = (i: number, j: number) => cosine(rows[i]!, rows[j]!);
      const f = (i: number, j: number) => cosine(frozen[i]!, frozen[j]!);
      return mean(
        anchorsWithBoth().map((i) =>
          softplus(
            logSumExp(Q(i).map((n) => g * relu(f(i, n) + m) * (s(i, n) - m))) +
              logSumExp(P(i).map((p) => -g * relu(1 + m - f(i, p)) * (s(i, p) - (1 - m)))),
          ),
        ),
      );
    };
    const loss = createLoss(
      app,
      { name: 'circle', numClasses: 4, options: { margin: m, gamma: g, reducer: 'mean' } },
      4,
    );
    const labels = tf.tensor1d(LABELS, 'int32');
    const analytic = tf.tidy(
      () =>
        tf
          .grad((t: tf.Tensor) => loss.compute(t as tf.Tensor2D, labels))(tf.tensor2d(X))
          .arraySync() as number[][],
    );
    const h = 1e-6;
    X.forEach((row, i) =>
      row.forEach((_, k) => {
        const shifted = (delta: number) =>
          circle64(
            X.map((r, a) => r.map((v, b) => (a === i && b === k ? v + delta : v))),
            X,
          );
        expectRelativelyClose(analytic[i]![k]!, (shifted(h) - shifted(-h)) / (2 * h), `d/dx[${i}][${k}]`, 1e-2);
      }),
    );
    labels.dispose();
  });

  it('with the pair-margin miner: the same formulas over the pairs it keeps (d > 0.2 for positives, d < 0.8 for negatives)', () => {
    const distances: Record<string, (i: number, j: number) => number> = {
      supcon: (i, j) => 1 - S(i, j),
      'nt-xent-labels': (i, j) => 1 - S(i, j),
      circle: (i, j) => 1 - S(i, j),
      'tuplet-margin': (i, j) => 1 - S(i, j),
      angular: (i, j) => 1 - S(i, j),
      nca: (i, j) => squaredL2(X[i]!, X[j]!),
      'lifted-structure': (i, j) => l2(X[i]!, X[j]!),
      'generalized-lifted-structure': (i, j) => l2(X[i]!, X[j]!),
    };
    for (const [name, d] of Object.entries(distances)) {
      const options = CASES.find(([n]) => n === name)![1][1]!;
      kept = (i, j) => (LABELS[i] === LABELS[j] ? d(i, j) > 0.2 : d(i, j) < 0.8);
      const dropped =
        range(N).some((i) => P(i).length < positivesOf(LABELS, i).length) ||
        range(N).some((i) => Q(i).length < negativesOf(LABELS, i).length);
      try {
        expectRelativelyClose(
          lossValue(app, { name, numClasses: 4, options, miner: 'pair-margin' }, X, LABELS),
          references[name]!(options as ReferenceOptions),
          `${name} mined`,
        );
      } finally {
        kept = () => true;
      }
      // The miner really drops pairs here, so the check is not the unmined one again.
      expect(dropped, `${name}: the miner drops pairs`).toBe(true);
    }
  });

  for (const [name, valueOptions, smooth] of CASES) {
    describe(name, () => {
      it('matches the documented formula in float64, with its defaults and other options', () => {
        for (const options of valueOptions) {
          expectRelativelyClose(
            lossValue(app, { name, numClasses: 4, options }, X, LABELS),
            references[name]!(options as ReferenceOptions),
            `${name} ${JSON.stringify(options)}`,
          );
        }
        // The defaults are PML's, the first options of each list.
        expectRelativelyClose(
          lossValue(app, { name, numClasses: 4 }, X, LABELS),
          references[name]!(valueOptions[0] as ReferenceOptions),
          `${name} defaults`,
        );
      });

      it('gradient by finite differences, no NaN on degenerate batches, no leak, B = 512, unknown option', () => {
        const lossCase: LossCase = { name, numClasses: 4, options: smooth };
        // Circle's weights α are constants for the gradient, which finite differences of the loss cannot see (tested
        // below).
        if (name !== 'circle') expectGradient(app, lossCase, X, LABELS);
        expectFiniteOnDegenerateBatches(app, lossCase);
        expectNoLeakOver100Steps(app, lossCase, X, LABELS);
        expectLargeBatch(app, { name, numClasses: 64 });
        expectUnknownOptionRefused(app, lossCase);
      });
    });
  }
});
