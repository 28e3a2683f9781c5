// The `pretrained` route with a model in the layout `tensorflowjs_converter --output_format tfjs_layers_model` writes
// (docs/training.md, "Your own pretrained model"): a Keras topology under modelTopology.model_config, weights in
// several shard files cut at a byte count (not at weight boundaries), optionally quantised to uint8.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackboneBuilder } from '../../../core/contracts/backbone.js';
import { Simkit } from '../../../core/di/container.js';
import { initEngine } from '../../../core/engine/backend.js';
import { createObjective } from '../../../core/losses/objective.js';
import { loadModel, saveModel } from '../../../core/models/io.js';
import { runCompetition } from '../../../core/pipeline/run.js';
import { Random } from '../../../core/random.js';
import { trainEmbedding } from '../../../core/training/trainer.js';
import { relativeError } from '../../core/engine/reference.js';
import { tempDir } from '../../core/models/helpers.js';

const SIZE = 12;
const INPUT = { height: SIZE, width: SIZE, channels: 3 };

/** A MobileNetV2-like feature extractor: conv → batch norm → ReLU6 → depthwise 3×3 → batch norm → ReLU → conv 1×1. */
function smallNetwork(side: number | null = SIZE): tf.LayersModel {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const inputs = tf.input({ shape: [side, side, 3], name: 'input_1' });
  const layers = [
    tf.layers.conv2d({
      filters: 8,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      kernelInitializer: init(1),
      name: 'Conv1',
    }),
    tf.layers.batchNormalization({ name: 'bn_Conv1' }),
    tf.layers.reLU({ maxValue: 6, name: 'Conv1_relu' }),
    tf.layers.depthwiseConv2d({
      kernelSize: 3,
      padding: 'same',
      depthwiseInitializer: init(2),
      name: 'block_depthwise',
    }),
    tf.layers.batchNormalization({ name: 'block_depthwise_BN' }),
    tf.layers.reLU({ name: 'block_depthwise_relu' }),
    tf.layers.conv2d({ filters: 6, kernelSize: 1, kernelInitializer: init(3), name: 'block_project' }),
  ];
  const output = layers.reduce((x, layer) => layer.apply(x) as tf.SymbolicTensor, inputs);
  return tf.model({ inputs, outputs: output, name: 'small_mobilenet' });
}

function images(count: number, seed: number): { data: Float32Array; shape: number[]; labels: Int32Array } {
  const random = new Random(seed);
  const labels = Int32Array.from({ length: count }, (_, i) => i % 4);
  const data = Float32Array.from({ length: count * SIZE * SIZE * 3 }, (_, i) =>
    Math.min(1, Math.max(0, labels[Math.floor(i / (SIZE * SIZE * 3))]! / 4 + random.uniform(0, 0.5))),
  );
  return { data, shape: [SIZE, SIZE, 3], labels };
}

interface Quantised {
  readonly spec: tf.io.WeightsManifestEntry;
  readonly bytes: Uint8Array;
  /** The values the quantised bytes stand for, computed here in float64 (q · scale + min). */
  readonly values: Float32Array;
}

/** tensorflowjs_converter's --quantize_uint8: q = round((w − min) / scale), scale = (max − min) / 255. */
function quantiseUint8(spec: tf.io.WeightsManifestEntry, weights: Float32Array): Quantised {
  const [min, max] = [Math.min(...weights), Math.max(...weights)];
  const scale = max > min ? (max - min) / 255 : 1;
  const bytes = Uint8Array.from(weights, (w) => Math.round((w - min) / scale));
  return {
    spec: { ...spec, quantization: { dtype: 'uint8', min, scale } },
    bytes,
    values: Float32Array.from(bytes, (q) => q * scale + min),
  };
}

/**
 * Writes `model` as tensorflowjs_converter does from a Keras model: format "layers-model", the Keras topology under
 * model_config (class Functional), its weights concatenated and cut into shards of `shardBytes`. With `quantise`,
 * the weights are uint8 and the function returns the values they stand for.
 */
