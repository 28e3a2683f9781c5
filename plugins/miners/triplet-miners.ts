import * as tf from '@tensorflow/tfjs';
import type { TripletChunk, TripletMiner } from '../../core/contracts/loss.js';
import type { Registration } from '../../core/contracts/registration.js';
import { checkOptionNames } from '../../core/losses/embedding-loss.js';

/** The valid triplets where `condition` (a 0/1 tensor from the detached distances) holds. */
function where(chunk: TripletChunk, condition: (ap: tf.Tensor3D, an: tf.Tensor3D) => tf.Tensor): tf.Tensor3D {
  return tf.tidy(() => chunk.valid.mul(condition(chunk.ap, chunk.an)) as tf.Tensor3D);
}

function miner(name: string, description: string, select: (chunk: TripletChunk) => tf.Tensor3D): Registration<TripletMiner, Record<string, never>> {
  return {
    name,
    description,
    defaults: {},
    create: (options) => {
      checkOptionNames(`miner ${name}`, { ...options }, {});
      return { kind: 'triplet', select };
    },
  };
}

export const allTriplets = miner('all-triplets', 'every valid triplet', (chunk) => chunk.valid.clone());
export const hardTriplets = miner('hard', 'triplets whose negative is closer than the positive (d_an < d_ap)', (chunk) => where(chunk, (ap, an) => tf.step(ap.sub(an))));
export const semiHardTriplets = miner('semi-hard', 'triplets with d_ap < d_an < d_ap + margin', (chunk) =>
  where(chunk, (ap, an) => tf.step(an.sub(ap)).mul(tf.step(ap.add(chunk.margin).sub(an)))),
);
export const easyTriplets = miner('easy', 'triplets already satisfied by the margin (d_an > d_ap + margin)', (chunk) => where(chunk, (ap, an) => tf.step(an.sub(ap).sub(chunk.margin))));

/** For each anchor, its farthest positive with its nearest negative: one triplet per anchor (when both exist). */
export const batchHard = miner('batch-hard', 'per anchor the hardest positive and the hardest negative', (chunk) =>
  tf.tidy(() => {
    const [c, b] = [chunk.valid.shape[0], chunk.valid.shape[1]];
    const positive = chunk.valid.max(2);
    const negative = chunk.valid.max(1);
    const hardestPositive = chunk.ap.reshape([c, b]).mul(positive).sub(tf.scalar(1).sub(positive).mul(1e9)).argMax(1);
    const hardestNegative = chunk.an.reshape([c, b]).add(tf.scalar(1).sub(negative).mul(1e9)).argMin(1);
    const j = tf.oneHot(hardestPositive, b).toFloat().reshape([c, b, 1]);
    const k = tf.oneHot(hardestNegative, b).toFloat().reshape([c, 1, b]);
    return j.mul(k).mul(chunk.valid) as tf.Tensor3D;
  }),
);
