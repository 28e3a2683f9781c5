import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { writeFileAtomic } from '../io/atomic-write.js';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BatchKind, Objective, ObjectiveBatch, Sampler } from '../contracts/loss.js';
import { UserError } from '../errors.js';
import { l2Normalize } from '../tensors.js';
import { log } from '../log.js';
import { Random } from '../random.js';
import { Checkpoints, refuseShrinkingResume, type CheckpointState, type TensorGroups } from './checkpoint.js';
import { inMemoryData, type InMemoryDataset, type TrainingData } from './data.js';
import { createOptimizer, type OptimizerOptions, type ScheduledOptimizer } from './optimizer.js';
import { epochProgress } from '../progress.js';
import { warmupCosine } from './schedule.js';

export type { InMemoryDataset } from './data.js';

export interface EarlyStopping {
  /** Epochs without improvement of `metric` before training stops. */
  readonly patience: number;
  /** A validation metric (higher is better); default: the first one `validate` returns. */
  readonly metric?: string;
  /** Smallest increase that counts as an improvement. */
  readonly minDelta?: number;
}

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
}

export interface EpochRecord {
  readonly epoch: number;
  readonly loss: number;
  readonly learningRate: number;
  readonly seconds: number;
  readonly samplesPerSecond: number;
  readonly validation?: Record<string, number>;
  /** Samples that could not be read this epoch. */
  readonly skipped?: number;
}

export interface TrainingResult {
  readonly history: EpochRecord[];
  /** Epoch whose weights the model holds at the end (the best one after early stopping). */
  readonly epoch: number;
  readonly stoppedEarly: boolean;
  readonly resumedFrom: number | null;
}

const ADAM: OptimizerOptions = { name: 'adam', momentum: 0.9, weightDecay: 0 };

function shuffledBatches(count: number, batchSize: number, random: Random): number[][] {
  const order = random.shuffle([...Array(count).keys()]);
  const batches: number[][] = [];
  for (let start = 0; start + batchSize <= count || (start < count && batches.length === 0); start += batchSize) {
    batches.push(order.slice(start, start + batchSize));
  }
  return batches;
}

function fingerprint(model: tf.LayersModel, objective: Objective): string {
  const shapes = (tensors: readonly { shape: readonly (number | null)[] }[]) =>
    tensors.map((t) => t.shape.join('×')).join(',');
  return `model[${shapes(model.weights)}] head[${shapes(objective.variables())}]`;
}

function isInMemory(data: InMemoryDataset | TrainingData): data is InMemoryDataset {
  return 'data' in data && 'shape' in data;
}

/** One epoch's batches as dataset positions; pair batches carry a target per pair. */
interface EpochPlan {
  readonly batches: number[][];
  readonly targets?: number[][];
}

/**
 * How an epoch is drawn for the objective's batch kind. Labels: the sampler's batches, or shuffled
 * ones. Views: each shuffled (or sampled) batch of B items twice over, [x₁…x_B, x₁…x_B], so that
 * the data source augments every position differently (two views). Pairs: the pair sampler's pairs,
 * B at a time, as [a₁…a_B, b₁…b_B].
 */
function epochPlanner(
  kind: BatchKind,
  labels: readonly number[],
  options: TrainerOptions,
): (random: Random) => EpochPlan {
  const { sampler, batchSize } = options;
  if (kind === 'pairs') {
    if (sampler?.kind !== 'pairs') {
      throw new UserError(
        'this objective trains on pairs, which a batch sampler does not make',
        'choose a pair sampler: balanced-pairs or all-pairs (`simkit list samplers`)',
      );
    }
    return (random) => {
      const batches: number[][] = [];
      const targets: number[][] = [];
      let chunk: { a: number; b: number; target: number }[] = [];
      const flush = () => {
        batches.push([...chunk.map((pair) => pair.a), ...chunk.map((pair) => pair.b)]);
        targets.push(chunk.map((pair) => pair.target));
        chunk = [];
      };
      for (const pair of sampler.pairs(labels, random)) {
        chunk.push(pair);
        if (chunk.length === batchSize) flush();
      }
      if (chunk.length > 0) flush();
      return { batches, targets };
    };
  }
  if (sampler?.kind === 'pairs')
    throw new UserError(
      `sampler yields pairs, but this objective trains on ${kind === 'views' ? 'two views per item' : 'labelled batches'}`,
      'choose a batch sampler (pk) or none',
    );
  const items = (random: Random) =>
    sampler
      ? sampler.epoch(labels, random).map((batch) => batch.indices)
      : shuffledBatches(labels.length, batchSize, random);
  if (kind === 'views') return (random) => ({ batches: items(random).map((batch) => [...batch, ...batch]) });
  return (random) => ({ batches: items(random) });
}

