import { mkdir } from 'node:fs/promises';
import type * as tf from '@tensorflow/tfjs';
import type { Objective } from '../contracts/loss.js';
import type { Sampler } from '../contracts/loss.js';
import { withPrecision, type Precision } from '../engine/native/precision.js';
import { Random } from '../random.js';
import { badImageQuota } from './bad-image-quota.js';
import type { EpochRecord, TrainingCallback, TrainingLoop } from './callbacks.js';
import { Checkpoints } from './checkpoint.js';
import { checkpointing, resumeOrStart } from './checkpointing.js';
import { inMemoryData, type InMemoryDataset, type TrainingData } from './data.js';
import { earlyStopping, type EarlyStopping } from './early-stopping.js';
import { epochLog } from './epoch-log.js';
import { epochPlanner, type EpochPlan } from './epoch-plan.js';
import { FineTuningPhases, type FineTuningOptions, type PhaseVariables } from './fine-tuning.js';
import { createOptimizer, type OptimizerOptions } from './optimizer.js';
import { trainEpoch, type StepSettings } from './step.js';

export type { InMemoryDataset } from './data.js';
export type { EpochRecord } from './callbacks.js';
export type { EarlyStopping } from './early-stopping.js';

export interface TrainerOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** Learning rate of the objective's own variables (class matrices) relative to the model's. */
  readonly headLearningRateFactor: number;
  readonly warmupEpochs: number;
  /** Gradients are scaled down when their global norm exceeds this (0: no clipping). */
  readonly clipNorm: number;
  readonly seed: number;
  /** Default: Adam without weight decay. */
  readonly optimizer?: OptimizerOptions;
  /** Mirror in-memory images left-right at random (half of each batch on average). */
  readonly flip?: boolean;
  /**
   * Batches of one epoch (e.g. P×K; shuffled fixed-size batches without one), or, for an
   * objective on pairs, a pair sampler whose pairs are taken `batchSize` at a time.
   */
  readonly sampler?: Sampler;
  /** Where `log.jsonl` and the per-epoch checkpoints go; nothing is written without it. */
  readonly runDir?: string;
  /** Checkpoints kept besides the best epoch's. Default 2. */
  readonly keepCheckpoints?: number;
  /** Continue from the latest checkpoint in `runDir` (a fresh start when there is none). */
  readonly resume?: boolean;
  /** Validation metrics after each epoch (higher is better). */
  readonly validate?: () => Promise<Record<string, number>>;
  /** Stop when validation stops improving, and restore the best epoch's weights. */
  readonly earlyStopping?: EarlyStopping;
  /** Largest share of the training samples that may be unreadable in an epoch (default: no limit). */
  readonly maxSkippedShare?: number;
  /** A progress bar per epoch; default: when stderr is a terminal. */
  readonly progress?: boolean;
  /** Head-only epochs, then the pretrained backbone unfrozen at a lower rate (core/training/fine-tuning.ts). */
  readonly fineTuning?: FineTuningOptions;
  /** Precision of the native backend's convolutions and matmuls while training (default: the precision as set). */
  readonly precision?: Precision;
}

export interface TrainingResult {
  readonly history: EpochRecord[];
  /** Epoch whose weights the model holds at the end (the best one after early stopping). */
  readonly epoch: number;
  readonly stoppedEarly: boolean;
  readonly resumedFrom: number | null;
}

const ADAM: OptimizerOptions = { name: 'adam', momentum: 0.9, weightDecay: 0 };

function fingerprint(model: tf.LayersModel, objective: Objective): string {
  const shapes = (tensors: readonly { shape: readonly (number | null)[] }[]) =>
    tensors.map((t) => t.shape.join('×')).join(',');
  return `model[${shapes(model.weights)}] head[${shapes(objective.variables())}]`;
}

function isInMemory(data: InMemoryDataset | TrainingData): data is InMemoryDataset {
  return 'data' in data && 'shape' in data;
}

/** The loop's starting point: the model, the objective, fresh optimisers and the state before epoch 1. */
function startLoop(model: tf.LayersModel, objective: Objective, options: TrainerOptions): TrainingLoop {
  const random = new Random(options.seed);
  const optimizer = options.optimizer ?? ADAM;
  const { fineTuning } = options;
  // Phases set the layers' trainable flags, which order model.weights (and so the fingerprint).
  const phases = fineTuning ? new FineTuningPhases(model, fineTuning) : undefined;
  const modelFingerprint = fingerprint(model, objective);
  return {
    model,
    objective,
    modelOptimizer: createOptimizer(optimizer, options.learningRate),
    headOptimizer: createOptimizer(
      { ...optimizer, weightDecay: 0 },
      options.learningRate * options.headLearningRateFactor,
    ),
    ...(phases && fineTuning
      ? {
          phases,
          backboneOptimizer: createOptimizer(optimizer, options.learningRate * fineTuning.backboneLearningRateFactor),
        }
      : {}),
    random,
    epochs: options.epochs,
    fingerprint: modelFingerprint,
    state: {
      epoch: 0,
      step: 0,
      randomState: random.getState(),
      history: [],
      best: null,
      epochsWithoutImprovement: 0,
      fingerprint: modelFingerprint,
    },
    resumedFrom: null,
    stoppedEarly: false,
  };
}

