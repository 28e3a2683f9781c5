import type * as tf from '@tensorflow/tfjs';

/** Height, width and channels of the images (or a flat feature length as [1, 1, n]) a backbone takes. */
export interface InputShape {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

/**
 * What a backbone plugin registers under TOKENS.Backbone: `create(options)` returns a builder of a
 * model mapping a batch of inputs to raw embeddings (B × embeddingDim); the training loop and the
 * embedder L2-normalise its output.
 */
export type BackboneBuilder = (input: InputShape, embeddingDim: number, seed: number) => tf.LayersModel;
