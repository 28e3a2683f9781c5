import * as tf from '@tensorflow/tfjs';
import type { BackboneBuilder, InputShape } from '../../core/contracts/backbone.js';
import { seededInitializers } from '../../core/tensors.js';
import type { Registration } from '../../core/contracts/registration.js';

export interface PlainCnnOptions {
  /** Channels of the 3×3 ReLU convolutions of each stage; every stage ends with a 2×2 max-pool. */
  readonly stages: readonly (readonly number[])[];
  /** Units of a dense ReLU layer between the flattened features and the embedding (0: none). */
  readonly hidden: number;
}

export const PLAIN_CNN_DEFAULTS: PlainCnnOptions = { stages: [[16], [32]], hidden: 128 };

/**
 * A plain CNN for small images (LeNet-like): per stage 3×3 'same' ReLU convolutions then a 2×2
 * max-pool, flatten, an optional dense ReLU layer, dense embedding. No batch normalisation: on the
 * wasm engine its gradient costs about as much as the convolutions, and the net trains without it.
 */
export function plainCnn(options: PlainCnnOptions): BackboneBuilder {
  return (input: InputShape, embeddingDim: number, seed: number) => {
    const init = seededInitializers(seed);
    const inputs = tf.input({ shape: [input.height, input.width, input.channels] });
    let x = inputs;
    for (const stage of options.stages) {
      for (const filters of stage) {
        x = tf.layers
          .conv2d({ filters, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init.he() })
          .apply(x) as tf.SymbolicTensor;
      }
      x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
    }
    x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
    if (options.hidden > 0)
      x = tf.layers
        .dense({ units: options.hidden, activation: 'relu', kernelInitializer: init.he() })
        .apply(x) as tf.SymbolicTensor;
    const embedding = tf.layers
      .dense({ units: embeddingDim, kernelInitializer: init.glorot() })
      .apply(x) as tf.SymbolicTensor;
    return tf.model({ inputs, outputs: embedding });
  };
}

export const plainCnnBackbone: Registration<BackboneBuilder, PlainCnnOptions> = {
  name: 'plain-cnn',
  description:
    'plain CNN for small images (3×3 ReLU convolutions and 2×2 max-pools per stage, flatten, dense ReLU, dense embedding)',
  defaults: PLAIN_CNN_DEFAULTS,
  ranges: { hidden: { integer: true, min: 0 } },
  create: plainCnn,
};