async function writeConverted(
  model: tf.LayersModel,
  dir: string,
  { shardBytes, quantise = false }: { shardBytes: number; quantise?: boolean },
): Promise<Float32Array[]> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (saved) => ((artifacts = saved), { modelArtifactsInfo: {} as never })));
  const topology = artifacts!.modelTopology as { class_name: string; config: unknown };
  const specs = artifacts!.weightSpecs!;
  const data = new Uint8Array(artifacts!.weightData as ArrayBuffer);
  const parts: Uint8Array[] = [];
  const written: tf.io.WeightsManifestEntry[] = [];
  const values: Float32Array[] = [];
  let offset = 0;
  for (const spec of specs) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const weights = new Float32Array(data.slice(offset, offset + count * 4).buffer);
    offset += count * 4;
    const quantised = quantise ? quantiseUint8(spec, weights) : undefined;
    parts.push(quantised?.bytes ?? new Uint8Array(weights.buffer));
    written.push(quantised?.spec ?? spec);
    values.push(quantised?.values ?? weights);
  }
  const all = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  parts.reduce((at, part) => (all.set(part, at), at + part.length), 0);
  const shards = Math.ceil(all.length / shardBytes);
  const paths = Array.from({ length: shards }, (_, i) => `group1-shard${i + 1}of${shards}.bin`);
  mkdirSync(dir, { recursive: true });
  paths.forEach((path, i) => writeFileSync(join(dir, path), all.subarray(i * shardBytes, (i + 1) * shardBytes)));
  writeFileSync(
    join(dir, 'model.json'),
    JSON.stringify({
      format: 'layers-model',
      generatedBy: 'keras v2.12.0',
      convertedBy: 'TensorFlow.js Converter v4.22.0',
      modelTopology: {
        keras_version: '2.12.0',
        backend: 'tensorflow',
        model_config: { class_name: 'Functional', config: topology.config },
      },
      weightsManifest: [{ paths, weights: written }],
    }),
  );
  return values;
}

