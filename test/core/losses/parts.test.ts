import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddingLoss, LossFactory } from '../../../core/contracts/loss.js';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { UserError } from '../../../core/errors.js';
import type { ComponentKind } from '../../../core/contracts/component-tokens.js';
import {
  DISTANCE_NAMES,
  type Distance,
  type DistanceName,
  type DistanceOption,
} from '../../../core/losses/distances.js';
import { reduce, type Reducer, type ReducerOption } from '../../../core/losses/reducers.js';
import type { Regularizer, RegularizerOption } from '../../../core/losses/regularizers.js';
import { checkGradient, expectClose, expectNoLeak } from '../../plugins/losses/helpers.js';

// Raw (not unit-length) rows, so normalisation is visible.
const X = [
  [2, 0.4, 0],
  [0.9, 0.4, 0.1],
  [0, 3, 0.9],
  [0.5, 0.8, -1],
];
const Y = [
  [1, -1, 0.5],
  [0.3, 0.2, 2],
];
const dot = (a: number[], b: number[]) => a.reduce((s, x, k) => s + x * b[k]!, 0);
const unit = (a: number[]) => a.map((x) => x / Math.hypot(...a));
const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
const variance = (a: number[]) => mean(a.map((x) => (x - mean(a)) ** 2));
function reference(name: DistanceName, normalize: boolean, a: number[], b: number[]): number {
  const [x, y] = normalize ? [unit(a), unit(b)] : [a, b];
  const squared = x.reduce((s, v, k) => s + (v - y[k]!) ** 2, 0);
  switch (name) {
    case 'cosine':
    case 'dot':
      return dot(x, y);
    case 'l2':
      return Math.sqrt(squared + 1e-12);
    case 'squared-l2':
      return squared;
    case 'snr':
      return variance(y.map((v, k) => v - x[k]!)) / variance(x);
  }
}

