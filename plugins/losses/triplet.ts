import * as tf from '@tensorflow/tfjs';
import type { EmbeddingLoss, LossFactory } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';
import { PARAMETER_FREE, detached, distanceMatrix, labelMasks, minerOfKind, type Distance } from '../../core/losses/pairwise.js';

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
 * Triplet loss over all (anchor, positive, negative) of the batch, or those a miner selects,
 * averaged over the triplets with non-zero loss (all selected ones with the soft margin).
 */
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
            const b = embeddings.shape[0];
            const d = distanceMatrix(embeddings, o.distance);
            const { positive, negative } = labelMasks(labels);
            let total: tf.Scalar = tf.scalar(0);
            let count: tf.Scalar = tf.scalar(0);
            const step = anchorsPerChunk(b, o.chunkEntries);
            for (let start = 0; start < b; start += step) {
              const c = Math.min(step, b - start);
              const rows = d.slice([start, 0], [c, b]);
              const ap = rows.reshape([c, b, 1]) as tf.Tensor3D;
              const an = rows.reshape([c, 1, b]) as tf.Tensor3D;
              const valid = positive.slice([start, 0], [c, b]).reshape([c, b, 1]).mul(negative.slice([start, 0], [c, b]).reshape([c, 1, b])) as tf.Tensor3D;
              const selected = miner ? miner.select({ ap: detached(ap), an: detached(an), valid, margin: o.margin }) : valid;
              const raw = o.softMargin ? tf.softplus(ap.sub(an)) : tf.relu(ap.sub(an).add(o.margin));
              const active = o.softMargin ? selected : selected.mul(tf.step(detached(raw).sub(1e-12)));
              total = total.add(raw.mul(active).sum());
              count = count.add(active.sum());
            }
            return total.div(count.maximum(1)) as tf.Scalar;
          }),
      };
    };
  },
};