/** The loss's input from one forward pass over the batch: pair and view batches are split in halves. */
function objectiveBatch(
  kind: BatchKind,
  embeddings: tf.Tensor2D,
  labels: tf.Tensor1D,
  targets: tf.Tensor1D | undefined,
): ObjectiveBatch {
  if (kind === 'labels') return { kind, embeddings, labels };
  const [a, b] = tf.split(embeddings, 2, 0) as [tf.Tensor2D, tf.Tensor2D];
  return kind === 'views' ? { kind, a, b } : { kind, a, b, targets: targets! };
}

/**
 * Trains `model` (inputs → raw embeddings) with `objective` on L2-normalised embeddings: Adam, AdamW
 * or SGD with momentum, linear warm-up and cosine decay, a separate learning rate for the
 * objective's variables, global-norm clipping, validation and early stopping. With a run directory
 * it logs each epoch to `log.jsonl` and checkpoints model, objective, optimisers, epoch and random
 * state after each epoch, so that `resume` continues exactly where a stopped run left off.
 */
export async function trainEmbedding(
  model: tf.LayersModel,
  objective: Objective,
  dataset: InMemoryDataset | TrainingData,
  options: TrainerOptions,
): Promise<TrainingResult> {
  const data = isInMemory(dataset) ? inMemoryData(dataset, { flip: options.flip }) : dataset;
  const random = new Random(options.seed);
  const labels = Array.from(data.labels);
  const planEpoch = epochPlanner(objective.batch, labels, options);
  const stepsPerEpoch = planEpoch(new Random(options.seed)).batches.length;
  const totalSteps = stepsPerEpoch * options.epochs;
  const optimizerOptions = options.optimizer ?? ADAM;
  const modelOptimizer = createOptimizer(optimizerOptions, options.learningRate);
  const headOptimizer = createOptimizer(
    { ...optimizerOptions, weightDecay: 0 },
    options.learningRate * options.headLearningRateFactor,
  );
  const modelVariables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
  const headVariables = objective.variables();
  const checkpoints = options.runDir ? new Checkpoints(options.runDir, options.keepCheckpoints) : undefined;
  const logFile = options.runDir ? join(options.runDir, 'log.jsonl') : undefined;
  const modelFingerprint = fingerprint(model, objective);

  let state: CheckpointState<EpochRecord> = {
    epoch: 0,
    step: 0,
    randomState: random.getState(),
    history: [],
    best: null,
    epochsWithoutImprovement: 0,
    fingerprint: modelFingerprint,
  };
  let resumedFrom: number | null = null;
  let bestWeights: tf.Tensor[] | null = null;
  if (options.runDir) await mkdir(options.runDir, { recursive: true });
  if (checkpoints && options.resume && checkpoints.exists()) {
    state = await restore(
      checkpoints,
      model,
      objective,
      modelOptimizer,
      headOptimizer,
      modelFingerprint,
      options.epochs,
    );
    random.setState(state.randomState);
    resumedFrom = state.epoch;
    log.info(`resuming after epoch ${state.epoch} from ${checkpoints.dir}`);
    // The best epoch's weights were held in memory by the stopped run; its checkpoint is kept for this.
    if (options.earlyStopping && state.best) bestWeights = await checkpoints.readModelWeights(state.best.epoch);
    // The log is rewritten from the checkpoint: a run killed after an epoch's log line but before
    // its checkpoint would otherwise log that epoch twice.
    if (logFile)
      await writeFileAtomic(
        logFile,
        state.history.map((record) => `${JSON.stringify({ type: 'epoch', ...record })}\n`).join(''),
      );
  } else {
    if (checkpoints?.exists()) {
      log.warn(`replacing the checkpoints in ${checkpoints.dir} (pass --resume to continue them instead)`);
      await checkpoints.clear();
    } else if (options.resume) {
      log.info(`no checkpoint in ${options.runDir}: starting from epoch 1`);
    }
    if (logFile) await writeFile(logFile, '');
  }

  const history = [...state.history];
  let step = state.step;
  // A run killed after it stopped early (before saving its model) is not trained any further.
  let stoppedEarly =
    options.earlyStopping !== undefined &&
    state.best !== null &&
    state.epochsWithoutImprovement >= options.earlyStopping.patience;
  try {
    for (let epoch = state.epoch; epoch < options.epochs && !stoppedEarly; epoch++) {
      const started = Date.now();
      const plan = planEpoch(random);
      const progress = epochProgress(epoch + 1, options.epochs, plan.batches.length, options.progress);
      let lossSum = 0;
      let samples = 0;
      let learningRate = 0;
      let incomplete = 0;
      for await (const batch of data.batches(plan.batches, epoch, random)) {
        if (objective.batch !== 'labels' && batch.size !== plan.batches[batch.plan]!.length) {
          // A pair or a view lost a sample it cannot be trained without; the batch is left out.
          incomplete += 1;
          tf.dispose([batch.x, batch.labels]);
          continue;
        }
        learningRate = warmupCosine(step, totalSteps, options.warmupEpochs * stepsPerEpoch, options.learningRate, 0.05);
        modelOptimizer.setLearningRate(learningRate);
        headOptimizer.setLearningRate(learningRate * options.headLearningRateFactor);
        objective.onStep({ epoch, step, epochs: options.epochs, stepsPerEpoch });
        const targets = plan.targets ? tf.tensor1d(plan.targets[batch.plan]!) : undefined;
        const { value, grads } = tf.variableGrads(() => {
          const embeddings = l2Normalize(model.apply(batch.x, { training: true }) as tf.Tensor2D);
          return objective.loss(objectiveBatch(objective.batch, embeddings, batch.labels, targets));
        }, [...modelVariables, ...headVariables]);
        const clipped = clipByGlobalNorm(grads, options.clipNorm);
        modelOptimizer.apply(modelVariables, clipped);
        headOptimizer.apply(headVariables, clipped);
        const loss = (await value.data())[0]!;
        tf.dispose([value, grads, clipped, batch.x, batch.labels, ...(targets ? [targets] : [])]);
        if (!Number.isFinite(loss))
          throw new UserError(
            `the loss became ${loss} at epoch ${epoch + 1}, step ${step + 1}`,
            'lower the learning rate or enable gradient clipping (clipNorm)',
          );
        lossSum += loss * batch.size;
        samples += batch.size;
        progress.step(loss, batch.size);
        step += 1;
      }
      progress.stop();
      if (data.skipped) {
        if (options.maxSkippedShare !== undefined && data.skipped > options.maxSkippedShare * labels.length) {
          throw new UserError(
            `epoch ${epoch + 1}: ${data.skipped} of ${labels.length} training images could not be read, more than ${options.maxSkippedShare * 100} %`,
            'check the images (--verbose names each), or allow more with --max-bad-images',
            1,
          );
        }
        log.warn(
          `epoch ${epoch + 1}: ${data.skipped} unreadable image(s) left out (--verbose names each, --strict makes this an error)`,
        );
      }
      if (incomplete > 0)
        log.warn(
          `epoch ${epoch + 1}: ${incomplete} ${objective.batch === 'pairs' ? 'pair' : 'view'} batch(es) left out: a sample of theirs could not be read`,
        );
      const seconds = (Date.now() - started) / 1000;
      const validation = options.validate ? await options.validate() : undefined;
      const record: EpochRecord = {
        epoch: epoch + 1,
        loss: lossSum / Math.max(1, samples),
        learningRate,
        seconds,
        samplesPerSecond: samples / seconds,
        validation,
        ...(data.skipped ? { skipped: data.skipped } : {}),
      };
      history.push(record);

      let { best, epochsWithoutImprovement } = state;
      if (options.earlyStopping && validation) {
        const metric = options.earlyStopping.metric ?? Object.keys(validation)[0]!;
        const value = validation[metric];
        if (value === undefined)
          throw new UserError(
            `early stopping watches "${metric}", but validation reports ${Object.keys(validation).join(', ')}`,
          );
        if (best === null || value > best.value + (options.earlyStopping.minDelta ?? 0)) {
          best = { metric, value, epoch: epoch + 1 };
          epochsWithoutImprovement = 0;
          tf.dispose(bestWeights ?? []);
          bestWeights = model.getWeights().map((w) => w.clone());
        } else {
          epochsWithoutImprovement += 1;
          stoppedEarly = epochsWithoutImprovement >= options.earlyStopping.patience;
        }
      }
      state = {
        epoch: epoch + 1,
        step,
        randomState: random.getState(),
        history,
        best,
        epochsWithoutImprovement,
        fingerprint: modelFingerprint,
      };

      const metrics = validation
        ? Object.entries(validation)
            .map(([k, v]) => ` ${k} ${v.toFixed(4)}`)
            .join('')
        : '';
      log.info(
        `epoch ${record.epoch}/${options.epochs}  loss ${record.loss.toFixed(4)}  lr ` +
          `${learningRate.toExponential(2)}  ${record.samplesPerSecond.toFixed(0)} samples/s${metrics}`,
      );
      if (logFile) await appendFile(logFile, `${JSON.stringify({ type: 'epoch', ...record })}\n`);
      if (checkpoints) {
        const groups = await tensorGroups(model, objective, modelOptimizer, headOptimizer);
        try {
          await checkpoints.write(state, groups, { protect: best?.epoch });
        } finally {
          // Optimisers hand out their step count as a new tensor; everything else is a live variable.
          tf.dispose(
            Object.values(groups).flatMap((group) =>
              group.filter((t) => !(t.tensor instanceof tf.Variable)).map((t) => t.tensor),
            ),
          );
        }
      }
      if (stoppedEarly)
        log.info(
          `early stopping: ${best!.metric} has not improved for ${epochsWithoutImprovement} epochs (best ${best!.value.toFixed(4)} at epoch ${best!.epoch})`,
        );
    }
    const best = state.best;
    if (best && bestWeights && best.epoch !== state.epoch) {
      model.setWeights(bestWeights);
      log.info(`restored the weights of epoch ${best.epoch} (${best.metric} ${best.value.toFixed(4)})`);
    }
    return { history, epoch: best && bestWeights ? best.epoch : state.epoch, stoppedEarly, resumedFrom };
  } finally {
    tf.dispose(bestWeights ?? []);
    modelOptimizer.dispose();
    headOptimizer.dispose();
    await data.close?.();
  }
}

