import type { Json } from '../contracts/competition.js';
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
import { trainModels } from './train-models.js';
import { tunedValidationScore, validate } from './validate.js';
import { phase, recordPhases, type PhaseRecord } from './phases.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { join } from 'node:path';
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

async function runStages(app: Simkit, options: RunOptions): Promise<Omit<RunSummary, 'phases'>> {
  const prepared = await phase('prepare', () => prepareRun(app, options));
  const { competition, config, test } = prepared;
  const spec = resolveScoringSpec(app, competition.metric);
  const strategy = filledToCount(app.registry<TaskStrategy>('Task').create(competition.task), spec.metric.counted);
  const run: ScoredRunContext = { ...prepared, strategy, spec };
  const models = await phase('train', () => trainModels(app, run, options));
  try {
    // Half the known non-targets join the validation queries (with empty truth, like the test set's
    // non-targets); the other half is what the non-target penalty compares the validation queries with.
    const known = test.distractors ?? [];
    const distractors = {
      queries: known.filter((_, i) => i % 2 === 0),
      reference: known.filter((_, i) => i % 2 === 1),
    };
    const embedder = await searchedEmbedder(config, run.train, models, {
      score: (candidate) => tunedValidationScore(run, candidate, distractors),
      higherIsBetter: spec.metric.higherIsBetter,
    });
    const outcome = await phase('validate', () => validate(run, embedder, distractors));
    await saveValidationEmbeddings(run.runDir, outcome.queries, outcome.gallery);
    const { submission, test: testReport } = await writeSubmission(
      run,
      await phase('predict', () => predictTest(run, embedder, outcome.chain), test.queries.length),
    );
    const sample = { test: testReport, testBaselines: await sampleTestBaselines(run) };
    const exportedModel = await exportModel(run, embedder, outcome, testReport);
    const seconds = (Date.now() - run.started) / 1000;
    const report = await writeRunReport(run, outcome, sample, seconds);
    const used = ranConfig(run, outcome);
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
      tuned: best.overrides,
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
    };
  } finally {
    models.dispose();
  }
}
