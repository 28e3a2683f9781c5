import * as tf from '@tensorflow/tfjs';
import type { BatchKind, ObjectiveBatch } from '../contracts/loss.js';
import { UserError } from '../errors.js';
import { log } from '../log.js';
import { epochProgress } from '../progress.js';
import { l2Normalize } from '../tensors.js';
import type { TrainingLoop } from './callbacks.js';
import type { TrainingData } from './data.js';
import type { EpochPlan } from './epoch-plan.js';
import type { PhaseVariables } from './fine-tuning.js';
import { warmupCosine } from './schedule.js';

/** What the step loop needs besides the loop's model, objective and optimisers. */
export interface StepSettings {
  readonly learningRate: number;
  readonly headLearningRateFactor: number;
  readonly clipNorm: number;
  readonly stepsPerEpoch: number;
  readonly warmupSteps: number;
  /** Learning rate of the pretrained layers relative to the neck's (fine-tuning phases). */
  readonly backboneFactor: number;
  readonly headVariables: readonly tf.Variable[];
  readonly progress?: boolean;
}

/** Loss summed over an epoch's samples, the samples trained, the last learning rate, the time waited for batches. */
export interface EpochTotals {
  readonly lossSum: number;
  readonly samples: number;
  readonly learningRate: number;
  readonly dataWaitSeconds: number;
}

/** `source`'s items, adding the time spent waiting for each to `wait.seconds`. */
async function* timedBatches<T>(source: AsyncIterable<T>, wait: { seconds: number }): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      const asked = performance.now();
      const next = await iterator.next();
      wait.seconds += (performance.now() - asked) / 1000;
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await iterator.return?.();
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

/** One optimiser step on a batch at `learningRate`; returns the batch's loss. */
async function trainStep(
  loop: TrainingLoop,
  settings: StepSettings,
  trained: PhaseVariables,
  batch: { x: tf.Tensor; labels: tf.Tensor1D; targets?: tf.Tensor1D },
  learningRate: number,
): Promise<number> {
  const { model, objective, modelOptimizer, headOptimizer, backboneOptimizer } = loop;
  modelOptimizer.setLearningRate(learningRate);
  headOptimizer.setLearningRate(learningRate * settings.headLearningRateFactor);
  backboneOptimizer?.setLearningRate(learningRate * settings.backboneFactor);
  const { value, grads } = tf.variableGrads(() => {
    const embeddings = l2Normalize(model.apply(batch.x, { training: true }) as tf.Tensor2D);
    return objective.loss(objectiveBatch(objective.batch, embeddings, batch.labels, batch.targets));
  }, [...trained.neck, ...trained.backbone, ...settings.headVariables]);
  const clipped = clipByGlobalNorm(grads, settings.clipNorm);
  modelOptimizer.apply(trained.neck, clipped);
  backboneOptimizer?.apply(trained.backbone, clipped);
  headOptimizer.apply([...settings.headVariables], clipped);
  const loss = (await value.data())[0]!;
  tf.dispose([value, grads, clipped]);
  return loss;
}

/**
 * The step loop of one epoch (0-based `epoch`): each planned batch through the model and the
 * objective with the scheduled learning rate. A pair or view batch that lost a sample is left out.
 */
export async function trainEpoch(
  loop: TrainingLoop,
  data: TrainingData,
  plan: EpochPlan,
  epoch: number,
  settings: StepSettings,
  trained: PhaseVariables,
): Promise<EpochTotals> {
  const { objective, epochs } = loop;
  const { stepsPerEpoch } = settings;
  const progress = epochProgress(epoch + 1, epochs, plan.batches.length, settings.progress);
  let [lossSum, samples, learningRate, incomplete] = [0, 0, 0, 0];
  const wait = { seconds: 0 };
  for await (const batch of timedBatches(data.batches(plan.batches, epoch, loop.random), wait)) {
    if (objective.batch !== 'labels' && batch.size !== plan.batches[batch.plan]!.length) {
      incomplete += 1;
      tf.dispose([batch.x, batch.labels]);
      continue;
    }
    const step = loop.state.step;
    learningRate = warmupCosine(step, stepsPerEpoch * epochs, settings.warmupSteps, settings.learningRate, 0.05);
    objective.onStep({ epoch, step, epochs, stepsPerEpoch });
    const targets = plan.targets ? tf.tensor1d(plan.targets[batch.plan]!) : undefined;
    const loss = await trainStep(loop, settings, trained, { x: batch.x, labels: batch.labels, targets }, learningRate);
    tf.dispose([batch.x, batch.labels, ...(targets ? [targets] : [])]);
    if (!Number.isFinite(loss))
      throw new UserError(
        `the loss became ${loss} at epoch ${epoch + 1}, step ${step + 1}`,
        'lower the learning rate or enable gradient clipping (clipNorm)',
      );
    lossSum += loss * batch.size;
    samples += batch.size;
    progress.step(loss, batch.size);
    loop.state = { ...loop.state, step: step + 1 };
  }
  progress.stop();
  if (incomplete > 0)
    log.warn(
      `epoch ${epoch + 1}: ${incomplete} ${objective.batch === 'pairs' ? 'pair' : 'view'} batch(es) left out: a sample of theirs could not be read`,
    );
  return { lossSum, samples, learningRate, dataWaitSeconds: wait.seconds };
}
