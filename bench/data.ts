/**
 * Whether the data keeps the training step busy: `make shopee`'s image model (its config, its sample, its split at
 * seed 42) trained three times through core/pipeline's trainEmbeddingModel, printing each epoch's samples/s:
 * - pure step: every step trains on one batch already resident as a tensor (the step loop with no data work);
 * - cached: the pipeline's image stream, images decoded once into the cache and augmented per epoch;
 * - decoded every epoch: the same stream with the cache off (sharp decodes every image every epoch).
 * The target is cached ≥ 85% of the pure step rate, on the epochs after the first (which builds kernels). An epoch of
 * the sample lasts a fraction of a second, so the pure and cached runs alternate ROUNDS times (default 3) and the
 * ratio is that of the medians over every round's epochs, each round's printed beside it. EPOCHS overrides the
 * config's epochs; the backend comes from `--backend` or SIMKIT_BACKEND.
 */
import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { ImageModelConfig, Item } from '../core/contracts/competition.js';
import { loadImages } from '../core/data/images.js';
import { Simkit } from '../core/di/container.js';
import { initEngine } from '../core/engine/backend.js';
import { trainEmbeddingModel } from '../core/pipeline/embedding-model.js';
import { imageInputs, type ModelInputs } from '../core/pipeline/model-inputs.js';
import { splitForValidation } from '../core/pipeline/split.js';
import { Random } from '../core/random.js';
import type { EpochRecord } from '../core/training/callbacks.js';
import { imageStreamData, type TrainingData } from '../core/training/data.js';
import { shopee } from '../competitions/shopee/shopee.js';
import { backendRequest, machineLine, printTable, runBenchmark } from './harness.js';

const SEED = 42;
const TARGET = 0.85;

/**
 * Training data whose every batch is the same resident batch (clones of its tensors): no data work per step. The
 * batch is decoded in `prepare`, before the epochs are timed.
 */
function residentData(items: readonly Item[], labels: Int32Array, size: number, batchSize: number): TrainingData {
  let batch: { x: tf.Tensor4D; labels: tf.Tensor1D } | undefined;
  return {
    labels,
    async prepare() {
      const { data } = await loadImages(items.slice(0, batchSize), { size, channels: 3, strict: true });
      batch = {
        x: tf.tensor4d(data, [batchSize, size, size, 3]),
        labels: tf.tensor1d(labels.slice(0, batchSize), 'int32'),
      };
    },
    async *batches(plan) {
      for (const position of plan.keys())
        yield { x: batch!.x.clone(), labels: batch!.labels.clone(), size: batchSize, plan: position };
    },
    close: async () => tf.dispose(batch ? [batch.x, batch.labels] : []),
  };
}

/** The epochs of one training run of the image model on `train`, with `data` making its batches. */
async function trainWith(
  app: Simkit,
  spec: ImageModelConfig,
  inputs: ModelInputs,
  train: readonly Item[],
  data: (labels: Int32Array) => TrainingData,
): Promise<EpochRecord[]> {
  const dir = await mkdtemp(join(tmpdir(), 'simkit-bench-data-'));
  const wrapped: ModelInputs = { ...inputs, trainingData: (_items, labels) => data(labels) };
  try {
    const model = await trainEmbeddingModel(
      app,
      'image',
      spec,
      wrapped,
      { train, validation: [] },
      { dir, seed: SEED },
    );
    model.dispose();
    return model.training.history;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function main(): Promise<void> {
  const engine = await initEngine(backendRequest());
  const app = await Simkit.create();
  const competition = shopee();
  const base = competition.config.models.image as ImageModelConfig;
  const spec: ImageModelConfig = { ...base, epochs: Number(process.env.EPOCHS ?? base.epochs) };
  const sample = await mkdtemp(join(tmpdir(), 'simkit-bench-data-sample-'));
  try {
    await competition.generateSample(sample, SEED);
    const items = await competition.readTrain(sample);
    const { train } = splitForValidation(items, competition.config.validation, new Random(SEED));
    const inputs = imageInputs(competition, spec);
    const size = spec.imageSize;
    const batchSize = 64;
    process.stdout.write(
      `simkit backend: ${engine.name} (${engine.reason})\n${machineLine()}\n` +
        `make shopee's image model: ${spec.backbone.name} ${JSON.stringify(spec.backbone.options)} at ${size} px, ` +
        `${train.length} training items, ${spec.epochs} epochs, P×K batches of ${batchSize}\n`,
    );
    const augment = { flip: true };
    const stream = (cache: boolean) => (labels: Int32Array) =>
      imageStreamData(train, labels, { size, channels: 3, augment, seed: SEED, cache: cache ? {} : false });
    const rounds: { pure: EpochRecord[]; cached: EpochRecord[] }[] = [];
    for (let round = 0; round < Number(process.env.ROUNDS ?? 3); round++) {
      rounds.push({
        pure: await trainWith(app, spec, inputs, train, (labels) => residentData(train, labels, size, batchSize)),
        cached: await trainWith(app, spec, inputs, train, stream(true)),
      });
    }
    const { pure, cached } = rounds[0]!;
    const decoded = await trainWith(app, spec, inputs, train, stream(false));
    const share = (record: EpochRecord) => `${((record.dataWait ?? 0) * 100).toFixed(0)}%`;
    printTable(
      [
        'epoch',
        'pure step samples/s',
        'cached samples/s',
        'data wait',
        'ratio',
        'decoded each epoch',
        'data wait',
        'ratio',
      ],
      pure.map((step, i) => [
        String(i + 1),
        step.samplesPerSecond.toFixed(0),
        cached[i]!.samplesPerSecond.toFixed(0),
        share(cached[i]!),
        (cached[i]!.samplesPerSecond / step.samplesPerSecond).toFixed(2),
        decoded[i]!.samplesPerSecond.toFixed(0),
        share(decoded[i]!),
        (decoded[i]!.samplesPerSecond / step.samplesPerSecond).toFixed(2),
      ]),
    );
    const after = (history: readonly EpochRecord[]) => median(history.slice(1).map((r) => r.samplesPerSecond));
    const perRound = rounds.map((round) => (after(round.cached) / after(round.pure)).toFixed(2));
    const allPure = rounds.flatMap((round) => round.pure.slice(1));
    const allCached = rounds.flatMap((round) => round.cached.slice(1));
    const pureRate = median(allPure.map((r) => r.samplesPerSecond));
    const cachedRate = median(allCached.map((r) => r.samplesPerSecond));
    const ratio = cachedRate / pureRate;
    process.stdout.write(
      `\nthe table is round 1 of ${rounds.length}; cached ÷ pure step per round: ${perRound.join(', ')}\n` +
        `median of epochs 2-${spec.epochs} over the ${rounds.length} rounds: pure step ${pureRate.toFixed(0)} ` +
        `samples/s, cached ${cachedRate.toFixed(0)} (${ratio.toFixed(2)}× the pure step, target ≥ ${TARGET}: ` +
        `${ratio >= TARGET ? 'met' : 'NOT met'}); round 1, decoded every epoch ${after(decoded).toFixed(0)} ` +
        `(${(after(decoded) / after(pure)).toFixed(2)}× its pure step)\n`,
    );
  } finally {
    await rm(sample, { recursive: true, force: true });
  }
}

await runBenchmark(main);
