import type { InputShape } from '../contracts/backbone.js';
import type { Sampler } from '../contracts/loss.js';
import { UserError } from '../errors.js';

/** TensorFlow.js's wasm heap, where the engine keeps every tensor, grows to at most 4 GiB. */
export const ENGINE_HEAP_BYTES = 4 * 1024 ** 3;

/**
 * Bytes a training step holds per sample, as a multiple of its input: the activations kept for the
 * backward pass, their gradients and the optimiser's work are tens of inputs for the built-in
 * backbones. An estimate that errs on the side of refusing only batches that cannot fit.
 */
const STEP_BYTES_PER_INPUT_BYTE = 64;

/** Samples in one training batch: the sampler's own size, two per pair, or the config's batch size. */
export function plannedBatchSize(batchSize: number, sampler: Sampler | undefined): number {
  if (sampler?.kind === 'pairs') return 2 * batchSize;
  return sampler?.largestBatch ?? batchSize;
}

/**
 * Refuses, before any batch is built, a batch whose training step cannot fit in the engine's heap
 * (batch × input size), naming the largest batch that fits.
 */
export function checkBatchFits(samples: number, shape: InputShape, what: string): void {
  const perSample = shape.height * shape.width * shape.channels * 4 * STEP_BYTES_PER_INPUT_BYTE;
  if (samples * perSample <= ENGINE_HEAP_BYTES) return;
  const largest = Math.max(0, Math.floor(ENGINE_HEAP_BYTES / perSample));
  const room = `the engine's ${ENGINE_HEAP_BYTES / 1024 ** 3} GiB of memory`;
  const input = `${shape.height}×${shape.width}×${shape.channels}`;
  if (largest === 0)
    throw new UserError(
      `${what} inputs of ${input} are too large to train on: not one sample's training step fits in ${room}`,
      'use a smaller imageSize',
      1,
    );
  throw new UserError(
    `a training batch of ${samples} ${what} samples of ${input} does not fit in ${room}: at most about ${largest} fit`,
    `use a batch of at most ${largest} samples (batchSize, or the sampler's classesPerBatch × samplesPerClass), or a smaller imageSize`,
    1,
  );
}
