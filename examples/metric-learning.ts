/**
 * Trains a small MLP on synthetic clustered data twice — with an ArcFace head and with a triplet
 * loss + semi-hard mining — and prints the retrieval metrics of held-out items before and after.
 * Run: npx tsx examples/metric-learning.ts
 */
import 'reflect-metadata';
import * as tf from '@tensorflow/tfjs';
import type { BatchSampler, ObjectiveConfig } from '../core/contracts/loss.js';
import { Simkit } from '../core/di/container.js';
import { initEngine } from '../core/engine/backend.js';
import { l2Normalize } from '../core/losses/class-matrix.js';
import { createObjective } from '../core/losses/objective.js';
import { retrievalMetrics } from '../core/metrics/retrieval.js';
import { Random } from '../core/random.js';
import { trainEmbedding } from '../core/training/trainer.js';
import { mlp } from '../plugins/backbones/mlp.js';

const CLASSES = 30;
const PER_CLASS = 12;
const FEATURES = 32;

/** Each class is a random centre (the same for every seed of noise); items are the centre plus large noise. */
function dataset(noiseSeed: number): { data: Float32Array; labels: Int32Array } {
  const centreRandom = new Random(1);
  const centres = Array.from({ length: CLASSES }, () =>
    Array.from({ length: FEATURES }, () => centreRandom.uniform(-1, 1)),
  );
  const random = new Random(noiseSeed);
  const data = new Float32Array(CLASSES * PER_CLASS * FEATURES);
  const labels = new Int32Array(CLASSES * PER_CLASS);
  for (let i = 0; i < labels.length; i++) {
    labels[i] = i % CLASSES;
    for (let f = 0; f < FEATURES; f++)
      data[i * FEATURES + f] = centres[labels[i]!]![f]! + random.uniform(-1.6, 1.6) * (f < 8 ? 1.5 : 1);
  }
  return { data, labels };
}

function evaluate(
  model: tf.LayersModel,
  data: Float32Array,
  labels: Int32Array,
): { precisionAt1: number; mapAtR: number } {
  const neighbours = tf.tidy(() => {
    const e = l2Normalize(model.predict(tf.tensor4d(data, [labels.length, 1, 1, FEATURES])) as tf.Tensor2D);
    const similarity = tf.matMul(e, e, false, true).sub(tf.eye(labels.length).mul(10));
    return (tf.topk(similarity, 20).indices.arraySync() as number[][]).map((row) => row.map((j) => labels[j]!));
  });
  const m = retrievalMetrics(Array.from(labels), neighbours);
  return { precisionAt1: m.precisionAt1, mapAtR: m.mapAtR };
}

async function main(): Promise<void> {
  await initEngine(process.env.SIMKIT_BACKEND ?? 'wasm');
  const app = await Simkit.create();
  const train = dataset(2);
  // Held-out items: the same classes, other draws of the noise.
  const heldOut = dataset(3);
  const runs: [string, ObjectiveConfig][] = [
    ['ArcFace (m 0.3, s 16) + cross-entropy', { head: 'arcface', headOptions: { margin: 0.3, scale: 16 } }],
    ['triplet (m 0.2) + semi-hard mining', { loss: 'triplet', lossOptions: { margin: 0.2 }, miner: 'semi-hard' }],
  ];
  for (const [name, config] of runs) {
    const model = mlp({ hidden: [64] })({ height: 1, width: 1, channels: FEATURES }, 16, 3);
    const before = evaluate(model, heldOut.data, heldOut.labels);
    const objective = createObjective(app, config, { embeddingDim: 16, numClasses: CLASSES });
    await trainEmbedding(
      model,
      objective,
      { data: train.data, shape: [1, 1, FEATURES], labels: train.labels },
      {
        epochs: 15,
        batchSize: 60,
        learningRate: 0.01,
        headLearningRateFactor: 1,
        warmupEpochs: 1,
        clipNorm: 5,
        seed: 7,
        flip: false,
        sampler: app.registry<BatchSampler>('Sampler').create('pk', { classesPerBatch: 15, samplesPerClass: 4 }),
      },
    );
    const after = evaluate(model, heldOut.data, heldOut.labels);
    console.log(
      `${name.padEnd(40)} precision@1 ${before.precisionAt1.toFixed(3)} → ${after.precisionAt1.toFixed(3)}   MAP@R ` +
        `${before.mapAtR.toFixed(3)} → ${after.mapAtR.toFixed(3)}`,
    );
    objective.dispose();
    model.dispose();
  }
}

await main();
