/**
 * Training throughput of the project's loop (core/training: trainEmbedding with L2-normalised
 * embeddings, a dense softmax head, cross-entropy, Adam, gradient clipping) on two models — an MLP
 * 784→512→128 and a small CNN (conv3×3·32 → pool → conv3×3·64 → pool → dense 128), 28×28×1 input,
 * batch 128 — next to the identical models and step in PyTorch (python3-torch) on this machine, with
 * one thread and with every core. Prints samples/s and ratios (targets: MLP ≥ 0.5×, CNN ≥ 0.3×).
 */
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { seededInitializers } from '../core/tensors.js';
import { Simkit } from '../core/di/container.js';
import { initEngine } from '../core/engine/backend.js';
import { createObjective } from '../core/losses/objective.js';
import { Random } from '../core/random.js';
import { trainEmbedding } from '../core/training/trainer.js';
import { mlp } from '../plugins/backbones/mlp.js';

const BATCH = 128;
const MLP_STEPS = Number(process.env.TRAIN_MLP_STEPS ?? 60);
const CNN_STEPS = Number(process.env.TRAIN_CNN_STEPS ?? 20);
const TARGETS = { mlp: 0.5, cnn: 0.3 } as const;
const HERE = dirname(fileURLToPath(import.meta.url));
// Beside this file when run from source; two levels up (dist/bench → bench) when compiled.
const REFERENCE = [join(HERE, 'train_reference.py'), resolve(HERE, '..', '..', 'bench', 'train_reference.py')].find(existsSync)!;

function smallCnn(seed: number): tf.LayersModel {
  const init = seededInitializers(seed);
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init.he() }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init.he() }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 128, kernelInitializer: init.glorot() }),
    ],
  });
}

/** Samples/s of the second of two epochs of `steps` batches (the first builds kernels and optimiser slots). */
async function samplesPerSecond(app: Simkit, model: tf.LayersModel, steps: number): Promise<number> {
  const random = new Random(1);
  const count = steps * BATCH;
  const data = Float32Array.from({ length: count * 784 }, () => random.next());
  const labels = Int32Array.from({ length: count }, () => random.int(10));
  const objective = createObjective(app, { head: 'dense', loss: 'cross-entropy' }, { embeddingDim: 128, numClasses: 10 });
  try {
    const { history } = await trainEmbedding(model, objective, { data, shape: [28, 28, 1], labels }, {
      epochs: 2, batchSize: BATCH, learningRate: 1e-3, headLearningRateFactor: 1, warmupEpochs: 0, clipNorm: 5, seed: 1, flip: false, progress: false,
    });
    return history[1]!.samplesPerSecond;
  } finally {
    objective.dispose();
    model.dispose();
  }
}

function pytorch(threads: number): { torch: string; mlp: number; cnn: number } | undefined {
  const run = spawnSync('/usr/bin/python3', [REFERENCE, String(threads), String(MLP_STEPS), String(CNN_STEPS), String(BATCH)], {
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, OMP_NUM_THREADS: String(threads) },
  });
  if (run.status !== 0) {
    process.stdout.write(`PyTorch reference not run: ${(run.stderr || run.error?.message || 'failed').trim().split('\n').at(-1)} (install Debian's python3-torch)\n`);
    return undefined;
  }
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!);
}

async function main(): Promise<void> {
  const engine = await initEngine('wasm');
  const app = await Simkit.create();
  const simkit = {
    mlp: await samplesPerSecond(app, mlp({ hidden: [512] })({ height: 28, width: 28, channels: 1 }, 128, 1), MLP_STEPS),
    cnn: await samplesPerSecond(app, smallCnn(1), CNN_STEPS),
  };
  const cores = cpus().length;
  const single = pytorch(1);
  const all = cores > 1 ? pytorch(cores) : single;
  process.stdout.write(`training throughput, batch ${BATCH}, 28×28×1, dense softmax head on L2-normalised 128-d embeddings, Adam, clip 5\n`);
  process.stdout.write(`simkit: ${engine.name} backend; PyTorch ${single?.torch ?? '—'} on this machine (${cores} cores)\n\n`);
  const columns = ['model', 'simkit samples/s', 'PyTorch 1 thread', `PyTorch ${cores} threads`, 'ratio (vs all cores)', 'target'];
  process.stdout.write(`${columns[0]!.padEnd(34)}${columns.slice(1).map((c) => c.padStart(22)).join('')}\n`);
  for (const [key, label] of [['mlp', 'MLP 784→512→128'], ['cnn', 'CNN conv32-pool-conv64-pool-dense128']] as const) {
    const reference = all?.[key];
    const ratio = reference ? simkit[key] / reference : undefined;
    const cells = [
      simkit[key].toFixed(0),
      single ? `${single[key].toFixed(0)} (${(simkit[key] / single[key]).toFixed(2)}×)` : '—',
      reference ? reference.toFixed(0) : '—',
      ratio === undefined ? '—' : `${ratio.toFixed(2)}×`,
      `≥ ${TARGETS[key]}× ${ratio === undefined ? '' : ratio >= TARGETS[key] ? 'met' : 'NOT met'}`,
    ];
    process.stdout.write(`${label.padEnd(34)}${cells.map((c) => c.padStart(22)).join('')}\n`);
  }
}

await main();
