import { join } from 'node:path';
import type { ComponentChoice, Item } from '../contracts/competition.js';
import type { KnnState } from '../contracts/postprocessor.js';
import type { ValidationItems } from '../contracts/task.js';
import { log } from '../log.js';
import { exactSearchContext } from '../search/neighbours.js';
import { Random } from '../random.js';
import type { RunOptions, ScoredRunContext } from './context.js';
import { embedderOf, type Embedder } from './embed.js';
import type { EmbeddingModel } from './embedding-model.js';
import { fitChain, type Overrides } from './knn.js';
import { foldsFor } from './split.js';
import { modelDir, trainModels, type TrainedModels } from './train-models.js';
import { printCurve, validationScoring, validationState, type ValidationOutcome } from './validate.js';

/** The out-of-fold predictions of every train item, in the submission's format, in the run folder. */
export const OUT_OF_FOLD_FILE = 'out-of-fold.csv';

/** What a cross-validation measured: the out-of-fold score over every train item and each fold's own. */
export interface OutOfFold {
  readonly folds: number;
  /** Train items predicted out of fold: every one, once. */
  readonly items: number;
  readonly score: number | null;
  /** Each fold's held-out items scored alone, with the settings tuned out of fold. */
  readonly perFold: readonly (number | null)[];
  readonly tuned: Overrides;
  readonly final: 'folds' | 'full';
}

/** What the test set runs after a cross-validation: the final models, the chain tuned out of fold. */
export interface CrossValidation {
  readonly outOfFold: OutOfFold;
  readonly embedder: Embedder;
  readonly chain: ComponentChoice[];
  /** The train items the final models learned from (what a learning post-processor may learn from). */
  readonly training: readonly Item[];
  readonly dispose: () => void;
}

interface FoldRun {
  readonly models: TrainedModels;
  readonly sets: ValidationItems;
  readonly state: KnnState;
}

type Stage = Pick<RunOptions, 'resume' | 'strict' | 'maxBadImages'>;

/** Fold `f`: its models (trained on the other folds, in `run/fold-<f+1>/`) and its held-out items searched. */
async function trainFold(run: ScoredRunContext, options: Stage, folds: readonly Item[][], f: number): Promise<FoldRun> {
  const held = folds[f]!;
  const train = folds.flatMap((fold, other) => (other === f ? [] : fold));
  log.info(`fold ${f + 1}/${folds.length}: training on ${train.length} items, ${held.length} held out`);
  // One cache of decoded images for every fold and the final models: it holds all the labelled items.
  const foldRun = {
    ...run,
    train,
    validation: held,
    runDir: join(run.runDir, `fold-${f + 1}`),
    cacheItems: run.labelled,
  };
  const models = await trainModels(run.app, foldRun, options);
  try {
    const embedder = embedderOf(models, run.config.search ?? Object.keys(run.config.models)[0]!);
    const sets = run.strategy.validationSets(train, held);
    const { state } = await validationState(foldRun, sets, embedder, { queries: [], reference: [] });
    return { models, sets, state };
  } catch (error) {
    models.dispose();
    throw error;
  }
}

/** The folds' models as one: each model's vectors averaged over the folds' L2-normalised vectors, normalised again. */
export function averagedModels(folds: readonly TrainedModels[]): TrainedModels {
  const byName = new Map<string, EmbeddingModel>();
  for (const [name, first] of folds[0]!.byName) {
    const members = folds.map((fold) => fold.byName.get(name)!);
    byName.set(name, {
      dim: first.dim,
      training: first.training,
      embed: async (items) =>
        averageNormalised(await Promise.all(members.map((model) => model.embed(items))), first.dim),
      dispose: () => undefined,
    });
  }
  return { byName, dispose: () => folds.forEach((fold) => fold.dispose()) };
}

/** The mean of row-major L2-normalised matrices, each row normalised again to unit length. */
export function averageNormalised(matrices: readonly Float32Array[], dim: number): Float32Array {
  const out = new Float32Array(matrices[0]!.length);
  for (const matrix of matrices) for (let i = 0; i < out.length; i++) out[i]! += matrix[i]!;
  for (let row = 0; row < out.length; row += dim) {
    let norm = 0;
    for (let j = row; j < row + dim; j++) norm += out[j]! * out[j]!;
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let j = row; j < row + dim; j++) out[j]! *= scale;
  }
  return out;
}

