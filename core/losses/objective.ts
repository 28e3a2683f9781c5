import * as tf from '@tensorflow/tfjs';
import type {
  BatchKind,
  ClassHead,
  HeadFactory,
  Loss,
  LossFactory,
  Miner,
  Objective,
  ObjectiveBatch,
  ObjectiveConfig,
  ObjectiveDims,
  TrainingProgress,
} from '../contracts/loss.js';
import type { Simkit } from '../di/container.js';
import { UserError } from '../errors.js';

function prefixed(prefix: string, weights: tf.NamedTensorMap): tf.NamedTensorMap {
  return Object.fromEntries(Object.entries(weights).map(([name, value]) => [`${prefix}/${name}`, value]));
}

function unprefixed(prefix: string, weights: tf.NamedTensorMap): tf.NamedTensorMap {
  const start = `${prefix}/`;
  return Object.fromEntries(Object.entries(weights).filter(([name]) => name.startsWith(start)).map(([name, value]) => [name.slice(start.length), value]));
}

/** The head name of losses that take embeddings, pairs or views directly. */
export const NO_HEAD = 'none';

/**
 * Builds what the training loop optimises from registry names: a loss, plus a class head for
 * logit losses (default head `dense`; a head without a loss gets `cross-entropy`).
 */
export function createObjective(app: Pick<Simkit, 'registry'>, config: ObjectiveConfig, dims: ObjectiveDims): Objective {
  const miner = config.miner ? app.registry<Miner>('Miner').create(config.miner, config.minerOptions) : undefined;
  const lossName = config.loss ?? 'cross-entropy';
  const loss = app.registry<LossFactory>('Loss').create(lossName, config.lossOptions)({ ...dims, miner });
  if (config.miner && loss.input !== 'embeddings') {
    throw new UserError(`loss "${lossName}" works on ${loss.input}, so miner "${config.miner}" has nothing to select`, 'drop the miner, or pick contrastive, hinge (pair miners) or triplet (triplet miners)');
  }
  const headName = config.head === NO_HEAD ? undefined : config.head ?? (loss.input === 'logits' ? 'dense' : undefined);
  if (headName && loss.input !== 'logits') {
    throw new UserError(
      `loss "${lossName}" works on ${loss.input}, not on a head's logits`,
      `set the head to "${NO_HEAD}" (in a config file: head: { name: ${NO_HEAD} }) or pick a logit loss such as cross-entropy`,
    );
  }
  if (!headName && loss.input === 'logits') {
    throw new UserError(`loss "${lossName}" works on a head's logits, but the head is "${NO_HEAD}"`, 'name a head (dense, arcface, cosface, …): `simkit list heads`');
  }
  const head = headName ? app.registry<HeadFactory>('Head').create(headName, config.headOptions)(dims) : undefined;
  return new ComposedObjective(lossName, headName, loss, head);
}

class ComposedObjective implements Objective {
  readonly description: string;
  readonly batch: BatchKind;

  constructor(
    lossName: string,
    headName: string | undefined,
    private readonly lossFunction: Loss,
    private readonly head: ClassHead | undefined,
  ) {
    this.description = headName ? `${headName} + ${lossName}` : lossName;
    this.batch = lossFunction.input === 'pairs' ? 'pairs' : lossFunction.input === 'views' ? 'views' : 'labels';
  }

  private trainables() {
    const parts: [string, { variables(): tf.Variable[]; getWeights(): tf.NamedTensorMap; setWeights(w: tf.NamedTensorMap): void; onStep?(p: TrainingProgress): void; dispose(): void }][] = [];
    if (this.head) parts.push(['head', this.head]);
    if ('variables' in this.lossFunction) parts.push(['loss', this.lossFunction]);
    return parts;
  }

  variables(): tf.Variable[] {
    return this.trainables().flatMap(([, part]) => part.variables());
  }

  getWeights(): tf.NamedTensorMap {
    return Object.assign({}, ...this.trainables().map(([prefix, part]) => prefixed(prefix, part.getWeights())));
  }

  setWeights(weights: tf.NamedTensorMap): void {
    for (const [prefix, part] of this.trainables()) part.setWeights(unprefixed(prefix, weights));
  }

  onStep(progress: TrainingProgress): void {
    for (const [, part] of this.trainables()) part.onStep?.(progress);
  }

  loss(batch: ObjectiveBatch): tf.Scalar {
    const loss = this.lossFunction;
    switch (loss.input) {
      case 'logits': {
        if (batch.kind !== 'labels') throw new UserError(`${this.description} needs labelled batches`);
        return tf.tidy(() => loss.compute(this.head!.logits(batch.embeddings, batch.labels), batch.labels));
      }
      case 'embeddings':
        if (batch.kind !== 'labels') throw new UserError(`${this.description} needs labelled batches`);
        return loss.compute(batch.embeddings, batch.labels);
      case 'pairs':
        if (batch.kind !== 'pairs') throw new UserError(`${this.description} needs pair batches`);
        return loss.compute(batch.a, batch.b, batch.targets);
      case 'views':
        if (batch.kind !== 'views') throw new UserError(`${this.description} needs two views per item`);
        return loss.compute(batch.a, batch.b);
    }
  }

  logits(embeddings: tf.Tensor2D): tf.Tensor2D {
    if (!this.head) throw new UserError(`${this.description} has no class head`);
    return this.head.logits(embeddings);
  }

  dispose(): void {
    for (const [, part] of this.trainables()) part.dispose();
  }
}
