import * as tf from '@tensorflow/tfjs';
import type { LossFactory, PairLoss } from '../../core/contracts/loss.js';
import type { KnnState, NeighbourRow, PostProcessor, TrainingVectors } from '../../core/contracts/postprocessor.js';
import type { Registration } from '../../core/contracts/registration.js';
import { UserError } from '../../core/errors.js';
import { Random } from '../../core/random.js';
import { exactSearch } from '../../core/search/neighbours.js';
import { siameseConcat, siameseCosine, siameseDifference } from '../losses/siamese.js';

export interface RerankOptions {
  /**
   * The pair model: `siamese-concat` ([a ; b] → ReLU layer → match probability, both orders averaged),
   * `siamese-difference` (|a − b| → match probability) or `siamese-cosine` (the cosine itself: no weights, the
   * order kept).
   */
  readonly pair: string;
  /** ReLU units of the pair classifier; 0 = logistic regression on its pair features. */
  readonly hidden: number;
  /** Neighbours of each query re-scored (the rest follow in their order). */
  readonly k: number;
  /** Neighbours of each training item that become its training pairs (1 = same label, 0 = not). */
  readonly mine: number;
  /** Passes over the mined pairs. */
  readonly epochs: number;
  /** Adam's learning rate for the pair model. */
  readonly learningRate: number;
  /** The new similarity: (1 − weight) · similarity + weight · the pair model's score; 0 keeps the search's order. */
  readonly weight: number;
}

const PAIR_MODELS: Readonly<Record<string, (hidden: number) => LossFactory>> = {
  'siamese-concat': (hidden) => siameseConcat.create({ symmetric: true, hidden }),
  'siamese-difference': (hidden) => siameseDifference.create({ hidden }),
  'siamese-cosine': () => siameseCosine.create({}),
};

function pairFactory(pair: string): (hidden: number) => LossFactory {
  const build = PAIR_MODELS[pair];
  if (!build)
    throw new UserError(`rerank: unknown pair model "${pair}"`, `pair: ${Object.keys(PAIR_MODELS).join(', ')}`);
  return build;
}

/** Pairs per step of the pair model's training. */
const PAIR_BATCH = 256;

/** Pairs (i, j) of each training item with its `mine` nearest other training items, target 1 where the labels agree. */
export function minedPairs(
  training: TrainingVectors,
  dim: number,
  mine: number,
): { a: number[]; b: number[]; targets: number[] } {
  const count = training.ids.length;
  const rows = count < 2 ? [] : exactSearch(training.vectors, training.vectors, dim, Math.min(mine + 1, count));
  const pairs = { a: [] as number[], b: [] as number[], targets: [] as number[] };
  rows.forEach((row, i) =>
    row.indices
      .filter((j) => j !== i)
      .slice(0, mine)
      .forEach((j) => {
        pairs.a.push(i);
        pairs.b.push(j);
        pairs.targets.push(training.labels[i] === training.labels[j] ? 1 : 0);
      }),
  );
  return pairs;
}

/** The pair model trained with Adam on the pairs mined from the training items' kNN lists (shuffled, fixed seed). */
export function trainPairModel(training: TrainingVectors, dim: number, options: RerankOptions): PairLoss {
  const model = pairFactory(options.pair)(options.hidden)({ embeddingDim: dim, numClasses: 0 }) as PairLoss;
  const pairs = minedPairs(training, dim, options.mine);
  if (model.variables().length === 0 || pairs.targets.length === 0) return model;
  const vectors = tf.tensor2d(training.vectors, [training.ids.length, dim]);
  const optimizer = tf.train.adam(options.learningRate);
  const random = new Random(1);
  const order = pairs.targets.map((_, p) => p);
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    random.shuffle(order);
    for (let start = 0; start < order.length; start += PAIR_BATCH) {
      const batch = order.slice(start, start + PAIR_BATCH);
      const cost = optimizer.minimize(
        () =>
          tf.tidy(() =>
            model.compute(
              tf.gather(
                vectors,
                batch.map((p) => pairs.a[p]!),
              ),
              tf.gather(
                vectors,
                batch.map((p) => pairs.b[p]!),
              ),
              tf.tensor1d(batch.map((p) => pairs.targets[p]!)),
            ),
          ),
        true,
        model.variables(),
      );
      cost?.dispose();
    }
  }
  optimizer.dispose();
  vectors.dispose();
  return model;
}

