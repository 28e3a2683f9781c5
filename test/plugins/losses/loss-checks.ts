import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import type { EmbeddingLoss, LossFactory, Miner } from '../../../core/contracts/loss.js';
import type { Simkit } from '../../../core/di/container.js';
import { createObjective } from '../../../core/losses/objective.js';
import { checkGradient, expectNoLeak } from './helpers.js';
import type { Matrix } from './float64.js';

/**
 * The checks every embedding loss of the catalogue gets besides its float64 value test: a
 * finite-difference gradient, no tensor leak over 100 optimiser steps, a B = 512, D = 128 batch
 * without B³ memory, and a clear error for an unknown option.
 */
export interface LossCase {
  readonly name: string;
  readonly options?: Record<string, unknown>;
  readonly miner?: string;
  readonly numClasses: number;
}

export function createLoss(
  app: Simkit,
  { name, options = {}, miner, numClasses }: LossCase,
  embeddingDim: number,
): EmbeddingLoss {
  const mined = miner ? app.registry<Miner>('Miner').create(miner) : undefined;
  return app.registry<LossFactory>('Loss').create(name, options)({
    embeddingDim,
    numClasses,
    miner: mined,
  }) as EmbeddingLoss;
}

export const valueOf = (f: () => tf.Scalar): number => tf.tidy(() => f().arraySync());

/** The loss on raw (unnormalised) rows: normalisation is the distance's job. */
export function lossValue(
  app: Simkit,
  lossCase: LossCase,
  x: Matrix,
  labels: readonly number[],
  weights?: tf.NamedTensorMap,
): number {
  const loss = createLoss(app, lossCase, x[0]!.length);
  if (weights) loss.setWeights(weights);
  const v = valueOf(() => loss.compute(tf.tensor2d(x), tf.tensor1d([...labels], 'int32')));
  loss.dispose();
  return v;
}

export function expectGradient(
  app: Simkit,
  lossCase: LossCase,
  x: Matrix,
  labels: readonly number[],
  weights?: tf.NamedTensorMap,
  tolerance?: number,
): void {
  const loss = createLoss(app, lossCase, x[0]!.length);
  if (weights) loss.setWeights(weights);
  checkGradient((t) => loss.compute(t, tf.tensor1d([...labels], 'int32')), x, tolerance);
  // Trainable state (proxies, class centres) gets a gradient too.
  if (loss.variables().length) {
    const { value, grads } = tf.variableGrads(
      () => loss.compute(tf.tensor2d(x), tf.tensor1d([...labels], 'int32')),
      loss.variables(),
    );
    const moved = loss.variables().map((v) => grads[v.name]!.dataSync().some((g) => g !== 0 && Number.isFinite(g)));
    expect(moved, `${lossCase.name}: gradient of its variables`).toEqual(loss.variables().map(() => true));
    tf.dispose([value, ...Object.values(grads)]);
  }
  loss.dispose();
}

export function expectNoLeakOver100Steps(
  app: Simkit,
  { name, options = {}, miner, numClasses }: LossCase,
  x: Matrix,
  labels: readonly number[],
): void {
  const objective = createObjective(
    app,
    { loss: name, lossOptions: options, miner },
    { embeddingDim: x[0]!.length, numClasses },
  );
  const variable = tf.variable(tf.tensor2d(x));
  const y = tf.tensor1d([...labels], 'int32');
  const optimizer = tf.train.sgd(0.01);
  expectNoLeak(
    () =>
      optimizer.minimize(() => objective.loss({ kind: 'labels', embeddings: variable, labels: y }), false, [
        variable,
        ...objective.variables(),
      ]),
    name,
  );
  objective.dispose();
  optimizer.dispose();
  tf.dispose([variable, y]);
}

/**
 * Forward and backward at B = 512, D = 128 (8 samples per class): finite, and what the forward
 * pass keeps for backpropagation stays under `matrices` B×B matrices (B³ floats would be 537 MB).
 */
export function expectLargeBatch(app: Simkit, lossCase: LossCase, matrices = 64): void {
  const [size, dim] = [512, 128];
  const loss = createLoss(app, { ...lossCase, numClasses: Math.max(lossCase.numClasses, size / 8) }, dim);
  const x = tf.variable(tf.randomNormal([size, dim], 0, 1, 'float32', 11));
  const y = tf.tensor1d(
    Array.from({ length: size }, (_, i) => i % (size / 8)),
    'int32',
  );
  const before = tf.memory().numBytes;
  let heldByForward = 0;
  const { value, grads } = tf.variableGrads(() => {
    const result = loss.compute(x as tf.Tensor2D, y);
    heldByForward = tf.memory().numBytes - before;
    return result;
  }, [x]);
  expect(Number.isFinite(value.arraySync()), `${lossCase.name}: finite at B = 512`).toBe(true);
  expect(grads[x.name]!.dataSync().every(Number.isFinite), `${lossCase.name}: finite gradient at B = 512`).toBe(true);
  expect(heldByForward, `${lossCase.name}: bytes held by the forward pass`).toBeLessThan(matrices * size * size * 4);
  tf.dispose([value, x, y, ...Object.values(grads)]);
  loss.dispose();
}

export function expectUnknownOptionRefused(app: Simkit, lossCase: LossCase): void {
  expect(() => createLoss(app, { ...lossCase, options: { ...lossCase.options, noSuchOption: 1 } }, 4)).toThrow(
    /has no option "noSuchOption"/,
  );
}

/** A one-class batch and all-zero rows: finite values and gradients (no NaN from empty sums or 0/0). */
export function expectFiniteOnDegenerateBatches(app: Simkit, lossCase: LossCase): void {
  const loss = createLoss(app, lossCase, 3);
  const rows = [
    [0.6, 0.8, 0],
    [1, 0, 0],
    [0.2, 0.3, 0.9],
  ];
  for (const [x, labels] of [
    [tf.tensor2d(rows), [2, 2, 2]],
    [tf.zeros([3, 3]), [0, 1, 1]],
    [tf.tensor2d([rows[0]!, rows[0]!, rows[1]!]), [0, 0, 1]],
  ] as const) {
    const y = tf.tensor1d([...labels], 'int32');
    const { value, grads } = loss.variables().length
      ? tf.variableGrads(() => loss.compute(x as tf.Tensor2D, y), loss.variables())
      : { value: loss.compute(x as tf.Tensor2D, y), grads: {} };
    const g = tf.grad((t: tf.Tensor) => loss.compute(t as tf.Tensor2D, y))(x);
    expect(Number.isFinite(value.arraySync()), `${lossCase.name}: value on ${labels}`).toBe(true);
    expect(g.dataSync().every(Number.isFinite), `${lossCase.name}: gradient on ${labels}`).toBe(true);
    expect(
      Object.values(grads).every((t) => t.dataSync().every(Number.isFinite)),
      `${lossCase.name}: variable gradients on ${labels}`,
    ).toBe(true);
    tf.dispose([x, y, g, value, ...Object.values(grads)]);
  }
  loss.dispose();
}

/** |actual − expected| within `relative` of |expected| (at least an absolute 1e-5). */
export function expectRelativelyClose(actual: number, expected: number, label: string, relative = 1e-4): void {
  expect(Number.isFinite(expected), `${label}: the reference is finite`).toBe(true);
  expect(Math.abs(actual - expected), `${label}: ${actual} vs ${expected}`).toBeLessThan(
    Math.max(1e-5, relative * Math.abs(expected)),
  );
}
