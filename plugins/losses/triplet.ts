import * as tf from '@tensorflow/tfjs';
import type { EmbeddingLoss, LossFactory, TripletMiner } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';
import { PARAMETER_FREE, distanceMatrix, labelMasks, minerOfKind, type Distance } from '../../core/losses/pairwise.js';

export interface TripletOptions {
  readonly margin: number;
  /** softplus(d_ap − d_an) instead of relu(d_ap − d_an + margin). */
  readonly softMargin: boolean;
  readonly distance: Distance;
  /** Most entries of one chunk's c×B×B tensors: anchors are processed in chunks of this size, never all B³ at once. */
  readonly chunkEntries: number;
}

export const TRIPLET_DEFAULTS: TripletOptions = { margin: 0.05, softMargin: false, distance: 'cosine', chunkEntries: 2 ** 20 };

/** Anchors per chunk so that a chunk's c×B×B tensors hold at most `entries` values (at least one anchor). */
export function anchorsPerChunk(batch: number, entries: number): number {
  return Math.max(1, Math.floor(entries / (batch * batch)));
}

/**
 * Mean triplet loss over the triplets the miner selects (all valid ones without a miner), from the
 * B×B distance matrix. Anchors are processed in chunks whose c×B×B tensors are freed at once, and
 * the gradient with respect to the distances is accumulated chunk by chunk
 * (∂L/∂d(i,j) = Σ_k w_ijk for positives j, −Σ_j w_ijk for negatives k, w = selected · h'(z) / count)
 * and handed to autodiff through tf.customGrad: the tape keeps one B×B matrix, never B³ values.
 * The hinge is averaged over the triplets with non-zero loss (all selected ones with the soft margin).
 */
export function tripletLoss(distances: tf.Tensor2D, positive: tf.Tensor2D, negative: tf.Tensor2D, o: TripletOptions, miner?: TripletMiner): tf.Scalar {
  const b = distances.shape[0];
  const step = anchorsPerChunk(b, o.chunkEntries);
  const loss = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [d, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const chunks: { total: tf.Scalar; count: tf.Scalar; slope: tf.Tensor2D }[] = [];
    for (let start = 0; start < b; start += step) {
      const c = Math.min(step, b - start);
      chunks.push(
        tf.tidy(() => {
          const rows = d.slice([start, 0], [c, b]);
          const ap = rows.reshape([c, b, 1]) as tf.Tensor3D;
          const an = rows.reshape([c, 1, b]) as tf.Tensor3D;
          const valid = positive.slice([start, 0], [c, b]).reshape([c, b, 1]).mul(negative.slice([start, 0], [c, b]).reshape([c, 1, b])) as tf.Tensor3D;
          const selected = miner ? miner.select({ ap, an, valid, margin: o.margin }) : valid;
          const z = o.softMargin ? ap.sub(an) : ap.sub(an).add(o.margin);
          const raw = o.softMargin ? tf.softplus(z) : tf.relu(z);
          const active = o.softMargin ? selected : selected.mul(tf.step(raw.sub(1e-12)));
          // Derivative of the hinge (step) or of softplus (sigmoid) at each selected triplet.
          const weight = active.mul(o.softMargin ? tf.sigmoid(z) : tf.step(z));
          return {
            total: raw.mul(active).sum() as tf.Scalar,
            count: active.sum() as tf.Scalar,
            slope: weight.sum(2).sub(weight.sum(1)) as tf.Tensor2D,
          };
        }),
      );
    }
    const count = tf.addN(chunks.map((chunk) => chunk.count)).maximum(1);
    save([tf.concat(chunks.map((chunk) => chunk.slope), 0).div(count)]);
    return {
      value: tf.addN(chunks.map((chunk) => chunk.total)).div(count) as tf.Scalar,
      gradFunc: (dy: tf.Scalar, [gradient]: tf.Tensor[]) => dy.mul(gradient!),
    };
  });
  return loss(distances) as tf.Scalar;
}

/** Triplet loss over all (anchor, positive, negative) of the batch, or those a miner selects. */
export const triplet: Registration<LossFactory, TripletOptions> = {
  name: 'triplet',
  description: 'triplet loss relu(d_ap − d_an + m) or soft margin, cosine or L2, with an optional miner',
  defaults: TRIPLET_DEFAULTS,
  create: (options) => {
    const o = { ...TRIPLET_DEFAULTS, ...options };
    return ({ miner: configured }): EmbeddingLoss => {
      const miner = minerOfKind(configured, 'triplet', 'triplet');
      return {
        input: 'embeddings',
        ...PARAMETER_FREE,
        compute: (embeddings, labels) =>
          tf.tidy(() => {
            const { positive, negative } = labelMasks(labels);
            return tripletLoss(distanceMatrix(embeddings, o.distance), positive, negative, o, miner);
          }),
      };
    };
  },
};
