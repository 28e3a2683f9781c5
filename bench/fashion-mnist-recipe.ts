import type { ZeroShotRecipe } from './zero-shot.js';

/**
 * The zero-shot recipe `make fashion-mnist` trains: the best of those compared in
 * docs/fashion-mnist.md (multi-similarity loss, a small learning rate: every recipe tried lost
 * MAP@R with more training, so this one trains least).
 */
export const FASHION_MNIST_ZERO_SHOT: ZeroShotRecipe = {
  label: 'multi-similarity (lr 3e-5)',
  objective: { loss: 'multi-similarity', head: 'none' },
  sampler: { classesPerBatch: 5, samplesPerClass: 32 },
  embeddingDim: 128,
  epochs: 1,
  learningRate: 0.00003,
  trainImages: 10000,
  shift: 2,
  batchSize: 160,
};
