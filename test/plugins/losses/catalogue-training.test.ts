import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { createObjective } from '../../../core/losses/objective.js';
import { catalogueLosses } from './catalogue.js';

// `instance` is left out too: with repeated labels its target column is another row (PML's convention, see
// docs/losses.md).
const CATALOGUE = (await catalogueLosses()).filter((name) => name !== 'instance');

// 8 noisy clusters of 6 points in 16 dimensions, embedded by a trainable 16 × 8 linear map.
const [CLASSES, PER_CLASS, INPUT, EMBEDDING] = [8, 6, 16, 8];
const LABELS = Array.from({ length: CLASSES * PER_CLASS }, (_, i) => i % CLASSES);

/** Share of rows whose nearest other row (cosine) has the same label. */
function precisionAt1(embeddings: tf.Tensor2D): number {
  const nearest = tf.tidy(() => {
    const unit = embeddings.div(embeddings.norm('euclidean', 1, true));
    return tf.matMul(unit, unit, false, true).sub(tf.eye(LABELS.length).mul(10)).argMax(1).dataSync();
  });
  return LABELS.filter((label, i) => LABELS[nearest[i]!] === label).length / LABELS.length;
}

describe('every catalogue loss trains: 80 Adam steps of a linear embedding with its defaults', () => {
  let app: Simkit;
  let x: tf.Tensor2D;
  let y: tf.Tensor1D;
  beforeAll(async () => {
    await initEngine('wasm');
    app = await Simkit.create();
    y = tf.tensor1d(LABELS, 'int32');
    x = tf.tidy(
      () =>
        tf
          .gather(tf.randomNormal([CLASSES, INPUT], 0, 1, 'float32', 3), y)
          .add(tf.randomNormal([LABELS.length, INPUT], 0, 1.5, 'float32', 4)) as tf.Tensor2D,
    );
  });

  it.each(CATALOGUE)('%s lowers its loss and raises precision@1 over the untrained map', (name) => {
    const w = tf.variable(tf.randomNormal([INPUT, EMBEDDING], 0, 0.3, 'float32', 5));
    const objective = createObjective(app, { loss: name }, { embeddingDim: EMBEDDING, numClasses: CLASSES });
    const optimizer = tf.train.adam(0.02);
    const embed = () => tf.matMul(x, w) as tf.Tensor2D;
    const before = precisionAt1(tf.tidy(embed));
    const losses: number[] = [];
    for (let step = 0; step < 80; step++) {
      const value = optimizer.minimize(() => objective.loss({ kind: 'labels', embeddings: embed(), labels: y }), true, [
        w,
        ...objective.variables(),
      ])!;
      losses.push(value.dataSync()[0]!);
      value.dispose();
    }
    const after = precisionAt1(tf.tidy(embed));
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!, `${name}: loss ${losses[0]} → ${losses.at(-1)}`).toBeLessThan(losses[0]!);
    expect(after, `${name}: precision@1 ${before} → ${after}`).toBeGreaterThan(before + 0.15);
    objective.dispose();
    optimizer.dispose();
    w.dispose();
  });
});
