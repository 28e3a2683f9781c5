/**
 * The three networks the speed benchmarks (bench/train.ts, bench/profile.ts) measure, each built by
 * a registered backbone and, identically, in PyTorch by bench/train_reference.py: an MLP
 * 784→512→128 and a small CNN (conv3×3·32 → pool → conv3×3·64 → pool → dense 128) on 28×28×1, and
 * ResNet-18's layout (residual-cnn style 'resnet', BasicBlocks ×[2, 2, 2, 2], batch norm) at half its
 * widths on 64×64×3. Every one embeds into 128 dimensions.
 */
import * as tf from '@tensorflow/tfjs';
import type { InputShape } from '../core/contracts/backbone.js';
import type { Item } from '../core/contracts/competition.js';
import type { Simkit } from '../core/di/container.js';
import { UserError } from '../core/errors.js';
import { createObjective } from '../core/losses/objective.js';
import type { ModelInputs } from '../core/pipeline/model-inputs.js';
import { Random } from '../core/random.js';
import { trainEmbedding, type EpochRecord, type TrainerOptions } from '../core/training/trainer.js';
import { mlp } from '../plugins/backbones/mlp.js';
import { plainCnn } from '../plugins/backbones/plain-cnn.js';
import { residualCnn, RESNET18_DEFAULTS } from '../plugins/backbones/residual-cnn.js';

export const EMBEDDING_DIM = 128;
export const NUM_CLASSES = 10;
/** The pipeline's embedding chunk (core/pipeline/model.ts), used by PyTorch too. */
export const EMBED_BATCH = 256;
/** Half of ResNet-18's 64-128-256-512: a quarter of its compute, so that two cores finish a step in about a second. */
export const RESNET_WIDTHS = [32, 64, 128, 256] as const;

export const NETWORK_KEYS = ['mlp', 'cnn', 'resnet'] as const;
export type NetworkKey = (typeof NETWORK_KEYS)[number];

export interface BenchNetwork {
  readonly key: NetworkKey;
  readonly label: string;
  readonly input: InputShape;
  readonly batch: number;
  /** Training steps of one timed run (an epoch); the trainer runs as many untimed ones first (its first epoch). */
  readonly trainSteps: number;
  /** Embedding batches of EMBED_BATCH in one timed run, after one untimed batch. */
  readonly embedBatches: number;
  /** Issue targets, as a fraction of PyTorch's samples/s on every core. */
  readonly targets: { readonly train: number; readonly embed: number };
  build(seed: number): tf.LayersModel;
}

function count(variable: string, fallback: number): number {
  const value = process.env[variable];
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new UserError(`${variable}=${value}: expected a whole number ≥ 1`);
  return parsed;
}

const MNIST = { height: 28, width: 28, channels: 1 };

/** The networks, with step counts from TRAIN_<NET>_STEPS and EMBED_<NET>_BATCHES when set. */
export function benchNetworks(): Record<NetworkKey, BenchNetwork> {
  return {
    mlp: {
      key: 'mlp',
      label: 'MLP 784→512→128',
      input: MNIST,
      batch: 128,
      trainSteps: count('TRAIN_MLP_STEPS', 150),
      embedBatches: count('EMBED_MLP_BATCHES', 200),
      targets: { train: 1.0, embed: 0.7 },
      build: (seed) => mlp({ hidden: [512] })(MNIST, EMBEDDING_DIM, seed),
    },
    cnn: {
      key: 'cnn',
      label: 'CNN conv32-pool-conv64-pool-dense128',
      input: MNIST,
      batch: 128,
      trainSteps: count('TRAIN_CNN_STEPS', 50),
      embedBatches: count('EMBED_CNN_BATCHES', 48),
      targets: { train: 1.0, embed: 1.0 },
      build: (seed) => plainCnn({ stages: [[32], [64]], hidden: 0 })(MNIST, EMBEDDING_DIM, seed),
    },
    resnet: {
      key: 'resnet',
      label: `ResNet-18 layout ${RESNET_WIDTHS.join('-')}, 64×64×3`,
      input: { height: 64, width: 64, channels: 3 },
      batch: 64,
      trainSteps: count('TRAIN_RESNET_STEPS', 24),
      embedBatches: count('EMBED_RESNET_BATCHES', 10),
      targets: { train: 1.0, embed: 1.0 },
      build: (seed) =>
        residualCnn({ ...RESNET18_DEFAULTS, widths: RESNET_WIDTHS })(
          { height: 64, width: 64, channels: 3 },
          EMBEDDING_DIM,
          seed,
        ),
    },
  };
}

