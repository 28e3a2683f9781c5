import * as tf from '@tensorflow/tfjs';
import type { EmbeddingLoss } from '../../core/contracts/loss.js';
import { UserError } from '../../core/errors.js';
import { defineLoss } from '../../core/losses/embedding-loss.js';
import { detached } from '../../core/losses/pairwise.js';

export interface CrossBatchMemoryOptions {
  /** The wrapped embedding loss: a name, or `{ name, options }`. */
  readonly loss: string | { readonly name: string; readonly options?: Record<string, unknown> };
  /** Past embeddings kept (a queue: the oldest leave first). */
  readonly memorySize: number;
  /**
   * `all`: the wrapped loss sees the batch and the memory as one batch, every row an anchor. `batch` (PML): the batch
   * joins the memory first, then only the batch's rows are anchors and the memory's rows (the batch's own included,
   * itself left out) their references; needs a loss over pairs.
   */
  readonly anchors: 'all' | 'batch';
}

export const CROSS_BATCH_MEMORY_DEFAULTS: CrossBatchMemoryOptions = {
  loss: 'contrastive',
  memorySize: 1024,
  anchors: 'all',
};

const ANCHORS = ['all', 'batch'];

/**
 * (B + R)×(B + R) mask of the pairs PML's cross-batch memory keeps when the rows are the batch's B, then R of the
 * memory whose first B are the batch's own copies: anchor i < B with reference B + j, except its own copy j = i.
 */
function batchAnchorPairs(batch: number, references: number): tf.Tensor2D {
  const size = batch + references;
  const allowed = new Float32Array(size * size);
  for (let i = 0; i < batch; i++) for (let j = 0; j < references; j++) if (j !== i) allowed[i * size + batch + j] = 1;
  return tf.tensor2d(allowed, [size, size]);
}

/**
 * Cross-batch memory (XBM, Wang et al. 2020; pytorch-metric-learning 2.x
 * CrossBatchMemory(loss, embedding_size, memory_size=1024)): the wrapped embedding loss is computed
 * on the batch together with up to `memorySize` embeddings of past batches (with their labels),
 * which enter as constants (outside the gradient). After each step the batch's embeddings are
 * queued, the oldest dropped. The configured miner is the wrapped loss's.
 *
 * By default the wrapped loss sees one batch of B + M rows, so memory-to-memory pairs also enter its
 * reduction (as constants: they move the divisor, not the gradient); `anchors: batch` gives PML's
 * semantics, anchors from the batch only. The queue is not part of a checkpoint: on resume it starts
 * empty and refills within M / B steps.
 */
export const crossBatchMemory = defineLoss<CrossBatchMemoryOptions>({
  name: 'cross-batch-memory',
  description: 'XBM: wraps an embedding loss with a queue of past embeddings (memorySize) that join every batch',
  defaults: CROSS_BATCH_MEMORY_DEFAULTS,
  create: (o) => {
    if (!Number.isInteger(o.memorySize) || o.memorySize < 1)
      throw new UserError(`cross-batch-memory: memorySize must be a whole number ≥ 1, got ${o.memorySize}`);
    if (!ANCHORS.includes(o.anchors))
      throw new UserError(`cross-batch-memory: unknown anchors "${o.anchors}"`, `known: ${ANCHORS.join(', ')}`);
    const wrapped = typeof o.loss === 'string' ? { name: o.loss } : o.loss;
    if (wrapped.name === 'cross-batch-memory')
      throw new UserError(
        'cross-batch-memory cannot wrap itself',
        'name an embedding loss: contrastive, triplet, multi-similarity, …',
      );
    return (context): EmbeddingLoss => {
      if (!context.lossNamed)
        throw new UserError('cross-batch-memory needs the loss registry: build it through createObjective');
      const inner = context.lossNamed(wrapped.name, wrapped.options)(context);
      if (inner.input !== 'embeddings') {
        if ('dispose' in inner) inner.dispose();
        throw new UserError(
          `cross-batch-memory wraps a loss on embeddings and labels; "${wrapped.name}" works on ${inner.input}`,
          'name an embedding loss: contrastive, triplet, multi-similarity, …',
        );
      }
      const onPairs = inner.computeOnPairs?.bind(inner);
      if (o.anchors === 'batch' && !onPairs) {
        inner.dispose();
        throw new UserError(
          `cross-batch-memory anchors batch: "${wrapped.name}" is not a loss over pairs`,
          'wrap contrastive, multi-similarity, supcon, circle, … or use anchors all',
        );
      }
      const size = o.memorySize;
      const dim = context.embeddingDim;
      const memory = tf.variable(tf.zeros([size, dim]), false);
      const memoryLabels = tf.variable(tf.zeros([size], 'int32'), false, undefined, 'int32');
      let filled = 0;
      return {
        input: 'embeddings',
        variables: () => inner.variables(),
        getWeights: () => inner.getWeights(),
        setWeights: (weights) => inner.setWeights(weights),
        ...(inner.onStep ? { onStep: (progress) => inner.onStep!(progress) } : {}),
        getState: () => ({ memory, memoryLabels, filled: tf.scalar(filled, 'int32') }),
        setState: (state) => {
          const { memory: saved, memoryLabels: savedLabels, filled: savedFilled } = state;
          if (!saved || !savedLabels || !savedFilled) return;
          if (saved.shape[0] !== size || saved.shape[1] !== dim)
            throw new UserError(
              `cross-batch-memory: the checkpoint's queue is ${saved.shape.join('×')}, this run's ${size}×${dim}`,
              'resume with the memorySize and embeddingSize the run started with',
            );
          memory.assign(saved as tf.Tensor2D);
          memoryLabels.assign(savedLabels as tf.Tensor1D);
          filled = (savedFilled.dataSync() as Int32Array)[0]!;
        },
        dispose: () => {
          inner.dispose();
          tf.dispose([memory, memoryLabels]);
        },
        compute: (embeddings, labels) => {
          const enqueue = () => {
            tf.tidy(() => {
              memory.assign(tf.concat([detached(embeddings), memory], 0).slice([0, 0], [size, dim]));
              memoryLabels.assign(tf.concat([detached(labels.toInt()), memoryLabels], 0).slice([0], [size]));
            });
            filled = Math.min(size, filled + embeddings.shape[0]);
          };
          if (o.anchors === 'batch') {
            const batch = embeddings.shape[0];
            if (batch > size)
              throw new UserError(`cross-batch-memory anchors batch: a batch of ${batch} exceeds memorySize ${size}`);
            enqueue();
            return tf.tidy(() =>
              onPairs!(
                tf.concat([embeddings, memory.slice([0, 0], [filled, dim])], 0) as tf.Tensor2D,
                tf.concat([labels.toInt(), memoryLabels.slice([0], [filled])], 0) as tf.Tensor1D,
                batchAnchorPairs(batch, filled),
              ),
            );
          }
          const value = tf.tidy(() => {
            if (filled === 0) return inner.compute(embeddings, labels);
            const past = memory.slice([0, 0], [filled, dim]);
            const pastLabels = memoryLabels.slice([0], [filled]);
            return inner.compute(
              tf.concat([embeddings, past], 0) as tf.Tensor2D,
              tf.concat([labels.toInt(), pastLabels], 0) as tf.Tensor1D,
            );
          });
          enqueue();
          return value;
        },
      };
    };
  },
});