async function tensorGroups(
  model: tf.LayersModel,
  objective: Objective,
  modelOptimizer: ScheduledOptimizer,
  headOptimizer: ScheduledOptimizer,
): Promise<TensorGroups> {
  return {
    model: model.weights.map((weight) => ({ name: weight.originalName, tensor: weight.read() })),
    head: objective.variables().map((variable) => ({ name: variable.name, tensor: variable })),
    modelOptimizer: await modelOptimizer.getWeights(),
    headOptimizer: await headOptimizer.getWeights(),
  };
}

async function restore(
  checkpoints: Checkpoints,
  model: tf.LayersModel,
  objective: Objective,
  modelOptimizer: ScheduledOptimizer,
  headOptimizer: ScheduledOptimizer,
  expectedFingerprint: string,
  epochs: number,
): Promise<CheckpointState<EpochRecord>> {
  const loaded = (await checkpoints.readLatest<EpochRecord>())!;
  try {
    refuseShrinkingResume(checkpoints.dir, epochs, loaded.state.epoch);
    if (loaded.state.fingerprint !== expectedFingerprint) {
      throw new UserError(
        `the checkpoint in ${loaded.dir} was written for another model or objective (${loaded.state.fingerprint}; this run has ${expectedFingerprint})`,
        'resume with the config the run started with, or start afresh without --resume',
      );
    }
    model.setWeights(loaded.groups.model!.map((t) => t.tensor));
    objective.variables().forEach((variable, i) => variable.assign(loaded.groups.head![i]!.tensor));
    // The optimisers' slot variables share the data of these tensors (reference-counted).
    await modelOptimizer.setWeights(loaded.groups.modelOptimizer!);
    await headOptimizer.setWeights(loaded.groups.headOptimizer!);
    return loaded.state;
  } finally {
    tf.dispose(Object.values(loaded.groups).flatMap((group) => group.map((t) => t.tensor)));
  }
}

/** Scales every gradient by min(1, maxNorm / ‖g‖) where ‖g‖ is the norm of all gradients together. */
export function clipByGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): tf.NamedTensorMap {
  return tf.tidy(() => {
    if (maxNorm <= 0) return Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, g.clone()]));
    const norm = tf.addN(Object.values(grads).map((g) => g.square().sum())).sqrt();
    const factor = tf.minimum(1, tf.scalar(maxNorm).div(norm.add(1e-12)));
    return Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, g.mul(factor)]));
  });
}
