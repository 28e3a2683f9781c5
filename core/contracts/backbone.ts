import type * as tf from '@tensorflow/tfjs';

/** Height, width and channels of the images (or a flat feature length as [1, 1, n]) a backbone takes. */
export interface InputShape {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /**
   * The model must take images of any height and width (progressive sizes, test-time augmentation at several sizes);
   * height × width is then the largest training size. A backbone that cannot leaves its input fixed, and the pipeline
   * refuses it.
   */
  readonly anySize?: boolean;
}

/**
 * What a backbone plugin registers under TOKENS.Backbone: `create(options)` returns a builder of a
 * model mapping a batch of inputs to raw embeddings (B × embeddingDim); the training loop and the
 * embedder L2-normalise its output.
 */
export type BackboneBuilder = (input: InputShape, embeddingDim: number, seed: number) => tf.LayersModel;
