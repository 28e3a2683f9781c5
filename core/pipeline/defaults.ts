import type { CompetitionConfig, ImageModelConfig } from '../contracts/competition.js';

/** The image model an image adapter starts from: a small residual CNN with ArcFace on P×K batches. */
export const IMAGE_MODEL: ImageModelConfig = {
  input: 'image',
  imageSize: 32,
  backbone: { name: 'residual-cnn', options: { widths: [16, 32], blocks: 1, dropout: 0 } },
  head: { name: 'arcface', options: { margin: 0.2, scale: 16, centres: 1 } },
  loss: { name: 'cross-entropy', options: { labelSmoothing: 0 } },
  sampler: { name: 'pk', options: { classesPerBatch: 16, samplesPerClass: 4 } },
  embeddingSize: 64,
  epochs: 10,
  batchSize: 64,
  learningRate: 0.003,
};

/**
 * The pretrained MobileNetV2 (ImageNet weights from the npm package nsfwjs, frozen) at 64 px, cut after block 10,
 * its 4×4×64 map flattened into the batch-norm neck: the image model of the competitions whose held-out validation
 * it improved over the CNN trained from scratch (docs/competitions.md).
 */
export const PRETRAINED_IMAGE_MODEL: ImageModelConfig = {
  ...IMAGE_MODEL,
  imageSize: 64,
  backbone: { name: 'mobilenet-v2', options: { layer: 'block_10_project_BN', pooling: 'flatten' } },
};

/**
 * The pipeline defaults an image adapter starts from (kNN voting over the train images with the
 * `image` model); each competition's adapter spreads them and sets what differs, so its config is in its own folder.
 */
export const IMAGE_CLASSIFICATION_CONFIG: CompetitionConfig = {
  models: { image: IMAGE_MODEL },
  validation: { fraction: 0.25, by: 'item' },
  indexer: { name: 'flat', options: {} },
  neighbours: 20,
  postProcessors: [{ name: 'knn-vote', options: { k: 5, power: 3, headWeight: 0 } }],
  tune: { 'knn-vote.k': [1, 3, 5, 10] },
};