/** The networks named by NETWORKS (comma-separated; default all), in the order given. */
export function selectedNetworks(): BenchNetwork[] {
  const networks = benchNetworks();
  const names = (process.env.NETWORKS ?? NETWORK_KEYS.join(','))
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  return names.map((name) => {
    if (!(NETWORK_KEYS as readonly string[]).includes(name))
      throw new UserError(`NETWORKS: unknown network "${name}"`, `choose from ${NETWORK_KEYS.join(', ')}`);
    return networks[name as NetworkKey];
  });
}

export function trainableParameters(model: tf.LayersModel): number {
  return model.trainableWeights.reduce(
    (sum, weight) => sum + weight.shape.reduce((product: number, size) => product * size!, 1),
    0,
  );
}

/** `count` random inputs of the network's shape in [0, 1), NHWC. */
export function randomInputs(network: BenchNetwork, count: number, seed = 1): Float32Array {
  const { height, width, channels } = network.input;
  const random = new Random(seed);
  return Float32Array.from({ length: count * height * width * channels }, () => random.next());
}

/**
 * The pipeline's embedding inputs for `network`: random images (the first EMBED_BATCH, reused for every chunk), a fresh
 * tensor per chunk as decoded images become one in the pipeline.
 */
export function embeddingInputs(network: BenchNetwork): ModelInputs {
  const { height, width, channels } = network.input;
  const data = randomInputs(network, EMBED_BATCH, 2);
  return {
    kind: 'input',
    shape: network.input,
    trainingData: () => {
      throw new Error('the embedding benchmarks do not train');
    },
    views: (chunk) =>
      Promise.resolve([
        tf.tensor4d(data.subarray(0, chunk.length * height * width * channels), [
          chunk.length,
          height,
          width,
          channels,
        ]),
      ]),
  };
}

/** `count` items with ids 0, 1, … for embedInChunks. */
export const benchItems = (count: number): Item[] =>
  Array.from({ length: count }, (_, i) => ({ id: String(i), labels: [], extra: {} }));

/**
 * Trains a fresh `network` (seed 1) on random inputs and labels through trainEmbedding, the step
 * PyTorch repeats: dense softmax head, cross-entropy, Adam at 1e-3, clip-norm 5, no warm-up. `epochs`
 * epochs of `steps` batches; `validate` runs after each epoch. Returns the epochs' records.
 */
export async function trainNetwork(
  app: Pick<Simkit, 'registry'>,
  network: BenchNetwork,
  steps: number,
  validate?: TrainerOptions['validate'],
  epochs = 2,
): Promise<EpochRecord[]> {
  const count = steps * network.batch;
  const random = new Random(1);
  const labels = Int32Array.from({ length: count }, () => random.int(NUM_CLASSES));
  const { height, width, channels } = network.input;
  const model = network.build(1);
  const objective = createObjective(
    app,
    { head: 'dense', loss: 'cross-entropy' },
    { embeddingDim: EMBEDDING_DIM, numClasses: NUM_CLASSES },
  );
  try {
    const { history } = await trainEmbedding(
      model,
      objective,
      { data: randomInputs(network, count), shape: [height, width, channels], labels },
      {
        epochs,
        batchSize: network.batch,
        learningRate: 1e-3,
        headLearningRateFactor: 1,
        warmupEpochs: 0,
        clipNorm: 5,
        seed: 1,
        flip: false,
        progress: false,
        validate,
      },
    );
    return history;
  } finally {
    objective.dispose();
    model.dispose();
  }
}
