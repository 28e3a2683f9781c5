import type { PretrainedZeroShotRecipe, ZeroShotRecipe } from './zero-shot.js';

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

/** Layer the pretrained MobileNetV2 is cut at on Fashion-MNIST (chosen on the seen classes). */
export const FASHION_MNIST_PRETRAINED_LAYER = 'block_10_project_BN';
export const FASHION_MNIST_PRETRAINED_SIZE = 96;

/**
 * The pretrained MobileNetV2 fine-tuned on classes 0–4: the flattened block-10 map through the
 * batch-norm neck, the neck alone first, then the network from block 8 on at a tenth of the rate.
 */
export const FASHION_MNIST_PRETRAINED: PretrainedZeroShotRecipe = {
  label: 'MobileNetV2 fine-tuned, multi-similarity',
  backbone: { name: 'mobilenet-v2', options: { layer: FASHION_MNIST_PRETRAINED_LAYER, pooling: 'flatten' } },
  imageSize: FASHION_MNIST_PRETRAINED_SIZE,
  fineTuning: { headOnlyEpochs: 1, unfreeze: 'block_8_expand', backboneLearningRateFactor: 0.1 },
  objective: { loss: 'multi-similarity', head: 'none' },
  sampler: { classesPerBatch: 5, samplesPerClass: 16 },
  embeddingDim: 128,
  epochs: 3,
  learningRate: 0.0003,
  trainImages: 5000,
  shift: 2,
  batchSize: 80,
};