describe('the pretrained backbone with a converted Keras model', () => {
  let app: Simkit;
  const root = tempDir('simkit-converted-');
  let original: tf.LayersModel;
  const x = () => tf.tensor4d(images(6, 11).data, [6, SIZE, SIZE, 3]);

  beforeAll(async () => {
    await initEngine('native');
    app = await Simkit.create();
    original = smallNetwork();
    // Non-trivial moving statistics, as a trained network has.
    tf.tidy(
      () => original.apply(tf.tensor4d(images(16, 3).data, [16, SIZE, SIZE, 3]), { training: true }) as tf.Tensor,
    );
  });
  afterAll(() => {
    original.dispose();
    root.cleanup();
  });

  /** The backbone a run config's `backbone: { name: 'pretrained', options }` builds, through the registry. */
  const backbone = (options: Record<string, unknown>): tf.LayersModel =>
    app.registry<BackboneBuilder>('Backbone').create('pretrained', options)(INPUT, 8, 1);

  /** The pretrained part of a backbone: its layers up to the network's last one. */
  const features = (model: tf.LayersModel, input: tf.Tensor): Float32Array =>
    tf.tidy(() =>
      (
        tf.model({ inputs: model.inputs, outputs: model.getLayer('block_project').output }).predict(input) as tf.Tensor
      ).dataSync(),
    ) as Float32Array;

  async function train(model: tf.LayersModel): Promise<void> {
    const objective = createObjective(
      app,
      { loss: 'multi-similarity', head: 'none' },
      { embeddingDim: 8, numClasses: 4 },
    );
    try {
      await trainEmbedding(model, objective, images(32, 5), {
        epochs: 2,
        batchSize: 16,
        learningRate: 0.01,
        headLearningRateFactor: 1,
        warmupEpochs: 0,
        clipNorm: 5,
        seed: 7,
        progress: false,
      });
    } finally {
      objective.dispose();
    }
  }

  it("frozen: its features equal the saved model's before and after training; the neck trains; the run's model saves and loads back", async () => {
    const dir = join(root.dir, 'float32');
    const tensors = tf.memory().numTensors;
    await writeConverted(original, dir, { shardBytes: 1000 });
    const input = x();
    const expected = tf.tidy(() => (original.predict(input) as tf.Tensor).dataSync()) as Float32Array;
    const model = backbone({ path: dir });
    expect(relativeError(features(model, input), expected)).toBeLessThanOrEqual(1e-6);
    const neck = model.getLayer('neck_embedding').getWeights()[0]!.dataSync().slice();
    await train(model);
    expect(relativeError(features(model, input), expected)).toBeLessThanOrEqual(1e-6);
    expect(relativeError(model.getLayer('neck_embedding').getWeights()[0]!.dataSync(), neck)).toBeGreaterThan(1e-3);
    const embeddings = tf.tidy(() => (model.predict(input) as tf.Tensor).dataSync());
    await saveModel(model, join(root.dir, 'run-model'));
    const loaded = await loadModel(join(root.dir, 'run-model'));
    expect(Array.from(tf.tidy(() => (loaded.predict(input) as tf.Tensor).dataSync()))).toEqual(Array.from(embeddings));
    input.dispose();
    model.dispose();
    loaded.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it("fine-tuned (trainable: true): starts from the saved model's features, and training changes them", async () => {
    const dir = join(root.dir, 'float32-tuned');
    await writeConverted(original, dir, { shardBytes: 700 });
    const input = x();
    const expected = tf.tidy(() => (original.predict(input) as tf.Tensor).dataSync()) as Float32Array;
    const model = backbone({ path: dir, trainable: true });
    expect(relativeError(features(model, input), expected)).toBeLessThanOrEqual(1e-6);
    await train(model);
    expect(relativeError(features(model, input), expected)).toBeGreaterThan(1e-3);
    input.dispose();
    model.dispose();
  });

  it("a run of the hotels sample with backbone: pretrained trains, scores, and keeps the network's features", async () => {
    // Any input size: the network is convolutional, and the run feeds its own image size.
    const anySize = smallNetwork(null);
    anySize.setWeights(original.getWeights());
    const dir = join(root.dir, 'any-size');
    await writeConverted(anySize, dir, { shardBytes: 1000 });
    const config = join(root.dir, 'pretrained.json');
    writeFileSync(
      config,
      JSON.stringify({ models: { image: { backbone: { name: 'pretrained', options: { path: dir } } } } }),
    );
    const summary = await runCompetition(app, {
      competition: 'hotels',
      config,
      out: join(root.dir, 'hotels'),
      epochs: 1,
    });
    expect(summary.validation).toEqual(expect.any(Number));
    expect(summary.test?.score).toEqual(expect.any(Number));
    const trained = await loadModel(join(summary.runDir, 'image', 'model'));
    const input = tf.randomUniform([4, 32, 32, 3], 0, 1, 'float32', 3);
    const expected = tf.tidy(() => (anySize.predict(input) as tf.Tensor).dataSync()) as Float32Array;
    expect(relativeError(features(trained, input), expected)).toBeLessThanOrEqual(1e-6);
    input.dispose();
    trained.dispose();
    anySize.dispose();
  });

  it('uint8-quantised weights (--quantize_uint8) decode to q · scale + min', async () => {
    const dir = join(root.dir, 'uint8');
    const values = await writeConverted(original, dir, { shardBytes: 300, quantise: true });
    const dequantised = smallNetwork();
    dequantised.setWeights(values.map((v, i) => tf.tensor(v, original.weights[i]!.shape as number[])));
    const input = x();
    const expected = tf.tidy(() => (dequantised.predict(input) as tf.Tensor).dataSync()) as Float32Array;
    const model = backbone({ path: dir });
    expect(relativeError(features(model, input), expected)).toBeLessThanOrEqual(1e-6);
    input.dispose();
    model.dispose();
    dequantised.dispose();
  });
});
