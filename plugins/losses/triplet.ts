import * as tf from '@tensorflow/tfjs';
import type { TripletMiner } from '../../core/contracts/loss.js';
import { defineLoss, embeddingLoss, type LossPartOptions, lossParts } from '../../core/losses/embedding-loss.js';
import { labelMasks, minerOfKind } from '../../core/losses/pairwise.js';
import type { Reducer } from '../../core/losses/reducers.js';
import { UserError } from '../../core/errors.js';

/** What the chunked triplet computation needs of a loss's options. */
export interface TripletTerms {
  /** A negative must be this much farther from the anchor than the positive. */
  readonly margin: number;
  /** TF-Similarity's soft margin: softplus(d_ap − d_an), the margin dropped. */
  readonly softMargin: boolean;
  /** pytorch-metric-learning's `smooth_loss`: softplus(d_ap − d_an + margin). */
  readonly smoothLoss: boolean;
  /** Most entries of one chunk's c×B×B tensors: anchors are processed in chunks of this size, never all B³ at once. */
  readonly chunkEntries: number;
}

export interface TripletOptions extends TripletTerms, LossPartOptions {}

export const TRIPLET_DEFAULTS: TripletOptions = {
  margin: 0.05,
  softMargin: false,
  smoothLoss: false,
  distance: 'cosine',
  reducer: 'mean-non-zero',
  regularizer: null,
  chunkEntries: 2 ** 20,
};

/** Anchors per chunk so that a chunk's c×B×B tensors hold at most `entries` values (at least one anchor). */
export function anchorsPerChunk(batch: number, entries: number): number {
  return Math.max(1, Math.floor(entries / (batch * batch)));
}

/** The triplets of anchors start..start+c−1: their distances and the miner's selection (c×B×B, 1 = use). */
export interface SelectedTriplets {
  readonly start: number;
  readonly ap: tf.Tensor3D;
  readonly an: tf.Tensor3D;
  readonly selected: tf.Tensor3D;
}

/**
 * Calls `each` on the batch's triplets in chunks of anchors (c×B×B ≤ `chunkEntries`), each chunk in
 * its own tf.tidy so its c×B×B tensors are freed before the next; returns what `each` returns.
 * Without a miner every valid triplet (j positive of i, j ≠ i, k negative of i) is selected.
 */
export function forEachTripletChunk<T extends tf.TensorContainer>(
  distances: tf.Tensor2D,
  positive: tf.Tensor2D,
  negative: tf.Tensor2D,
  { margin, chunkEntries, dim }: { margin: number; chunkEntries: number; dim: number },
  miner: TripletMiner | undefined,
  each: (chunk: SelectedTriplets) => T,
): T[] {
  const b = distances.shape[0];
  const step = anchorsPerChunk(b, chunkEntries);
  const results: T[] = [];
  for (let start = 0; start < b; start += step) {
    const c = Math.min(step, b - start);
    results.push(
      tf.tidy(() => {
        const rows = distances.slice([start, 0], [c, b]);
        const ap = rows.reshape([c, b, 1]) as tf.Tensor3D;
        const an = rows.reshape([c, 1, b]) as tf.Tensor3D;
        const valid = positive
          .slice([start, 0], [c, b])
          .reshape([c, b, 1])
          .mul(negative.slice([start, 0], [c, b]).reshape([c, 1, b])) as tf.Tensor3D;
        return each({
          start,
          ap,
          an,
          selected: miner ? miner.select({ ap, an, valid, margin, distances, start, dim }) : valid,
        });
      }),
    );
  }
  return results;
}

/**
 * Triplet loss over the triplets the miner selects (all valid ones without a miner), from the
 * B×B distance matrix (smaller = closer), reduced by `reducer` (its weights w_ijk are computed per
 * chunk; its divisor from their total). Anchors are processed in chunks whose c×B×B tensors are
 * freed at once, and the gradient with respect to the distances is accumulated chunk by chunk
 * (∂L/∂d(i,j) = Σ_k w_ijk·h'(z) for positives j, −Σ_j w_ijk·h'(z) for negatives k, over the divisor)
 * and handed to autodiff through tf.customGrad: the tape keeps one B×B matrix, never B³ values.
 */
export function tripletLoss(
  distances: tf.Tensor2D,
  positive: tf.Tensor2D,
  negative: tf.Tensor2D,
  o: TripletTerms & { dim: number },
  reducer: Reducer,
  miner?: TripletMiner,
): tf.Scalar {
  const smooth = o.softMargin || o.smoothLoss;
  const loss = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [d, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const chunks = forEachTripletChunk(d, positive, negative, o, miner, ({ ap, an, selected }) => {
      const z = o.softMargin ? ap.sub(an) : ap.sub(an).add(o.margin);
      const raw = smooth ? tf.softplus(z) : tf.relu(z);
      const weights = reducer.weights(raw, selected);
      // Derivative of the hinge (step) or of softplus (sigmoid) at each selected triplet.
      const slope = weights.mul(smooth ? tf.sigmoid(z) : tf.step(z));
      return {
        total: raw.mul(weights).sum() as tf.Scalar,
        weight: weights.sum() as tf.Scalar,
        slope: slope.sum(2).sub(slope.sum(1)) as tf.Tensor2D,
      };
    });
    const divisor = reducer.divisor(tf.addN(chunks.map((chunk) => chunk.weight)));
    save([
      tf
        .concat(
          chunks.map((chunk) => chunk.slope),
          0,
        )
        .div(divisor),
    ]);
    return {
      value: tf.addN(chunks.map((chunk) => chunk.total)).div(divisor) as tf.Scalar,
      gradFunc: (dy: tf.Scalar, [gradient]: tf.Tensor[]) => dy.mul(gradient!),
    };
  });
  return loss(distances);
}

/** Triplet loss over all (anchor, positive, negative) of the batch, or those a miner selects. */
export const triplet = defineLoss<TripletOptions>({
  name: 'triplet',
  description:
    'triplet loss relu(d_ap − d_an + m), soft margin or smooth (PML), any distance and reducer, with an optional miner',
  defaults: TRIPLET_DEFAULTS,
  create: (o, components) => {
    const parts = lossParts('triplet', o, components);
    if (o.softMargin && o.smoothLoss)
      throw new UserError(
        'triplet: softMargin drops the margin and smoothLoss keeps it; set one of them',
        'softMargin: softplus(d_ap − d_an); smoothLoss: softplus(d_ap − d_an + margin)',
      );
    return ({ miner: configured }) => {
      const miner = minerOfKind(configured, 'triplet', 'triplet');
      return embeddingLoss(parts, (embeddings, labels) =>
        tf.tidy(() => {
          const { positive, negative } = labelMasks(labels);
          return tripletLoss(
            parts.distance.distances(embeddings),
            positive,
            negative,
            { ...o, dim: embeddings.shape[1] },
            parts.reducer,
            miner,
          );
        }),
      );
    };
  },
});