/** Tunes the chain on the folds' predictions together, and scores each fold alone with the settings found. */
async function tuneOutOfFold(run: ScoredRunContext, foldRuns: readonly FoldRun[], dim: number) {
  const states = foldRuns.map((fold) => fold.state);
  const { tune, predict } = validationScoring(
    run,
    foldRuns.map((fold) => fold.sets),
    dim,
  );
  const tuning = await tune(run.config.postProcessors, states);
  printCurve(tuning, run.spec);
  const predictions = predict(run.config.postProcessors, states, tuning.best.overrides);
  await run.competition.writeSubmission(predictions, join(run.runDir, OUT_OF_FOLD_FILE));
  const perFold = await Promise.all(
    foldRuns.map((fold) => {
      const alone = validationScoring(run, [fold.sets], dim);
      return alone.score(alone.predict(run.config.postProcessors, [fold.state], tuning.best.overrides));
    }),
  );
  return { tuning, perFold };
}

/**
 * The cross-validation stage (`folds.count` ≥ 2): K models on group folds of every train item, the chain tuned on
 * their out-of-fold predictions, then the test's models: the K models averaged (`final: folds`) or one model
 * retrained on every labelled item (`final: full`). What the chain learns from truth is learned on the single
 * split's validation (`single`), with the settings tuned out of fold.
 */
export async function crossValidate(
  run: ScoredRunContext,
  options: Stage,
  single: ValidationOutcome,
): Promise<CrossValidation> {
  const { count, final } = run.config.folds!;
  const items = [...run.train, ...run.validation];
  const folds = foldsFor(items, count, run.config.validation.by, new Random(run.seed + 1));
  const foldRuns: FoldRun[] = [];
  try {
    for (let f = 0; f < count; f++) foldRuns.push(await trainFold(run, options, folds, f));
    const dim = foldRuns[0]!.state.dim;
    const { tuning, perFold } = await tuneOutOfFold(run, foldRuns, dim);
    const { best } = tuning;
    perFold.forEach((score, f) => log.info(`  fold ${f + 1}/${count}: ${score === null ? '—' : score.toFixed(4)}`));
    log.info(`out of fold over all ${items.length} train items: ${best.score === null ? '—' : best.score.toFixed(4)}`);
    const context = exactSearchContext(dim);
    const fitted = fitChain(run.app, run.config.postProcessors, single.state, context, best.overrides, single.truth);
    let finalModels: TrainedModels;
    if (final === 'folds') finalModels = averagedModels(foldRuns.map((fold) => fold.models));
    else {
      foldRuns.splice(0).forEach((fold) => fold.models.dispose());
      finalModels = await retrainOnAll(run, options);
    }
    const searchModel = run.config.search ?? Object.keys(run.config.models)[0]!;
    return {
      outOfFold: { folds: count, items: items.length, score: best.score, perFold, tuned: best.overrides, final },
      embedder: embedderOf(finalModels, searchModel),
      chain: fitted.chain,
      training: final === 'folds' ? items : run.labelled,
      ...(final === 'full' ? { searchModelDir: modelDir(fullRetrainDir(run.runDir), searchModel) } : {}),
      dispose: () => finalModels.dispose(),
    };
  } catch (error) {
    foldRuns.forEach((fold) => fold.models.dispose());
    throw error;
  }
}

const fullRetrainDir = (runDir: string): string => join(runDir, 'full');

/** `final: full`: one model per name trained on every labelled item (`run/full/`). */
function retrainOnAll(run: ScoredRunContext, options: Stage): Promise<TrainedModels> {
  log.info(`final: retraining on all ${run.labelled.length} labelled items with the settings tuned out of fold`);
  return trainModels(
    run.app,
    { ...run, train: run.labelled, validation: [], runDir: fullRetrainDir(run.runDir), cacheItems: run.labelled },
    options,
  );
}
