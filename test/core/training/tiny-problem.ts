// A small separable problem trained by both the checkpoint tests and the child process they kill.
import 'reflect-metadata';
import * as tf from '@tensorflow/tfjs';
import { Simkit } from '../../../core/di/container.js';
import type { ObjectiveConfig } from '../../../core/contracts/loss.js';
import { createObjective } from '../../../core/losses/objective.js';
import { Random } from '../../../core/random.js';
import { trainEmbedding, type TrainerOptions, type TrainingResult } from '../../../core/training/trainer.js';
import { mlp } from '../../../plugins/backbones/mlp.js';

export const FEATURES = 8;
export const CLASSES = 4;

export function tinyDataset(count: number): {
  data: Float32Array;
  shape: [number, number, number];
  labels: Int32Array;
} {
  const random = new Random(3);
  const data = new Float32Array(count * FEATURES);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % CLASSES;
    for (let j = 0; j < FEATURES; j++)
      data[i * FEATURES + j] = (j === labels[i]! * 2 ? 2 : 0) + random.uniform(-0.3, 0.3);
  }
  return { data, shape: [1, 1, FEATURES], labels };
}

export const TINY_OPTIONS = {
  batchSize: 16,
  learningRate: 0.01,
  headLearningRateFactor: 2,
  warmupEpochs: 1,
  clipNorm: 5,
  seed: 9,
  flip: false,
  progress: false,
} as const;

const ARCFACE: ObjectiveConfig = { head: 'arcface', headOptions: { margin: 0.2, scale: 8 } };

/**
 * Trains a fresh MLP + ArcFace (or `objective`) on `count` samples; returns the result, final weights, the objective's
 * untrained state (cross-batch memory's queue) and tensor counts.
 */
export async function trainTiny(
  app: Simkit,
  count: number,
  options: Partial<TrainerOptions> & { epochs: number },
  objectiveConfig: ObjectiveConfig = ARCFACE,
): Promise<{
  result: TrainingResult;
  weights: number[][];
  head: number[][];
  state: Record<string, number[]>;
  tensorsBefore: number;
  tensorsAfter: number;
}> {
  const model = mlp({ hidden: [16] })({ height: 1, width: 1, channels: FEATURES }, 4, 5);
  const objective = createObjective(app, objectiveConfig, { embeddingDim: 4, numClasses: CLASSES });
  const tensorsBefore = tf.memory().numTensors;
  try {
    const result = await trainEmbedding(model, objective, tinyDataset(count), { ...TINY_OPTIONS, ...options });
    return {
      result,
      weights: model.getWeights().map((w) => Array.from(w.dataSync())),
      head: objective.variables().map((v) => Array.from(v.dataSync())),
      state: Object.fromEntries(
        Object.entries(objective.getState?.() ?? {}).map(([name, tensor]) => {
          const values = Array.from(tensor.dataSync());
          if (!(tensor instanceof tf.Variable)) tensor.dispose();
          return [name, values];
        }),
      ),
      tensorsBefore,
      tensorsAfter: tf.memory().numTensors,
    };
  } finally {
    objective.dispose();
    model.dispose();
  }
}
