import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../core/errors.js';
import { defineLoss, embeddingLoss, type LossPartOptions, lossParts } from '../../core/losses/embedding-loss.js';
import { noMiner } from '../../core/losses/pairwise.js';
import { reduce } from '../../core/losses/reducers.js';
import { crossEntropyPerRow, labelRanks } from './class-weights.js';

export interface InstanceOptions extends LossPartOptions {
  /** The scale γ of the cosines. */
  readonly gamma: number;
}

export const INSTANCE_DEFAULTS: InstanceOptions = { gamma: 64, distance: 'cosine', reducer: 'mean', regularizer: null };

/**
 * Instance loss (Zheng et al. 2020) as pytorch-metric-learning 2.x computes it: the B×B cosines
 * of the batch scaled by γ are the logits of each row, and row i's target column is the rank of
 * its label among the batch's distinct labels (sorted). With labels 0 … B − 1 in batch order
 * (every row its own instance) that is each row's own column: instance discrimination. With
 * repeated labels (P×K batches) the target column is another row, as in PML: use one row per label.
 */
export const instance = defineLoss<InstanceOptions>({
  name: 'instance',
  description:
    'instance loss (Zheng 2020, as PML 2.x): softmax over γ·cosines of the batch, target column = the rank of the label',
  defaults: INSTANCE_DEFAULTS,
  create: (o, components) => {
    const parts = lossParts('instance', o, components);
    if (parts.distance.name !== 'cosine')
      throw new UserError(
        `instance: works on cosines, not the ${parts.distance.name} distance`,
        'drop the distance option',
      );
    return ({ miner }) => {
      noMiner(miner, 'instance');
      return embeddingLoss(parts, (embeddings, labels) =>
        tf.tidy(() => {
          const { ranks } = labelRanks(labels.dataSync());
          const perRow = crossEntropyPerRow(
            parts.distance.matrix(embeddings).mul(o.gamma) as tf.Tensor2D,
            tf.tensor1d(ranks, 'int32'),
          );
          return reduce(parts.reducer, perRow, tf.onesLike(perRow));
        }),
      );
    };
  },
});
