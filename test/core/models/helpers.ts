import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadModel, saveModel } from '../../../core/models/io.js';

/** A temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'simkit-models-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Outputs of the model before and after saveModel → loadModel, on the same input. */
export async function roundTrip(
  model: tf.LayersModel,
  x: tf.Tensor,
): Promise<{ before: Float32Array; after: Float32Array; loaded: tf.LayersModel }> {
  const { dir, cleanup } = tempDir();
  try {
    await saveModel(model, join(dir, 'model'));
    const loaded = await loadModel(join(dir, 'model'));
    const before = tf.tidy(() => model.predict(x) as tf.Tensor).dataSync() as Float32Array;
    const after = tf.tidy(() => loaded.predict(x) as tf.Tensor).dataSync() as Float32Array;
    return { before, after, loaded };
  } finally {
    cleanup();
  }
}

/**
 * `steps` SGD steps on the L2-normalised embeddings (loss: mean squared distance to a fixed target),
 * as the training loop does; returns tf.memory().numTensors after each step.
 */
export function trainSteps(model: tf.LayersModel, x: tf.Tensor, steps: number, learningRate = 0.05): number[] {
  const optimizer: tf.Optimizer = tf.train.adam(learningRate);
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const outShape = model.outputs[0]!.shape;
  const target = tf.tidy(() => tf.randomNormal([x.shape[0], outShape[outShape.length - 1]!], 0, 1, 'float32', 7));
  const counts: number[] = [];
  for (let s = 0; s < steps; s++) {
    const { value, grads } = tf.variableGrads(() => {
      const y = model.apply(x, { training: true }) as tf.Tensor2D;
      const normalised = tf.div(y, tf.norm(y, 'euclidean', 1, true).add(1e-12));
      return tf.mean(tf.square(tf.sub(normalised, target))) as tf.Scalar;
    }, variables);
    optimizer.applyGradients(grads);
    tf.dispose([value, ...Object.values(grads)]);
    counts.push(tf.memory().numTensors);
  }
  target.dispose();
  optimizer.dispose();
  return counts;
}

/** A deterministic pseudo-random float in [−1, 1) stream (no tf involved). */
export function floats(n: number, seed: number): number[] {
  let state = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    state = Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x9e3779b9;
    state ^= state >>> 13;
    return ((state >>> 0) / 2 ** 32) * 2 - 1;
  });
}
