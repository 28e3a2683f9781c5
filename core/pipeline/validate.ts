import type { ComponentChoice, Item, Json, Prediction } from '../contracts/competition.js';
import type { ScoringSpec } from '../contracts/metric.js';
import type { KnnState } from '../contracts/postprocessor.js';
import type { ValidationItems } from '../contracts/task.js';
import { log } from '../log.js';
import { scoreRows } from '../scoring/score.js';
import { exactSearchContext } from '../search/neighbours.js';
import type { ScoredRunContext } from './context.js';
import type { Embedder } from './embed.js';
import {
  chainSteps,
  fitChain,
  initialState,
  learnsFromTraining,
  postProcess,
  tuneOf,
  withinOptionRange,
  withoutNeighbours,
  type EmbeddedSet,
  type Overrides,
} from './knn.js';
import { describeWall, tuneToEdges, type EdgeAwareTuning } from './grid-edges.js';
import type { TuningPoint } from './tune.js';
import { phase } from './phases.js';
import { competitionBaselines } from '../competition/baselines.js';

/** What the validation split gives: the tuned settings, the chain the test set runs, and the baselines. */
export interface ValidationOutcome {
  readonly tuning: EdgeAwareTuning;
  readonly chain: ComponentChoice[];
  readonly fitted: Record<string, Json>;
  /** The true labels of each validation query. */
  readonly truth: readonly (readonly string[])[];
  readonly baselines: Record<string, number | null>;
  readonly queries: EmbeddedSet;
  readonly gallery: EmbeddedSet;
  readonly state: KnnState;
  /** What was searched: the search model, or the ensemble's models and weights. */
  readonly searched: string;
}

/** Known non-targets split in two: half join the validation queries, half are what the penalty compares them with. */
export interface Distractors {
  readonly queries: readonly Item[];
  readonly reference: readonly Item[];
}

/** The validation sets searched: the kNN state of the queries against the gallery, every model's vectors in it. */
export async function validationState(
  run: ScoredRunContext,
  sets: ValidationItems,
  embedder: Embedder,
  distractors: Distractors,
): Promise<{ queries: EmbeddedSet; gallery: EmbeddedSet; state: KnnState }> {
  const { app, config, strategy } = run;
  const queries = await embedder.embed(sets.queries);
  const gallery = await embedder.embed(sets.gallery);
  const state = initialState(app, config.indexer, embedder.dim, queries, gallery, config.neighbours, {
    excludeSelf: strategy.excludeSelf,
    distractors: distractors.reference.length > 0 ? (await embedder.embed(distractors.reference)).vectors : undefined,
    searchModel: embedder.searchModel,
    models: await embedder.otherModels(sets.queries, sets.gallery),
    training: learnsFromTraining(app, config.postProcessors) ? await embedder.embed(run.train) : undefined,
  });
  return { queries, gallery, state };
}

/**
 * Scores the chain's predictions on validation, and tunes a chain's options from the states of one or more
 * validation parts (the folds of a cross-validation), their predictions scored together.
 */
export function validationScoring(run: ScoredRunContext, parts: readonly ValidationItems[], dim: number) {
  const { app, competition, config, strategy, spec } = run;
  const tables = parts.map((sets) => competition.solutionTable(sets.truth, { index: sets.index }));
  const solution = { columns: tables[0]!.columns, rows: tables.flatMap((table) => table.rows) };
  const context = exactSearchContext(dim);
  const score = (predictions: readonly Prediction[]) =>
    scoreRows(spec, solution, competition.submissionTable(predictions)).then((report) => report.score);
  const predict = (chain: readonly ComponentChoice[], states: readonly KnnState[], overrides: Overrides = {}) =>
    states.flatMap((state) => postProcess(app, strategy, chain, state, context, overrides));
  const tune = (chain: readonly ComponentChoice[], states: readonly KnnState[]) =>
    tuneToEdges(
      tuneOf(chain, config.tune),
      (overrides) => score(predict(chain, states, overrides)),
      spec.metric.higherIsBetter,
      (key, value) => withinOptionRange(app, key, value),
    );
  return { context, score, predict, tune };
}

