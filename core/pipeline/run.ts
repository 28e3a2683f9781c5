import type { Json } from '../contracts/competition.js';
import type { ScoreReport } from '../contracts/metric.js';
import type { Simkit } from '../di/container.js';
import type { UserError } from '../errors.js';
import { resolveScoringSpec } from '../scoring/registration.js';
import { taskStrategy } from '../tasks/index.js';
import { filledToCount } from '../tasks/fill.js';
import {
  exportModel,
  recordOnLeaderboard,
  ranConfig,
  sampleTestBaselines,
  writeRunReport,
  writeSubmission,
  writeUsedConfig,
} from './artifacts.js';
import type { RunOptions, ScoredRunContext } from './context.js';
import { embedderOf } from './embed.js';
import type { Overrides } from './knn.js';
import { predictTest } from './predict.js';
import { prepareRun } from './prepare.js';
import { trainModels } from './train-models.js';
import { validate, type Distractors, type ValidationOutcome } from './validate.js';
import { pseudoLabelRound, type PseudoLabelRound } from './pseudo-labels.js';
import { crossValidate, type OutOfFold } from './cross-validate.js';
import type { Embedder } from './embed.js';
import type { ComponentChoice, Item, TestSet } from '../contracts/competition.js';
import { saveValidationEmbeddings } from '../search/labelled-embeddings.js';

export interface RunSummary {
  readonly competition: string;
  readonly metric: string;
  readonly higherIsBetter: boolean;
  /** The competition metric on the validation split, with the tuned post-processing. */
  readonly validation: number | null;
  readonly tuned: Overrides;
  /** Trivial baselines on the same validation split, by name. */
  readonly baselines: Readonly<Record<string, number | null>>;
  /** Scores of the test submission against the sample's hidden truth (embedded sample only). */
  readonly test: ScoreReport | null;
  /** Trivial submissions scored against the same hidden truth (Kaggle's sample submission), by name. */
  readonly testBaselines: Readonly<Record<string, number | null>>;
  readonly submission: string;
  readonly runDir: string;
  readonly seconds: number;
  /** Null when the leaderboard could not record the run (`leaderboardError` says why). */
  readonly runId: string | null;
  readonly leaderboardError?: UserError;
  /** The run's HTML report. */
  readonly report: string;
  /** Where the model went, for a competition that took a model rather than a CSV (Competition.exportModel). */
  readonly exportedModel?: string;
  /** The cross-validation's out-of-fold score (`folds.count` ≥ 2); `tuned` is then its settings. */
  readonly outOfFold?: OutOfFold;
  /** The pseudo-labels round (`pseudoLabels.enabled`); `validation` is then its second round's. */
  readonly pseudoLabels?: PseudoLabelRound;
}

/**
 * What the test set runs and the run reports: the single split's models, chain and validation, a cross-validation's
 * final models with the chain tuned out of fold, or the pseudo-labels round's models and validation.
 */
interface FinalPass {
  readonly embedder: Embedder;
  readonly outcome: ValidationOutcome;
  readonly chain: readonly ComponentChoice[];
  readonly tuned: Overrides;
  /** The train items the test's models learned from. */
  readonly training: readonly Item[];
  readonly outOfFold?: OutOfFold;
  readonly pseudoLabels?: PseudoLabelRound;
  readonly dispose: () => void;
}

async function finalPass(
  run: ScoredRunContext,
  options: RunOptions,
  first: { readonly embedder: Embedder; readonly outcome: ValidationOutcome },
  distractors: Distractors,
): Promise<FinalPass> {
  const { outcome } = first;
  if ((run.config.folds?.count ?? 1) > 1) {
    const folds = await crossValidate(run, options, outcome);
    return { ...folds, outcome, tuned: folds.outOfFold.tuned };
  }
  if (run.config.pseudoLabels?.enabled) {
    const second = await pseudoLabelRound(run, options, first, distractors);
    const { embedder, outcome: secondOutcome, round, models } = second;
    const tuned = secondOutcome.tuning.best.overrides;
    const training = run.train;
    return {
      embedder,
      outcome: secondOutcome,
      chain: secondOutcome.chain,
      tuned,
      training,
      pseudoLabels: round,
      dispose: () => models.dispose(),
    };
  }
  return {
    ...first,
    chain: outcome.chain,
    tuned: outcome.tuning.best.overrides,
    training: run.train,
    dispose: () => undefined,
  };
}

/**
 * Half the known non-targets join the validation queries (with empty truth, like the test set's non-targets); the
 * other half is what the non-target penalty compares the validation queries with.
 */
function distractorSplit(test: TestSet): Distractors {
  const distractors = test.distractors ?? [];
  return {
    queries: distractors.filter((_, i) => i % 2 === 0),
    reference: distractors.filter((_, i) => i % 2 === 1),
  };
}

/**
 * `simkit run`: prepare → train each model → embed → validate and tune → predict → artifacts
 * (submission, score on the sample, report, config, leaderboard).
 */
export async function runCompetition(app: Simkit, options: RunOptions): Promise<RunSummary> {
  const prepared = await prepareRun(app, options);
  const { competition, config, test } = prepared;
  const spec = resolveScoringSpec(app, competition.metric);
  const strategy = filledToCount(taskStrategy(competition.task), spec.metric.counted);
  const run: ScoredRunContext = { ...prepared, strategy, spec };
  const models = await trainModels(app, run, options);
  let disposeFinal = () => undefined as void;
  try {
    const embedder = embedderOf(models, config.search ?? Object.keys(config.models)[0]!);
    const split = distractorSplit(test);
    const final = await finalPass(run, options, { embedder, outcome: await validate(run, embedder, split) }, split);
    disposeFinal = final.dispose;
    const { outcome } = final;
    await saveValidationEmbeddings(run.runDir, outcome.queries, outcome.gallery);
    const { submission, test: testReport } = await writeSubmission(
      run,
      await predictTest({ ...run, train: final.training }, final.embedder, final.chain),
    );
    const sample = { test: testReport, testBaselines: await sampleTestBaselines(run) };
    const exportedModel = await exportModel(run, final.embedder, outcome, testReport);
    const seconds = (Date.now() - run.started) / 1000;
    const report = await writeRunReport(run, outcome, sample, seconds);
    const used = { ...ranConfig(run, outcome), tuned: final.tuned };
    await writeUsedConfig(run, used);
    const { best } = outcome.tuning;
    const recorded = recordOnLeaderboard(
      run,
      JSON.parse(JSON.stringify(used)) as Json,
      best.score,
      submission,
      testReport,
    );
    return {
      competition: spec.competition,
      metric: spec.metric.name,
      higherIsBetter: spec.metric.higherIsBetter,
      validation: best.score,
      tuned: final.tuned,
      baselines: outcome.baselines,
      test: testReport,
      testBaselines: sample.testBaselines,
      submission,
      runDir: run.runDir,
      seconds,
      ...recorded,
      report,
      ...(exportedModel ? { exportedModel } : {}),
      ...(final.outOfFold ? { outOfFold: final.outOfFold } : {}),
      ...(final.pseudoLabels ? { pseudoLabels: final.pseudoLabels } : {}),
    };
  } finally {
    disposeFinal();
    models.dispose();
  }
}
