import type { ComponentChoice, Item, Json, TestSet } from '../contracts/competition.js';
import type { ScoreReport } from '../contracts/metric.js';
import type { TaskStrategy } from '../contracts/task.js';
import type { Simkit } from '../di/container.js';
import type { UserError } from '../errors.js';
import { resolveScoringSpec } from '../scoring/registration.js';
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
import { searchedEmbedder } from './ensemble.js';
import type { Overrides } from './knn.js';
import { predictTest } from './predict.js';
import { prepareRun } from './prepare.js';
import { modelDir, trainModels } from './train-models.js';
import { phase, recordPhases, type PhaseRecord } from './phases.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { join } from 'node:path';
import { tunedValidationScore, validate, type Distractors, type ValidationOutcome } from './validate.js';
import { pseudoLabelRound, type PseudoLabelRound } from './pseudo-labels.js';
import { crossValidate, type OutOfFold } from './cross-validate.js';
import type { Embedder } from './embed.js';
import { saveValidationEmbeddings } from '../search/labelled-embeddings.js';

export interface RunSummary {
  readonly competition: string;
  readonly metric: string;
  readonly higherIsBetter: boolean;
  /** The competition metric on the validation split, with the tuned post-processing. */
  readonly validation: number | null;
  readonly tuned: Overrides;
  /** What was searched: the search model, or the ensemble's models and weights. */
  readonly searched: string;
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
  /** Wall time, items and peak memory of each stage, also in `<runDir>/phases.json`. */
  readonly phases: readonly PhaseRecord[];
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
  /** The folder of the model that embedded the test (what a competition that takes a model exports); none when the
   * test's vectors average several models. */
  readonly searchModelDir?: string;
  readonly outOfFold?: OutOfFold;
  readonly pseudoLabels?: PseudoLabelRound;
  readonly dispose: () => void;
}

/** The pass of one set of models trained on the run's train items: its validation's chain and tuned settings. */
function modelsPass(
  run: ScoredRunContext,
  embedder: Embedder,
  outcome: ValidationOutcome,
  dispose: () => void = () => undefined,
  runDir = run.runDir,
): FinalPass {
  return {
    embedder,
    outcome,
    chain: outcome.chain,
    tuned: outcome.tuning.best.overrides,
    training: run.train,
    searchModelDir: modelDir(runDir, embedder.searchModel),
    dispose,
  };
}

async function finalPass(
  run: ScoredRunContext,
  options: RunOptions,
  first: { readonly embedder: Embedder; readonly outcome: ValidationOutcome },
  distractors: Distractors,
): Promise<FinalPass> {
  if ((run.config.folds?.count ?? 1) > 1) {
    const folds = await crossValidate(run, options, first.outcome);
    return { ...folds, outcome: first.outcome, tuned: folds.outOfFold.tuned };
  }
  if (run.config.pseudoLabels?.enabled) {
    const { embedder, outcome, round, models, runDir } = await pseudoLabelRound(run, options, first, distractors);
    return { ...modelsPass(run, embedder, outcome, () => models.dispose(), runDir), pseudoLabels: round };
  }
  return modelsPass(run, first.embedder, first.outcome);
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
  const { result, phases } = await recordPhases(() => runStages(app, options));
  await writeFileAtomic(join(result.runDir, 'phases.json'), `${JSON.stringify(phases, null, 1)}\n`);
  return { ...result, phases };
}

/** The searched vectors (one model, or the ensemble with its weights tuned), their validation, and the final pass. */
async function validatedFinalPass(
  run: ScoredRunContext,
  options: RunOptions,
  models: Awaited<ReturnType<typeof trainModels>>,
): Promise<FinalPass> {
  const split = distractorSplit(run.test);
  const embedder = await searchedEmbedder(run.config, run.train, models, {
    score: (candidate) => tunedValidationScore(run, candidate, split),
    higherIsBetter: run.spec.metric.higherIsBetter,
  });
  const first = { embedder, outcome: await phase('validate', () => validate(run, embedder, split)) };
  return finalPass(run, options, first, split);
}

async function runStages(app: Simkit, options: RunOptions): Promise<Omit<RunSummary, 'phases'>> {
  const prepared = await phase('prepare', () => prepareRun(app, options));
  const { competition, test } = prepared;
  const spec = resolveScoringSpec(app, competition.metric);
  const strategy = filledToCount(app.registry<TaskStrategy>('Task').create(competition.task), spec.metric.counted);
  const run: ScoredRunContext = { ...prepared, strategy, spec };
  const models = await phase('train', () => trainModels(app, run, options));
  let disposeFinal = () => undefined as void;
  try {
    const final = await validatedFinalPass(run, options, models);
    disposeFinal = final.dispose;
    const { outcome } = final;
    await saveValidationEmbeddings(run.runDir, outcome.queries, outcome.gallery);
    const { submission, test: testReport } = await writeSubmission(
      run,
      await phase(
        'predict',
        () => predictTest({ ...run, train: final.training }, final.embedder, final.chain),
        test.queries.length,
      ),
    );
    const sample = { test: testReport, testBaselines: await sampleTestBaselines(run) };
    const exportedModel = await exportModel(run, final, outcome, testReport);
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
      searched: outcome.searched,
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
