import type * as tf from '@tensorflow/tfjs';
import type { FineTuningConfig } from '../contracts/competition.js';
import { UserError } from '../errors.js';
import { NECK_PREFIX } from '../models/layers.js';
import { setTrainableFrom } from '../models/trainable.js';

/**
 * Fine-tuning a pretrained backbone as the field does it: the neck (and the objective's head) first
 * train alone on the frozen network, then the network is unfrozen (all of it, or from a named layer
 * on) and trains with a smaller learning rate than the neck.
 */
export type FineTuningOptions = FineTuningConfig;

export const FINE_TUNING_DEFAULTS: FineTuningOptions = {
  headOnlyEpochs: 1,
  unfreeze: true,
  backboneLearningRateFactor: 0.1,
};

export interface PhaseVariables {
  readonly phase: 'head-only' | 'unfrozen';
  /** Trainable variables of the pretrained network (trained at the backbone's learning rate). */
  readonly backbone: tf.Variable[];
  /** Trainable variables of the neck. */
  readonly neck: tf.Variable[];
}

/**
 * The phases of one model: its pretrained layers are those before its first neck layer (layer
 * names starting with NECK_PREFIX). Setting an epoch's phase changes the layers' trainable flags;
 * a resumed run sets the phase of the epoch it resumes at, so checkpoints need no phase of their own.
 */
export class FineTuningPhases {
  private readonly backboneLayers: tf.layers.Layer[];
  private readonly neckLayers: tf.layers.Layer[];

  constructor(
    model: tf.LayersModel,
    readonly options: FineTuningOptions,
  ) {
    const firstNeck = model.layers.findIndex((layer) => layer.name.startsWith(NECK_PREFIX));
    if (firstNeck <= 0)
      throw new UserError(
        'fine-tuning phases need a pretrained backbone with a neck (mobilenet-v2, inception-v3 or pretrained)',
        'remove training.fineTuning, or choose a pretrained backbone',
      );
    if (!(options.headOnlyEpochs >= 0) || !Number.isInteger(options.headOnlyEpochs))
      throw new UserError(`fineTuning.headOnlyEpochs must be a whole number ≥ 0, not ${options.headOnlyEpochs}`);
    if (!(options.backboneLearningRateFactor > 0))
      throw new UserError(
        `fineTuning.backboneLearningRateFactor must be above 0, not ${options.backboneLearningRateFactor}`,
      );
    this.backboneLayers = model.layers.slice(0, firstNeck);
    this.neckLayers = model.layers.slice(firstNeck);
    // Checks the layer name before any training starts.
    setTrainableFrom(this.backboneLayers, options.unfreeze);
    setTrainableFrom(this.backboneLayers, false);
  }

  /** Sets the layers' trainable flags for `epoch` (0-based) and returns the variables each group trains. */
  enter(epoch: number): PhaseVariables {
    const phase = epoch < this.options.headOnlyEpochs ? 'head-only' : 'unfrozen';
    setTrainableFrom(this.backboneLayers, phase === 'head-only' ? false : this.options.unfreeze);
    for (const layer of this.neckLayers) layer.trainable = true;
    const variables = (layers: tf.layers.Layer[]) =>
      layers.flatMap((layer) => layer.trainableWeights.map((weight) => weight.read() as tf.Variable));
    return { phase, backbone: variables(this.backboneLayers), neck: variables(this.neckLayers) };
  }
}
