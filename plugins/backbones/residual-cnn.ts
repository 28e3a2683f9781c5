import * as tf from '@tensorflow/tfjs';
import type { BackboneBuilder, InputShape } from '../../core/contracts/backbone.js';
import { seededInitializers } from '../../core/tensors.js';
import type { Registration } from '../../core/contracts/registration.js';
import { embeddingNeck, globalPool, type Pooling } from '../../core/models/layers.js';

export interface ResidualCnnOptions {
  /** Channels of each stage; every stage after the first halves the resolution. */
  readonly widths: readonly number[];
  /** Residual blocks per stage. */
  readonly blocks: number;
  readonly dropout: number;
  /** Global pooling of the last stage: 'average' (default) or 'gem' (generalised mean, learnable p). */
  readonly pooling?: Pooling;
  /**
   * The embedding layer: 'dense' (default, one dense layer), 'bn' (dense → batch-norm) or
   * 'bn-prelu' (dense → batch-norm → PReLU), the neck of core/models/layers.ts.
   */
  readonly neck?: 'dense' | 'bn' | 'bn-prelu';
}

export const RESIDUAL_CNN_DEFAULTS: ResidualCnnOptions = { widths: [32, 64], blocks: 1, dropout: 0, pooling: 'average', neck: 'dense' };

function convBn(x: tf.SymbolicTensor, filters: number, strides: number, activate: boolean, init: ReturnType<typeof seededInitializers>): tf.SymbolicTensor {
  let y = tf.layers.conv2d({ filters, kernelSize: 3, strides, padding: 'same', useBias: false, kernelInitializer: init.he() }).apply(x) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization({ momentum: 0.9 }).apply(y) as tf.SymbolicTensor;
  return activate ? (tf.layers.reLU().apply(y) as tf.SymbolicTensor) : y;
}

/** A small residual CNN: per stage a strided conv then residual 3×3 blocks; global average (or GeM) pooling; dense embedding (or the batch-norm neck). */
export function residualCnn(options: ResidualCnnOptions): BackboneBuilder {
  return (input: InputShape, embeddingDim: number, seed: number) => {
    const init = seededInitializers(seed);
    const inputs = tf.input({ shape: [input.height, input.width, input.channels] });
    let x = inputs;
    options.widths.forEach((width, stage) => {
      x = convBn(x, width, stage === 0 ? 1 : 2, true, init);
      for (let block = 0; block < options.blocks; block++) {
        const branch = convBn(convBn(x, width, 1, true, init), width, 1, false, init);
        x = tf.layers.reLU().apply(tf.layers.add().apply([x, branch]) as tf.SymbolicTensor) as tf.SymbolicTensor;
      }
    });
    const neck = options.neck ?? 'dense';
    let features = globalPool(x, options.pooling ?? 'average');
    if (neck !== 'dense') {
      const embedding = embeddingNeck(features, { embeddingDim, prelu: neck === 'bn-prelu', dropout: options.dropout, seed: seed + 10_000 });
      return tf.model({ inputs, outputs: embedding });
    }
    if (options.dropout > 0) features = tf.layers.dropout({ rate: options.dropout, seed }).apply(features) as tf.SymbolicTensor;
    const embedding = tf.layers.dense({ units: embeddingDim, kernelInitializer: init.glorot() }).apply(features) as tf.SymbolicTensor;
    return tf.model({ inputs, outputs: embedding });
  };
}

export const residualCnnBackbone: Registration<BackboneBuilder, ResidualCnnOptions> = {
  name: 'residual-cnn',
  description: 'small residual CNN (strided stages of 3×3 residual blocks, global average or GeM pooling, dense or batch-norm embedding neck)',
  defaults: RESIDUAL_CNN_DEFAULTS,
  create: residualCnn,
};
