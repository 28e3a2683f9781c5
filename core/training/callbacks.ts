import type * as tf from '@tensorflow/tfjs';
import type { Objective } from '../contracts/loss.js';
import type { Random } from '../random.js';
import type { CheckpointState } from './checkpoint.js';
import type { FineTuningPhases, PhaseVariables } from './fine-tuning.js';
import type { ScheduledOptimizer } from './optimizer.js';

export interface EpochRecord {
  readonly epoch: number;
  readonly loss: number;
  readonly learningRate: number;
  readonly seconds: number;
  readonly samplesPerSecond: number;
  /** Share of the epoch's training time spent waiting for batches (decoding, augmenting, copying). */
  readonly dataWait?: number;
  readonly validation?: Record<string, number>;
  /** Samples that could not be read this epoch. */
  readonly skipped?: number;
  /** The fine-tuning phase of the epoch (with fineTuning only). */
  readonly phase?: PhaseVariables['phase'];
}

/** What the training loop holds and its callbacks read and update. */
export interface TrainingLoop {
  readonly model: tf.LayersModel;
  readonly objective: Objective;
  readonly modelOptimizer: ScheduledOptimizer;
  readonly headOptimizer: ScheduledOptimizer;
  /** The pretrained layers' optimiser, with fine-tuning phases only. */
  readonly backboneOptimizer?: ScheduledOptimizer;
  /** Which variables each epoch trains, with fine-tuning phases only. */
  readonly phases?: FineTuningPhases;
  readonly random: Random;
  readonly epochs: number;
  /** Shapes of the model's and the objective's weights: what a checkpoint must match to be resumed. */
  readonly fingerprint: string;
  /** After the last completed epoch (what a checkpoint stores). */
  state: CheckpointState<EpochRecord>;
  resumedFrom: number | null;
  stoppedEarly: boolean;
  /** The epoch whose weights the model holds at the end, where a callback restored an earlier one. */
  keptEpoch?: number;
}

/** What the training data reported after an epoch's batches. */
export interface EpochData {
  /** 0-based. */
  readonly epoch: number;
  /** Samples of the epoch that could not be read. */
  readonly skipped: number;
  /** Samples in the training set. */
  readonly samples: number;
}

/**
 * A part of training besides the step loop (early stopping, checkpoints, the epoch log, the bad-image
 * quota). Each hook runs for every callback in the trainer's order.
 */
export interface TrainingCallback {
  /** Before the first epoch, after a resumed run's state is restored. */
  onStart?(loop: TrainingLoop): Promise<void>;
  /** After an epoch's batches, before validation. */
  onBatchesDone?(data: EpochData, loop: TrainingLoop): void;
  /** After an epoch is validated; `loop.state` is the state after it. */
  onEpochEnd?(record: EpochRecord, loop: TrainingLoop): Promise<void>;
  /** After the last epoch. */
  onEnd?(loop: TrainingLoop): void;
  /** Releases what the callback holds, whether training finished or failed. */
  dispose?(): void;
}
