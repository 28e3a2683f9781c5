import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors.js';
import { log } from '../log.js';
import type { EpochRecord, TrainingCallback, TrainingLoop } from './callbacks.js';
import type { Checkpoints, NamedTensor } from './checkpoint.js';
import { setWeightsByName } from './checkpointing.js';

export interface EarlyStopping {
  /** Epochs without improvement of `metric` before training stops. */
  readonly patience: number;
  /** A validation metric (higher is better); default: the first one `validate` returns. */
  readonly metric?: string;
  /** Smallest increase that counts as an improvement. */
  readonly minDelta?: number;
}

/**
 * Stops when the validation metric has not improved for `patience` epochs, holding the best
 * epoch's weights in memory and restoring them at the end. A resumed run reads them from the best
 * epoch's checkpoint, which the checkpoints keep for this.
 */
export function earlyStopping(settings: EarlyStopping, checkpoints: Checkpoints | undefined): TrainingCallback {
  let bestWeights: NamedTensor[] | null = null;
  let stoppedNow = false;
  return {
    onStart: async (loop) => {
      const { best } = loop.state;
      if (loop.resumedFrom !== null && best && checkpoints)
        bestWeights = await checkpoints.readModelWeights(best.epoch);
      // A run killed after it stopped early (before saving its model) is not trained any further.
      loop.stoppedEarly = best !== null && loop.state.epochsWithoutImprovement >= settings.patience;
    },
    onEpochEnd: (record: EpochRecord, loop: TrainingLoop) => {
      if (!record.validation) return Promise.resolve();
      const metric = settings.metric ?? Object.keys(record.validation)[0]!;
      const value = record.validation[metric];
      if (value === undefined)
        throw new UserError(
          `early stopping watches "${metric}", but validation reports ${Object.keys(record.validation).join(', ')}`,
        );
      const { best } = loop.state;
      if (best === null || value > best.value + (settings.minDelta ?? 0)) {
        loop.state = { ...loop.state, best: { metric, value, epoch: record.epoch }, epochsWithoutImprovement: 0 };
        tf.dispose(bestWeights?.map((w) => w.tensor) ?? []);
        bestWeights = loop.model.weights.map((w) => ({ name: w.originalName, tensor: w.read().clone() }));
      } else {
        const epochsWithoutImprovement = loop.state.epochsWithoutImprovement + 1;
        loop.state = { ...loop.state, epochsWithoutImprovement };
        loop.stoppedEarly = stoppedNow = epochsWithoutImprovement >= settings.patience;
      }
      return Promise.resolve();
    },
    onEnd: (loop) => {
      const { best } = loop.state;
      if (stoppedNow)
        log.info(
          `early stopping: ${best!.metric} has not improved for ${loop.state.epochsWithoutImprovement} epochs ` +
            `(best ${best!.value.toFixed(4)} at epoch ${best!.epoch})`,
        );
      if (!best || !bestWeights) return;
      if (best.epoch !== loop.state.epoch) {
        setWeightsByName(loop.model, bestWeights);
        log.info(`restored the weights of epoch ${best.epoch} (${best.metric} ${best.value.toFixed(4)})`);
      }
      loop.keptEpoch = best.epoch;
    },
    dispose: () => tf.dispose(bestWeights?.map((w) => w.tensor) ?? []),
  };
}
