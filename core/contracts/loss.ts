import type * as tf from '@tensorflow/tfjs';
import type { RandomSource } from './random.js';

/**
 * Metric-learning contracts: what the training loop consumes (`Objective`) and what plugins
 * register under TOKENS.Loss / Head / Miner / Sampler.
 *
 * The training loop, per step, inside `optimizer.minimize` (or `tf.variableGrads`):
 *
 *   const embeddings = model.apply(inputs)            // L2-normalised B×D
 *   const loss = objective.loss({ kind: 'labels', embeddings, labels })   // tf.Scalar
 *
 * and optimises `model.trainableWeights` together with `objective.variables()` (class matrices,
 * learnable margins, siamese classifiers), optionally with a separate learning rate for the latter.
 * `objective.batch` says which batch structure the data pipeline must deliver:
 *   - 'labels': B embeddings with integer class indices 0..numClasses-1 (P×K sampler);
 *   - 'pairs':  embeddings of A and B (row i of A pairs with row i of B) and a target per pair
 *               (1 = same identity, 0 = different, or a real similarity for regression);
 *   - 'views':  two augmented views of the same B items, no labels (SimCLR).
 * `createObjective(app, config, dims)` in core/losses/objective.ts builds an Objective from
 * registry names and options.
 */
export type BatchKind = 'labels' | 'pairs' | 'views';

export type ObjectiveBatch =
  | { readonly kind: 'labels'; readonly embeddings: tf.Tensor2D; readonly labels: tf.Tensor1D }
  | { readonly kind: 'pairs'; readonly a: tf.Tensor2D; readonly b: tf.Tensor2D; readonly targets: tf.Tensor1D }
  | { readonly kind: 'views'; readonly a: tf.Tensor2D; readonly b: tf.Tensor2D };

/** Where training stands; objectives use it for schedules (e.g. raising an ArcFace margin). */
export interface TrainingProgress {
  /** 0-based epoch. */
  readonly epoch: number;
  /** 0-based global step across epochs. */
  readonly step: number;
  readonly epochs: number;
  readonly stepsPerEpoch: number;
}

/** Shapes an objective is built for; `classCounts[c]` = training samples of class c (dynamic margins, β). */
export interface ObjectiveDims {
  readonly embeddingDim: number;
  readonly numClasses: number;
  readonly classCounts?: readonly number[];
  /**
   * The seed of the class matrices (heads' class centres, losses' proxies). `createObjective` gives each head and loss
   * its own, derived from the run's `--seed`, the model's name and the component's name (core/random.ts:deriveSeed);
   * without one, the run's default seed.
   */
  readonly seed?: number;
}

/** Something that owns trainable state. Names are stable so checkpoints can be restored. */
export interface Trainable {
  /** Variables to optimise in addition to the model's weights (empty for parameter-free losses). */
  variables(): tf.Variable[];
  /** Current values keyed by stable names (the variables themselves; do not dispose). */
  getWeights(): tf.NamedTensorMap;
  /** Assigns values saved by `getWeights`; a missing or mis-shaped entry is an error. */
  setWeights(weights: tf.NamedTensorMap): void;
  /** Called by the loop before each step; schedules (margins) update here. */
  onStep?(progress: TrainingProgress): void;
  /**
   * State that is not trained but that a resumed run needs to continue exactly (cross-batch memory's queue), keyed
   * by stable names; checkpoints save it and `setState` restores it. Tensors that are not variables are the caller's.
   */
  getState?(): tf.NamedTensorMap;
  setState?(state: tf.NamedTensorMap): void;
  dispose(): void;
}

/** What the training loop consumes. */
export interface Objective extends Trainable {
  /** e.g. "arcface + cross-entropy", "triplet (semi-hard)". */
  readonly description: string;
  readonly batch: BatchKind;
  /** Scalar loss of one batch; call inside tf.tidy / optimizer.minimize. Never NaN. */
  loss(batch: ObjectiveBatch): tf.Scalar;
  /** Class logits B×numClasses for inference (no margin), when the objective has a class head. */
  logits?(embeddings: tf.Tensor2D): tf.Tensor2D;
  /** Call before every step (updates schedules such as a rising margin). */
  onStep(progress: TrainingProgress): void;
}

