import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';

/**
 * Compares tf's gradient of `f` at `x` with central finite differences computed on the same
 * float32 function (step h = 1e-2, so the tolerance is loose).
 */
export function checkGradient(f: (x: tf.Tensor2D) => tf.Scalar, x: number[][], tolerance = 3e-2): void {
  const analytic = tf.tidy(
    () =>
      tf
        .grad((t: tf.Tensor) => f(t as tf.Tensor2D))(tf.tensor2d(x))
        .arraySync() as number[][],
  );
  expect(analytic.flat().every(Number.isFinite)).toBe(true);
  const h = 1e-2;
  for (let i = 0; i < x.length; i++) {
    for (let j = 0; j < x[0]!.length; j++) {
      const at = (delta: number) =>
        tf.tidy(() => {
          const copy = x.map((row) => [...row]);
          copy[i]![j]! += delta;
          return f(tf.tensor2d(copy)).arraySync();
        });
      expect(Math.abs(analytic[i]![j]! - (at(h) - at(-h)) / (2 * h)), `d/dx[${i}][${j}]`).toBeLessThan(tolerance);
    }
  }
}

export function expectClose(actual: number[][], expected: number[][], tolerance = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, i) =>
    row.forEach((x, j) => expect(Math.abs(x - expected[i]![j]!), `[${i}][${j}]`).toBeLessThan(tolerance)),
  );
}

/** Runs `step` 100 times and checks that the number of live tensors stays where it was after the first. */
export function expectNoLeak(step: () => void, label: string): void {
  step();
  const before = tf.memory().numTensors;
  for (let i = 1; i < 100; i++) step();
  expect(tf.memory().numTensors, label).toBe(before);
}

/** Rows scaled to unit length without an epsilon (float64 reference tests use exact unit vectors). */
export function unitRows(t: tf.Tensor2D): tf.Tensor2D {
  return t.div(t.square().sum(1, true).sqrt()) as tf.Tensor2D;
}