/** The callbacks of a training run, in the order each hook runs them. */
function trainingCallbacks(options: TrainerOptions, checkpoints: Checkpoints | undefined): TrainingCallback[] {
  return [
    badImageQuota(options.maxSkippedShare),
    ...(options.earlyStopping ? [earlyStopping(options.earlyStopping, checkpoints)] : []),
    epochLog(options.runDir),
    ...(checkpoints ? [checkpointing(checkpoints)] : []),
  ];
}

/** One epoch: the step loop, the callbacks' checks of the data, validation, the record, the callbacks' epoch end. */
async function runEpoch(
  loop: TrainingLoop,
  data: TrainingData,
  plan: EpochPlan,
  epoch: number,
  settings: StepSettings & { readonly validate?: TrainerOptions['validate']; readonly allTrainable: PhaseVariables },
  callbacks: readonly TrainingCallback[],
): Promise<void> {
  const started = Date.now();
  const trained = loop.phases?.enter(epoch) ?? settings.allTrainable;
  const totals = await trainEpoch(loop, data, plan, epoch, settings, trained);
  const skipped = data.skipped ?? 0;
  for (const callback of callbacks) callback.onBatchesDone?.({ epoch, skipped, samples: data.labels.length }, loop);
  const seconds = (Date.now() - started) / 1000;
  const validation = settings.validate ? await settings.validate() : undefined;
  const record: EpochRecord = {
    epoch: epoch + 1,
    loss: totals.lossSum / Math.max(1, totals.samples),
    learningRate: totals.learningRate,
    seconds,
    samplesPerSecond: totals.samples / seconds,
    dataWait: totals.dataWaitSeconds / seconds,
    validation,
    ...(skipped ? { skipped } : {}),
    ...(loop.phases ? { phase: trained.phase } : {}),
  };
  const history = [...loop.state.history, record];
  loop.state = { ...loop.state, epoch: epoch + 1, randomState: loop.random.getState(), history };
  for (const callback of callbacks) await callback.onEpochEnd?.(record, loop);
}

/**
 * Trains `model` (inputs → raw embeddings) with `objective` on L2-normalised embeddings: Adam, AdamW
 * or SGD with momentum, linear warm-up and cosine decay, a separate learning rate for the
 * objective's variables, global-norm clipping. Around the step loop, callbacks keep the bad-image
 * quota, stop early, log each epoch (to `log.jsonl` with a run directory) and checkpoint model,
 * objective, optimisers, epoch and random state after each epoch, so that `resume` continues exactly
 * where a stopped run left off.
 */
export function trainEmbedding(
  model: tf.LayersModel,
  objective: Objective,
  dataset: InMemoryDataset | TrainingData,
  options: TrainerOptions,
): Promise<TrainingResult> {
  return withPrecision(options.precision, () => trainInPrecision(model, objective, dataset, options));
}

async function trainInPrecision(
  model: tf.LayersModel,
  objective: Objective,
  dataset: InMemoryDataset | TrainingData,
  options: TrainerOptions,
): Promise<TrainingResult> {
  const data = isInMemory(dataset) ? inMemoryData(dataset, { flip: options.flip }) : dataset;
  const planEpoch = epochPlanner(objective.batch, Array.from(data.labels), options);
  const stepsPerEpoch = planEpoch(new Random(options.seed)).batches.length;
  const loop = startLoop(model, objective, options);
  const checkpoints = options.runDir ? new Checkpoints(options.runDir, options.keepCheckpoints) : undefined;
  const callbacks = trainingCallbacks(options, checkpoints);
  const settings = {
    ...options,
    stepsPerEpoch,
    warmupSteps: options.warmupEpochs * stepsPerEpoch,
    backboneFactor: options.fineTuning?.backboneLearningRateFactor ?? 1,
    allTrainable: {
      phase: 'unfrozen' as const,
      backbone: [],
      neck: model.trainableWeights.map((weight) => weight.read() as tf.Variable),
    },
    headVariables: objective.variables(),
  };
  try {
    if (options.runDir) await mkdir(options.runDir, { recursive: true });
    await resumeOrStart(checkpoints, loop, options.resume);
    if (loop.state.epoch < options.epochs) await data.prepare?.();
    for (const callback of callbacks) await callback.onStart?.(loop);
    for (let epoch = loop.state.epoch; epoch < options.epochs && !loop.stoppedEarly; epoch++)
      await runEpoch(loop, data, planEpoch(loop.random), epoch, settings, callbacks);
    for (const callback of callbacks) callback.onEnd?.(loop);
    const { history, epoch } = loop.state;
    return {
      history: [...history],
      epoch: loop.keptEpoch ?? epoch,
      stoppedEarly: loop.stoppedEarly,
      resumedFrom: loop.resumedFrom,
    };
  } finally {
    for (const callback of callbacks) callback.dispose?.();
    loop.modelOptimizer.dispose();
    loop.headOptimizer.dispose();
    loop.backboneOptimizer?.dispose();
    await data.close?.();
  }
}