export interface ObjectiveConfig {
  /** A TOKENS.Loss name. Omitted with a head: 'cross-entropy'. */
  readonly loss?: string;
  readonly lossOptions?: Record<string, unknown>;
  /**
   * A TOKENS.Head name; needed by logit losses (default 'dense' when a logit loss has none); `none` for losses on
   * embeddings, pairs or views.
   */
  readonly head?: string;
  readonly headOptions?: Record<string, unknown>;
  /** A TOKENS.Miner name for triplet/pair losses that accept one. */
  readonly miner?: string;
  readonly minerOptions?: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Losses (TOKENS.Loss). Registration<LossFactory>: create(options) returns a factory that the
// objective builder calls with the dims (and the configured miner).

export interface LossContext extends ObjectiveDims {
  readonly miner?: Miner;
  /** Another registered loss by name, for losses that wrap one (cross-batch memory). */
  readonly lossNamed?: (name: string, options?: Record<string, unknown>) => LossFactory;
}

export type LossFactory = (context: LossContext) => Loss;

/** Label-based loss on B×D embeddings (contrastive, triplet, margin loss, hinge). */
export interface EmbeddingLoss extends Trainable {
  readonly input: 'embeddings';
  compute(embeddings: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar;
  /**
   * Losses over the pairs of the batch only (pytorch-metric-learning's GenericPairLoss): the loss over the pairs that
   * `allowed` (B×B, 0/1, row = anchor) keeps, a row being an anchor only where it has allowed pairs. Cross-batch memory
   * uses it to take anchors from the current batch only, with the memory as their references.
   */
  computeOnPairs?(embeddings: tf.Tensor2D, labels: tf.Tensor1D, allowed: tf.Tensor2D): tf.Scalar;
}

/** Loss on class logits B×C from a head (cross-entropy, focal, logistic, …). */
export interface LogitLoss {
  readonly input: 'logits';
  compute(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar;
}

/** Siamese loss on paired embeddings with a per-pair target. */
export interface PairLoss extends Trainable {
  readonly input: 'pairs';
  compute(a: tf.Tensor2D, b: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar;
  /** How much each pair (row i of a with row i of b) looks like a match, higher is closer: a re-ranker sorts by it. */
  score?(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D;
}

/** Self-supervised loss on two views of the same items (NT-Xent). */
export interface ViewLoss {
  readonly input: 'views';
  compute(a: tf.Tensor2D, b: tf.Tensor2D): tf.Scalar;
}

export type Loss = EmbeddingLoss | LogitLoss | PairLoss | ViewLoss;

// ---------------------------------------------------------------------------------------------
// Heads (TOKENS.Head): a trainable class matrix turning embeddings into logits.
// Registration<HeadFactory>: create(options) returns a factory called with the dims.

export type HeadFactory = (dims: ObjectiveDims) => ClassHead;

export interface ClassHead extends Trainable {
  /**
   * Training logits B×C: with `labels`, margin heads apply their margin to the true class
   * (ArcFace s·cos(θ+m), …); without, plain scaled logits for inference.
   */
  logits(embeddings: tf.Tensor2D, labels?: tf.Tensor1D): tf.Tensor2D;
}

// ---------------------------------------------------------------------------------------------
// Miners (TOKENS.Miner). Registration<Miner>. Miners select on detached distances; the result
// is a float mask (1 = use), never differentiated.

/** Distances of a chunk of anchors: ap[i,j,0] = d(anchor i, j), an[i,0,k] = d(anchor i, k). */
export interface TripletChunk {
  readonly ap: tf.Tensor3D; // c×B×1
  readonly an: tf.Tensor3D; // c×1×B
  /** 1 where (i, j, k) is a valid triplet: j positive of i (j≠i), k negative of i. c×B×B. */
  readonly valid: tf.Tensor3D;
  /** The loss's margin, in the same distance units as ap/an. */
  readonly margin: number;
  /** The whole B×B distance matrix (d(j, k) between a positive and a negative: the angular miner). */
  readonly distances: tf.Tensor2D;
  /** Index of the chunk's first anchor in the batch. */
  readonly start: number;
  /** Embedding dimension (the density of distances on the unit sphere: distance-weighted sampling). */
  readonly dim: number;
}

export interface TripletMiner {
  readonly kind: 'triplet';
  /** c×B×B float mask of the triplets to use (a subset of `valid`). */
  select(chunk: TripletChunk): tf.Tensor3D;
}

export interface PairMiner {
  readonly kind: 'pair';
  /** Selects B×B positive and negative pairs from distances and the label masks (float 0/1). */
  select(
    distances: tf.Tensor2D,
    positive: tf.Tensor2D,
    negative: tf.Tensor2D,
  ): { readonly positive: tf.Tensor2D; readonly negative: tf.Tensor2D };
}

export type Miner = TripletMiner | PairMiner;

// ---------------------------------------------------------------------------------------------
// Samplers (TOKENS.Sampler). Registration<Sampler>. Deterministic for a given Random.

/** One training batch: row indices into the dataset; `repeated[i]` marks a re-used sample (augment it). */
export interface IndexBatch {
  readonly indices: number[];
  readonly repeated: boolean[];
}

/** Indices of a pair and its target (1 = same label, 0 = different). */
export interface IndexPair {
  readonly a: number;
  readonly b: number;
  readonly target: number;
}

export interface BatchSampler {
  readonly kind: 'batches';
  /** Samples in its largest batch, when the sampler's options fix it (P × K); otherwise the config's batch size. */
  readonly largestBatch?: number;
  /** Batches of one epoch over `labels` (one label per dataset row). */
  epoch(labels: readonly (string | number)[], random: RandomSource): IndexBatch[];
}

export interface PairSampler {
  readonly kind: 'pairs';
  /** Pairs of one epoch, produced lazily. */
  pairs(labels: readonly (string | number)[], random: RandomSource): Iterable<IndexPair>;
}

export type Sampler = BatchSampler | PairSampler;