describe('distances, reducers and regularisers', () => {
  let app: Simkit;
  beforeAll(async () => {
    await initEngine('cpu');
    app = await Simkit.create();
  });

  /** What a loss's option names, built through the container as a loss builds it. */
  function named<T>(kind: ComponentKind, option: string | { readonly name: string }): T {
    const { name, ...options } = typeof option === 'string' ? { name: option } : option;
    return app.components.create<T>(kind, name, options);
  }
  const createDistance = (option: DistanceOption) => named<Distance>('Distance', option);
  const createReducer = (option: ReducerOption) => named<Reducer>('Reducer', option);
  const createRegularizer = (option: RegularizerOption) =>
    option === null ? null : named<Regularizer>('Regularizer', option);

  it('every distance, normalised or not, against float64 loops; distances() and similarities() orient it', () => {
    for (const name of DISTANCE_NAMES) {
      for (const normalize of name === 'cosine' ? [true] : [true, false]) {
        const distance = createDistance({ name, normalize });
        const expected = X.map((a) => Y.map((b) => reference(name, normalize, a, b)));
        expectClose(
          tf.tidy(() => distance.matrix(tf.tensor2d(X), tf.tensor2d(Y)).arraySync()),
          expected,
          1e-4,
        );
        const self = X.map((a) => X.map((b) => reference(name, normalize, a, b)));
        expectClose(
          tf.tidy(() => distance.matrix(tf.tensor2d(X)).arraySync()),
          self,
          1e-4,
        );
        const smallerIsCloser = self.map((row) => row.map((v) => (distance.similarity ? 1 - v : v)));
        expectClose(
          tf.tidy(() => distance.distances(tf.tensor2d(X)).arraySync()),
          smallerIsCloser,
          1e-4,
        );
        expectClose(
          tf.tidy(() => distance.similarities(tf.tensor2d(X)).arraySync()),
          self.map((row) => row.map((v) => (distance.similarity ? v : -v))),
          1e-4,
        );
      }
    }
    expect(createDistance('l2').normalize).toBe(true);
  });

  it('distances: finite gradients that match finite differences, also where two rows coincide; no leaks', () => {
    for (const name of DISTANCE_NAMES) {
      const distance = createDistance(name);
      checkGradient(
        (x) =>
          distance
            .matrix(x)
            .mul(
              tf.tensor2d([
                [1, 2, 3, 4],
                [0.5, -1, 2, 1],
                [1, 1, -2, 0.3],
                [2, 0.1, 1, -1],
              ]),
            )
            .sum() as tf.Scalar,
        X,
        name === 'snr' ? 0.1 : 3e-2,
      );
      const same = tf.tidy(
        () =>
          tf
            .grad((x: tf.Tensor) => distance.matrix(x as tf.Tensor2D).sum() as tf.Scalar)(tf.tensor2d([X[0]!, X[0]!]))
            .arraySync() as number[][],
      );
      expect(same.flat().every(Number.isFinite), name).toBe(true);
      expectNoLeak(
        () =>
          tf.dispose(
            tf.tidy(() =>
              tf.grad((x: tf.Tensor) => distance.distances(x as tf.Tensor2D).sum() as tf.Scalar)(tf.tensor2d(X)),
            ),
          ),
        name,
      );
    }
  });

  it('reducers against float64: mean, mean over non-zero, sum, threshold, per-anchor', () => {
    const values = [
      [0, 0.5, 1.5, 0],
      [2, 0, 0.25, 0.75],
      [0, 0, 0, 0],
    ];
    const mask = [
      [1, 1, 1, 0],
      [1, 1, 0, 1],
      [0, 1, 1, 0],
    ];
    const terms = values.flatMap((row, i) => row.map((v, j) => ({ v, m: mask[i]![j]!, i })));
    const counted = terms.filter((t) => t.m === 1);
    const avg = (list: number[]) => (list.length ? list.reduce((s, v) => s + v, 0) / list.length : 0);
    const perAnchor = (nonZero: boolean) =>
      avg(
        [0, 1, 2]
          .map((i) => counted.filter((t) => t.i === i && (!nonZero || t.v > 0)).map((t) => t.v))
          .filter((list) => list.length > 0)
          .map(avg),
      );
    const cases: [ReducerOption, number][] = [
      ['mean', avg(counted.map((t) => t.v))],
      ['mean-non-zero', avg(counted.filter((t) => t.v > 0).map((t) => t.v))],
      ['sum', counted.reduce((s, t) => s + t.v, 0)],
      [{ name: 'threshold', low: 0.3, high: 1.6 }, avg(counted.filter((t) => t.v > 0.3 && t.v < 1.6).map((t) => t.v))],
      [{ name: 'threshold', low: 0.3 }, avg(counted.filter((t) => t.v > 0.3).map((t) => t.v))],
      ['per-anchor', perAnchor(false)],
      [{ name: 'per-anchor', nonZero: true }, perAnchor(true)],
    ];
    for (const [option, expected] of cases) {
      const reducer = createReducer(option);
      expect(
        tf.tidy(() => reduce(reducer, tf.tensor2d(values), tf.tensor2d(mask)).arraySync()),
        JSON.stringify(option),
      ).toBeCloseTo(expected, 5);
      expect(tf.tidy(() => reduce(reducer, tf.tensor2d(values), tf.zeros([3, 4])).arraySync())).toBe(0);
      expectNoLeak(
        () => tf.dispose(tf.tidy(() => reduce(reducer, tf.tensor2d(values), tf.tensor2d(mask)))),
        JSON.stringify(option),
      );
    }
  });

  it('reducers: the gradient is the weights over the divisor (finite differences)', () => {
    const mask = tf.tensor2d([
      [1, 1, 0],
      [1, 0, 1],
      [0, 1, 1],
      [1, 1, 1],
    ]);
    for (const option of ['mean', 'sum', 'per-anchor'] as const) {
      const reducer = createReducer(option);
      checkGradient((x) => reduce(reducer, x.square(), mask), X, 3e-2);
    }
    mask.dispose();
  });

  it('Lp regulariser: weight · mean of ‖x‖_p^power, with a matching gradient', () => {
    const cases = [
      { p: 2, power: 1, weight: 1 },
      { p: 1, power: 2, weight: 0.5 },
    ];
    for (const spec of cases) {
      const regularizer = createRegularizer({ name: 'lp', ...spec })!;
      const expected =
        spec.weight * mean(X.map((row) => row.reduce((s, v) => s + Math.abs(v) ** spec.p, 0) ** (spec.power / spec.p)));
      expect(tf.tidy(() => regularizer.penalty(tf.tensor2d(X)).arraySync())).toBeCloseTo(expected, 4);
      checkGradient(
        (x) => regularizer.penalty(x),
        X.map((row) => row.map((v) => v + 0.05)),
        3e-2,
      );
      expectNoLeak(() => tf.dispose(tf.tidy(() => regularizer.penalty(tf.tensor2d(X)))), 'lp');
    }
    expect(createRegularizer(null)).toBeNull();
  });

  it('losses take distance, reducer and regulariser options; raw rows are normalised by the distance, not assumed unit', () => {
    const labels = () => tf.tensor1d([0, 0, 1, 1], 'int32');
    const make = (options: object) =>
      app.registry<LossFactory>('Loss').create('contrastive', options)({
        embeddingDim: 3,
        numClasses: 2,
      }) as EmbeddingLoss;
    const value = (loss: EmbeddingLoss, x: number[][]) =>
      tf.tidy(() => loss.compute(tf.tensor2d(x), labels()).arraySync());
    const normalised = make({});
    expect(value(normalised, X)).toBeCloseTo(value(normalised, X.map(unit)), 5);
    const raw = make({ distance: { name: 'l2', normalize: false } });
    expect(Math.abs(value(raw, X) - value(normalised, X))).toBeGreaterThan(1e-3);
    const regularised = make({ regularizer: { name: 'lp', weight: 0.1 } });
    const norms = mean(X.map((row) => Math.hypot(...row)));
    expect(value(regularised, X)).toBeCloseTo(value(normalised, X) + 0.1 * norms, 5);
  });

  it('unknown distance, reducer, regulariser or loss option: one line naming the known ones, exit code 2', () => {
    const attempts: [() => unknown, RegExp][] = [
      [() => createDistance('manhattan' as DistanceName), /known: cosine, dot, l2, snr, squared-l2/],
      [() => createDistance({ name: 'cosine', normalize: false }), /dot/],
      [() => createDistance({ name: 'l2', p: 3 } as never), /its options: normalize/],
      [() => createReducer('median' as never), /known: mean, mean-non-zero, per-anchor, sum, threshold/],
      [() => createReducer({ name: 'threshold', cutoff: 1 }), /its options: low, high/],
      [() => createRegularizer('l1' as never), /known: lp/],
      [
        () => app.registry<LossFactory>('Loss').create('triplet', { distance: 'manhattan' }),
        /^triplet: unknown distance "manhattan".*known: cosine, dot, l2, snr, squared-l2/,
      ],
      [() => app.registry<LossFactory>('Loss').create('triplet', { margn: 0.2 }), /its options: margin, softMargin/],
    ];
    for (const [attempt, hint] of attempts) {
      let error: unknown;
      try {
        attempt();
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(UserError);
      const user = error as UserError;
      expect(user.exitCode).toBe(2);
      expect(`${user.message} ${user.hint ?? ''}`).toMatch(hint);
      expect(user.message).not.toContain('\n');
    }
  });
});
