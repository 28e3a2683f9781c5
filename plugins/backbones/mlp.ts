import * as tf from '@tensorflow/tfjs';
import type { BackboneBuilder, InputShape } from '../../core/contracts/backbone.js';
import { seededInitializers } from '../../core/tensors.js';
import type { Registration } from '../../core/contracts/registration.js';

export interface MlpOptions {
  readonly hidden: readonly number[];
}

/** Flattens the input, then dense ReLU layers, then a dense embedding. */
export function mlp(options: MlpOptions): BackboneBuilder {
  return (input: InputShape, embeddingDim: number, seed: number) => {
    const init = seededInitializers(seed);
    const model = tf.sequential();
    model.add(tf.layers.flatten({ inputShape: [input.height, input.width, input.channels] }));
    for (const units of options.hidden)
      model.add(tf.layers.dense({ units, activation: 'relu', kernelInitializer: init.he() }));
    model.add(tf.layers.dense({ units: embeddingDim, kernelInitializer: init.glorot() }));
    return model;
  };
}

export const mlpBackbone: Registration<BackboneBuilder, MlpOptions> = {
  name: 'mlp',
  description: 'multi-layer perceptron on flattened inputs (dense ReLU layers, dense embedding)',
  defaults: { hidden: [512] },
  ranges: { hidden: { integer: true, min: 1, each: true } },
  create: mlp,
};