/** The validation sets (the distractor queries among them), their kNN state, and the run's chain tuned on it. */
async function tunedValidation(
  run: ScoredRunContext,
  embedder: Embedder,
  distractors: Distractors,
  { timed }: { readonly timed: boolean },
) {
  const sets = run.strategy.validationSets(run.train, [...run.validation, ...distractors.queries]);
  const searched = await validationState(run, sets, embedder, distractors);
  const scoring = validationScoring(run, [sets], embedder.dim);
  const tuneChain = () => scoring.tune(run.config.postProcessors, [searched.state]);
  const tuning = timed ? await phase('tune', tuneChain, sets.queries.length) : await tuneChain();
  return { sets, ...searched, scoring, tuning };
}

/** The validation score of the searched vectors with the post-processing tuned for them (no baselines, no fitting). */
export async function tunedValidationScore(
  run: ScoredRunContext,
  embedder: Embedder,
  distractors: Distractors,
): Promise<number | null> {
  return (await tunedValidation(run, embedder, distractors, { timed: false })).tuning.best.score;
}

/**
 * The validate-and-tune stage: tunes the post-processing on held-out items, learns what the chain
 * fits from truth, and scores the strategy's baselines: fixed predictions, or a part of the chain tuned the same way.
 */
export async function validate(
  run: ScoredRunContext,
  embedder: Embedder,
  distractors: Distractors,
): Promise<ValidationOutcome> {
  const { app, config, strategy, spec } = run;
  const validation = await tunedValidation(run, embedder, distractors, { timed: true });
  const { sets, queries, gallery, state, tuning: chainTuning } = validation;
  const { context, score, tune } = validation.scoring;
  printCurve(chainTuning, spec);
  const { best } = chainTuning;
  const tuning = { ...chainTuning, best: { ...best, overrides: { ...embedder.tuned, ...best.overrides } } };
  const truth = sets.truth.map((item) => item.labels);
  const fit = fitChain(app, config.postProcessors, state, context, tuning.best.overrides, truth);
  if (Object.keys(fit.fitted).length > 0) {
    const fittedScore = await score(postProcess(app, strategy, fit.chain, state, context));
    for (const [key, value] of Object.entries(fit.fitted))
      log.info(`learned on validation: ${key} = ${JSON.stringify(value)}`);
    log.info(
      `  validation with them ${fittedScore === null ? '—' : fittedScore.toFixed(4)} (learned on these same rows, so optimistic)`,
    );
  }
  const baselines: Record<string, number | null> = {};
  const steps = chainSteps(app, config.postProcessors, embedder.searchModel);
  for (const baseline of [
    ...strategy.baselines(sets, steps, embedder.searchModel),
    ...(await competitionBaselines(run.competition, run.dataDir, sets.queries)),
  ]) {
    baselines[baseline.name] =
      'predictions' in baseline
        ? await score(baseline.predictions)
        : (await tune(baseline.chain, [baseline.withoutSearchNeighbours ? withoutNeighbours(state) : state])).best
            .score;
  }
  return {
    tuning,
    chain: fit.chain,
    fitted: fit.fitted,
    truth,
    baselines,
    queries,
    gallery,
    state,
    searched: embedder.description,
  };
}

/** The tuning run: every setting when there are few, else the best ten. */
export function printCurve({ points, strategy, extended, walls }: EdgeAwareTuning, spec: ScoringSpec): void {
  for (const wall of walls) log.warn(describeWall(wall));
  if (points.length <= 1) return;
  const byScore = (a: TuningPoint, b: TuningPoint) =>
    spec.metric.higherIsBetter ? b.score! - a.score! : a.score! - b.score!;
  const shown =
    points.length <= 25
      ? points
      : points
          .filter((point) => point.score !== null)
          .sort(byScore)
          .slice(0, 10);
  log.info(
    `tuning on validation (${spec.metric.name}, ${spec.metric.higherIsBetter ? 'higher' : 'lower'} is better): ${points.length} settings by ${strategy}` +
      (shown.length < points.length ? `; the best ${shown.length}:` : ':'),
  );
  for (const point of shown) {
    const settings = Object.entries(point.overrides)
      .map(([key, value]) => `${key}=${value}`)
      .join(' ');
    const beyondGrid = Object.entries(point.overrides).some(([key, value]) => extended[key]?.includes(value));
    log.info(
      `  ${settings.padEnd(48)} ${point.score === null ? '—' : point.score.toFixed(4)}${beyondGrid ? '  (beyond the configured grid)' : ''}`,
    );
  }
}