/** The pair model's score of each (query, gallery) pair, one tf call per PAIR_BATCH pairs. */
export function pairScores(
  model: PairLoss,
  state: Pick<KnnState, 'dim' | 'queryVectors' | 'galleryVectors'>,
  pairs: readonly (readonly [number, number])[],
): Float32Array {
  const { dim } = state;
  const scores = new Float32Array(pairs.length);
  for (let start = 0; start < pairs.length; start += PAIR_BATCH) {
    const batch = pairs.slice(start, start + PAIR_BATCH);
    const rows = (source: Float32Array, pick: (pair: readonly [number, number]) => number) => {
      const out = new Float32Array(batch.length * dim);
      batch.forEach((pair, i) => out.set(source.subarray(pick(pair) * dim, (pick(pair) + 1) * dim), i * dim));
      return tf.tensor2d(out, [batch.length, dim]);
    };
    const values = tf.tidy(() =>
      model.score!(
        rows(state.queryVectors, ([q]) => q),
        rows(state.galleryVectors, ([, g]) => g),
      ),
    );
    scores.set(values.dataSync(), start);
    values.dispose();
  }
  return scores;
}

/** Trained pair models by the training vectors they learned from and their settings (tuning re-applies the chain). */
const models = new WeakMap<Float32Array, Map<string, PairLoss>>();

function modelFor(training: TrainingVectors, dim: number, options: RerankOptions): PairLoss {
  const key = JSON.stringify([options.pair, options.hidden, options.mine, options.epochs, options.learningRate]);
  let byKey = models.get(training.vectors);
  if (!byKey) models.set(training.vectors, (byKey = new Map<string, PairLoss>()));
  let model = byKey.get(key);
  if (!model) byKey.set(key, (model = trainPairModel(training, dim, options)));
  return model;
}

/**
 * Each row's first `k` neighbours re-scored by the pair model and sorted by the blend; the query itself (a match
 * set searched against itself) stays first, the neighbours past `k` follow as they were.
 */
function rerankRows(state: KnnState, scores: Float32Array, k: number, weight: number): NeighbourRow[] {
  let next = 0;
  return state.neighbours.map((row, q) => {
    const head = row.indices.slice(0, k).map((g, r) => {
      const score = scores[next++]!;
      const self = state.galleryIds[g] === state.queryIds[q];
      const similarity = self ? row.similarities[r]! : (1 - weight) * row.similarities[r]! + weight * score;
      return { g, similarity, rank: self ? Number.POSITIVE_INFINITY : similarity };
    });
    head.sort((x, y) => y.rank - x.rank || x.g - y.g);
    return {
      indices: [...head.map(({ g }) => g), ...row.indices.slice(k)],
      similarities: [...head.map(({ similarity }) => similarity), ...row.similarities.slice(k)],
    };
  });
}

/**
 * Re-ranking by a pairwise model (OML's pairwise re-ranker): one of the siamese pair heads, trained on pairs mined from
 * the kNN lists of the training items, re-scores each query's top-k neighbours.
 */
export const rerank: Registration<PostProcessor, RerankOptions> = {
  name: 'rerank',
  description: "re-score each query's top-k by a siamese pair model trained on the training items' kNN pairs",
  defaults: { pair: 'siamese-concat', hidden: 64, k: 10, mine: 10, epochs: 20, learningRate: 0.003, weight: 1 },
  ranges: {
    hidden: { integer: true, min: 0 },
    k: { integer: true, min: 1 },
    mine: { integer: true, min: 1 },
    epochs: { integer: true, min: 1 },
    learningRate: { above: 0 },
    weight: { min: 0, max: 1 },
  },
  create: (options: RerankOptions) => {
    pairFactory(options.pair);
    return {
      name: 'rerank',
      learnsFromTraining: true,
      apply: (state) => {
        if (options.weight === 0) return state;
        if (!state.training)
          throw new UserError(
            'rerank: the state has no training vectors to learn from',
            "run it in the pipeline's chain",
          );
        const model = modelFor(state.training, state.dim, options);
        const pairs = state.neighbours.flatMap((row, q) => row.indices.slice(0, options.k).map((g) => [q, g] as const));
        const scores = pairScores(model, state, pairs);
        return { ...state, neighbours: rerankRows(state, scores, options.k, options.weight) };
      },
    };
  },
};
