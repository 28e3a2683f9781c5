import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../core/engine/backend.js';
import { ArcFaceHead, ARCFACE_DEFAULTS } from '../../plugins/heads/arcface.js';
import { CosFaceHead } from '../../plugins/heads/cosface.js';
import { SphereFaceHead } from '../../plugins/heads/sphereface.js';
import { softmaxCrossEntropy } from '../../plugins/losses/cross-entropy.js';

const E = [
  [0.6, 0.8, 0],
  [1, 0, 0],
  [0, 0, 0],
];
const W = [
  [1, 0, 0],
  [0, 0.6, 0.8],
  [-1, 0, 0],
  [0, 1, 0],
];
const LABELS = [1, 2, 0];
const dims = { embeddingDim: 3, numClasses: 4 };

function cosines64(): number[][] {
  const unit = (v: number[]) => {
    const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0) + 1e-12);
    return v.map((x) => x / n);
  };
  return E.map((e) => W.map((w) => unit(e).reduce((s, x, i) => s + x * unit(w)[i]!, 0)));
}

function logits64(target: (cos: number) => number, scale: number): number[][] {
  return cosines64().map((row, b) => row.map((cos, c) => (c === LABELS[b] ? target(cos) : scale * cos)));
}

function crossEntropy64(logits: number[][], smoothing = 0): number {
  let total = 0;
  logits.forEach((row, b) => {
    const max = Math.max(...row);
    const logSum = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
    row.forEach((x, c) => {
      const t = (c === LABELS[b] ? 1 - smoothing : 0) + smoothing / row.length;
      total -= t * (x - logSum);
    });
  });
  return total / logits.length;
}

function expectClose(actual: number[][], expected: number[][], tolerance = 1e-4): void {
  actual.forEach((row, i) => row.forEach((x, j) => expect(Math.abs(x - expected[i]![j]!)).toBeLessThan(tolerance)));
}

describe('margin heads and cross-entropy (recomputed in float64)', () => {
  beforeAll(async () => {
    await initEngine('cpu');
  });

  it('ArcFace: s·cos(θ+m) on the true class, cos θ − m·sin m past π, plain s·cos θ elsewhere', () => {
    const m = 0.5;
    const s = 30;
    const head = new ArcFaceHead(dims, { ...ARCFACE_DEFAULTS, margin: m, scale: s, initialWeights: tf.tensor2d(W) });
    const target = (cos: number) => {
      const theta = Math.acos(Math.min(1 - 1e-7, Math.max(-1 + 1e-7, cos)));
      return s * (theta + m > Math.PI ? cos - m * Math.sin(m) : Math.cos(theta + m));
    };
    const logits = tf.tidy(() => head.logits(tf.tensor2d(E), tf.tensor1d(LABELS, 'int32')).arraySync() as number[][]);
    expectClose(logits, logits64(target, s), 1e-3);
    // Row 1 (label 2) has cos = −1: θ + m > π takes the fallback.
    expect(cosines64()[1]![2]).toBeCloseTo(-1, 6);
    head.dispose();
  });

  it('CosFace and SphereFace true-class logits', () => {
    const cosface = new CosFaceHead(dims, { margin: 0.35, scale: 10, initialWeights: tf.tensor2d(W) });
    expectClose(tf.tidy(() => cosface.logits(tf.tensor2d(E), tf.tensor1d(LABELS, 'int32')).arraySync() as number[][]), logits64((c) => 10 * (c - 0.35), 10));
    const sphere = new SphereFaceHead(dims, { margin: 1.35, scale: 10, initialWeights: tf.tensor2d(W) });
    const psi = (cos: number) => {
      const mt = 1.35 * Math.acos(Math.min(1 - 1e-7, Math.max(-1 + 1e-7, cos)));
      return 10 * (Math.cos(Math.min(mt, Math.PI)) - (2 / Math.PI) * Math.max(mt - Math.PI, 0));
    };
    expectClose(tf.tidy(() => sphere.logits(tf.tensor2d(E), tf.tensor1d(LABELS, 'int32')).arraySync() as number[][]), logits64(psi, 10), 1e-3);
    cosface.dispose();
    sphere.dispose();
  });

  it('cross-entropy with label smoothing matches the formula', () => {
    const logits = [
      [2, -1, 0.5, 3],
      [0, 0, 0, 0],
      [10, -10, 5, 1],
    ];
    for (const smoothing of [0, 0.1]) {
      const value = tf.tidy(() => softmaxCrossEntropy(tf.tensor2d(logits), tf.tensor1d(LABELS, 'int32'), smoothing).arraySync() as number);
      expect(value).toBeCloseTo(crossEntropy64(logits, smoothing), 4);
    }
  });

  it('ArcFace + cross-entropy gradient matches central finite differences, with no NaN at a zero embedding', () => {
    const head = new ArcFaceHead(dims, { ...ARCFACE_DEFAULTS, margin: 0.3, scale: 4, initialWeights: tf.tensor2d(W) });
    const labels = tf.tensor1d(LABELS, 'int32');
    const lossAt = (e: tf.Tensor2D) => softmaxCrossEntropy(head.logits(e, labels), labels, 0);
    const x = tf.tensor2d([
      [0.6, 0.7, 0.1],
      [0.9, 0.2, -0.3],
      [0.2, -0.5, 0.4],
    ]);
    const grad = tf.grad((e: tf.Tensor) => lossAt(e as tf.Tensor2D))(x).arraySync() as number[][];
    const base = x.arraySync() as number[][];
    const h = 1e-2;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const shifted = (delta: number) => tf.tidy(() => {
          const copy = base.map((row) => [...row]);
          copy[i]![j]! += delta;
          return lossAt(tf.tensor2d(copy)).arraySync() as number;
        });
        expect(Math.abs(grad[i]![j]! - (shifted(h) - shifted(-h)) / (2 * h))).toBeLessThan(2e-2);
      }
    }
    const zeroGrad = tf.tidy(() => tf.grad((e: tf.Tensor) => lossAt(e as tf.Tensor2D))(tf.tensor2d(E)).arraySync() as number[][]);
    expect(zeroGrad.flat().every(Number.isFinite)).toBe(true);
    tf.dispose([labels, x]);
    head.dispose();
  });

  it('leaks no tensors over 100 training steps', () => {
    const head = new ArcFaceHead(dims, { ...ARCFACE_DEFAULTS, schedule: { start: 0.1, epochs: 1 } });
    const embeddings = tf.variable(tf.randomNormal([3, 3], 0, 1, 'float32', 3));
    const labels = tf.tensor1d(LABELS, 'int32');
    const optimizer = tf.train.sgd(0.1);
    const step = (i: number) => {
      head.onStep({ epoch: 0, step: i, epochs: 1, stepsPerEpoch: 100 });
      optimizer.minimize(() => softmaxCrossEntropy(head.logits(embeddings as tf.Tensor2D, labels), labels, 0), false, [embeddings, ...head.variables()]);
    };
    step(0);
    const before = tf.memory().numTensors;
    for (let i = 1; i < 100; i++) step(i);
    expect(tf.memory().numTensors).toBe(before);
    optimizer.dispose();
    tf.dispose([embeddings, labels]);
    head.dispose();
  });
});
