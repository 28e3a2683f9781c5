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
import { DEFAULT_SEED, deriveSeed } from '../random.js';
import { MinerKindError } from './pairwise.js';

function prefixed(prefix: string, weights: tf.NamedTensorMap): tf.NamedTensorMap {
  return Object.fromEntries(Object.entries(weights).map(([name, value]) => [`${prefix}/${name}`, value]));
}

function unprefixed(prefix: string, weights: tf.NamedTensorMap): tf.NamedTensorMap {
  const start = `${prefix}/`;
  return Object.fromEntries(
    Object.entries(weights)
      .filter(([name]) => name.startsWith(start))
      .map(([name, value]) => [name.slice(start.length), value]),
  );
}

/** The head name of losses that take embeddings, pairs or views directly. */
export const NO_HEAD = 'none';

/** The miner name of a config without a miner. */
export const NO_MINER = 'none';

/** Names of the registered miners of one kind, for the hint when a loss is given a miner of another. */
function minerNames(app: Pick<Simkit, 'registry'>, kind: Miner['kind']): string[] {
  const registry = app.registry<Miner>('Miner');
  return registry.names().filter((name) => registry.create(name).kind === kind);
}

/** The loss built for the dims with the configured miner; a miner it cannot use is refused naming the ones it can. */
function createLoss(
  app: Pick<Simkit, 'registry'>,
  lossName: string,
  config: ObjectiveConfig,
  dims: ObjectiveDims,
  miner: Miner | undefined,
): Loss {
  const factory = app.registry<LossFactory>('Loss').create(lossName, config.lossOptions);
  try {
    return factory({
      ...dims,
      miner,
      lossNamed: (name, options) => app.registry<LossFactory>('Loss').create(name, options),
    });
  } catch (error) {
    if (!(error instanceof MinerKindError)) throw error;
    const hint =
      error.wanted === 'none'
        ? `drop the miner (miner: { name: ${NO_MINER} })`
        : `${error.wanted} miners: ${minerNames(app, error.wanted).join(', ')}`;
    throw new UserError(`loss "${lossName}" cannot use miner "${config.miner}": ${error.message}`, hint);
  }
}

/**
 * Builds what the training loop optimises from registry names: a loss, plus a class head for
 * logit losses (default head `dense`; a head without a loss gets `cross-entropy`). The head and the loss
 * each draw their class matrices with a seed of their own, derived from `dims.seed` and their names.
 */
export function createObjective(
  app: Pick<Simkit, 'registry'>,
  config: ObjectiveConfig,
  dims: ObjectiveDims,
): Objective {
  const minerName = config.miner === NO_MINER ? undefined : config.miner;
  const miner = minerName ? app.registry<Miner>('Miner').create(minerName, config.minerOptions) : undefined;
  const lossName = config.loss ?? 'cross-entropy';
  const seed = dims.seed ?? DEFAULT_SEED;
  const loss = createLoss(app, lossName, config, { ...dims, seed: deriveSeed(seed, 'loss', lossName) }, miner);
  if (minerName && loss.input !== 'embeddings') {
    if ('variables' in loss) loss.dispose();
    throw new UserError(
      `loss "${lossName}" works on ${loss.input}, so miner "${minerName}" has nothing to select`,
      'drop the miner (miner: { name: none }), or pick an embedding loss: contrastive or hinge (pair miners), triplet (triplet miners)',
    );
  }
  const headName =
    config.head === NO_HEAD ? undefined : (config.head ?? (loss.input === 'logits' ? 'dense' : undefined));
  if (headName && loss.input !== 'logits') {
    throw new UserError(
      `loss "${lossName}" works on ${loss.input}, not on a head's logits`,
      `set the head to "${NO_HEAD}" (in a config file: head: { name: ${NO_HEAD} }) or pick a logit loss such as cross-entropy`,
    );
  }
  if (!headName && loss.input === 'logits') {
    throw new UserError(
      `loss "${lossName}" works on a head's logits, but the head is "${NO_HEAD}"`,
      'name a head (dense, arcface, cosface, …): `simkit list heads`',
    );
  }
  const head = headName
    ? app.registry<HeadFactory>('Head').create(headName, config.headOptions)({
        ...dims,
        seed: deriveSeed(seed, 'head', headName),
      })
    : undefined;
  return new ComposedObjective(minerName ? `${lossName} (${minerName})` : lossName, headName, loss, head);
}

/**
 * Builds and disposes the objective of `config` on two made-up classes, so that unknown names or
 * options and a loss/head/miner mismatch are refused before any data is read or trained on.
 */
/** Builds the objective once to refuse a bad config early; returns the batches it trains on. */
export function checkObjective(
  app: Pick<Simkit, 'registry'>,
  config: ObjectiveConfig,
  embeddingDim: number,
): BatchKind {
  const objective = createObjective(app, config, { embeddingDim, numClasses: 2, classCounts: [1, 1] });
  objective.dispose();
  return objective.batch;
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
    const parts: [
      string,
      {
        variables(): tf.Variable[];
        getWeights(): tf.NamedTensorMap;
        setWeights(w: tf.NamedTensorMap): void;
        getState?(): tf.NamedTensorMap;
        setState?(state: tf.NamedTensorMap): void;
        onStep?(p: TrainingProgress): void;
        dispose(): void;
      },
    ][] = [];
    if (this.head) parts.push(['head', this.head]);
    if ('variables' in this.lossFunction) parts.push(['loss', this.lossFunction]);
    return parts;
  }

  variables(): tf.Variable[] {
    return this.trainables().flatMap(([, part]) => part.variables());
  }

  getWeights(): tf.NamedTensorMap {
    return Object.fromEntries(
      this.trainables().flatMap(([prefix, part]) => Object.entries(prefixed(prefix, part.getWeights()))),
    );
  }

  setWeights(weights: tf.NamedTensorMap): void {
    for (const [prefix, part] of this.trainables()) part.setWeights(unprefixed(prefix, weights));
  }

  getState(): tf.NamedTensorMap {
    return Object.fromEntries(
      this.trainables().flatMap(([prefix, part]) => Object.entries(prefixed(prefix, part.getState?.() ?? {}))),
    );
  }

  setState(state: tf.NamedTensorMap): void {
    for (const [prefix, part] of this.trainables()) part.setState?.(unprefixed(prefix, state));
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
