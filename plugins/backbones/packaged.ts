import * as tf from '@tensorflow/tfjs';
import type { BackboneBuilder, InputShape } from '../../core/contracts/backbone.js';
import type { Registration } from '../../core/contracts/registration.js';
import { UserError } from '../../core/errors.js';
import { FEATURE_POOLINGS, type FeaturePooling } from '../../core/models/layers.js';
import {
  PACKAGED_NETWORKS,
  packagedNetwork,
  packagedNetworkModel,
  type PackagedNetwork,
  weightsSource,
} from '../../core/models/packaged-networks.js';
import { setTrainableFrom } from '../../core/models/trainable.js';
import { neckHead, type NeckOptions } from './pretrained.js';

export interface PackagedOptions extends NeckOptions {
  /** The network is cut after this layer (default: the network's best frozen layer on unseen classes). */
  readonly layer: string | null;
  /** How the cut layer's B×H×W×C map becomes a vector: GeM, average, or the whole map flattened. */
  readonly pooling: FeaturePooling;
  /**
   * Which pretrained layers train: false (none: a frozen feature extractor), true (all), or a layer name (that layer
   * and every one after it). Fine-tuning phases (training.fineTuning) change this during training.
   */
  readonly trainable: boolean | string;
  /** Batch norms of the pretrained network keep their ImageNet statistics, also while they train. */
  readonly freezeBatchNorm: boolean;
}

export const PACKAGED_DEFAULTS: PackagedOptions = {
  layer: null,
  pooling: 'gem',
  trainable: false,
  freezeBatchNorm: true,
  hidden: [],
  prelu: false,
  dropout: 0,
};

function checkInput(network: PackagedNetwork, input: InputShape): number {
  if (input.channels !== 3 || input.height !== input.width)
    throw new UserError(
      `${network.name} takes square RGB images, but the pipeline feeds ${input.height}×${input.width}×${input.channels}`,
      'use 3-channel images of one side (imageSize); grey images can be copied to 3 channels',
    );
  return input.height;
}

/**
 * A pretrained ImageNet network shipped inside an npm package (core/models/packaged-networks.ts), at
 * the pipeline's image size, cut at a layer, pooled (GeM, average or flattened) and followed by the
 * dense + batch-norm neck. Frozen by default; `trainable` or fine-tuning phases unfreeze it.
 */
export function packaged(name: string): (options: PackagedOptions) => BackboneBuilder {
  const network = packagedNetwork(name);
  return (options) => {
    if (!FEATURE_POOLINGS.includes(options.pooling))
      throw new UserError(
        `${name}: unknown pooling "${options.pooling}"`,
        `choose one of: ${FEATURE_POOLINGS.join(', ')}`,
      );
    return (input: InputShape, embeddingDim: number, seed: number) => {
      const size = checkInput(network, input);
      const base = packagedNetworkModel(network, {
        size,
        anySize: input.anySize,
        layer: options.layer ?? network.defaultLayer,
        frozen: options.freezeBatchNorm,
      });
      setTrainableFrom(base, options.trainable);
      const taken = new Set(base.layers.map((layer) => layer.name));
      return tf.model({
        inputs: base.inputs,
        outputs: neckHead(base.outputs[0]!, { ...options, embeddingDim, seed }, taken),
      });
    };
  };
}

export const packagedBackbones: Registration<BackboneBuilder, PackagedOptions>[] = PACKAGED_NETWORKS.map((network) => ({
  name: network.name,
  get description() {
    return (
      `${network.description}, cut at ${network.defaultLayer} by default + GeM/average/flattened map + ` +
      `batch-norm embedding neck; weights: ${weightsSource()}`
    );
  },
  defaults: PACKAGED_DEFAULTS,
  create: packaged(network.name),
}));
