import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CompetitionConfig, Json, Prediction } from '../contracts/competition.js';
import { SAMPLE_SOLUTION_FILE } from '../contracts/competition.js';
import type { ScoreReport } from '../contracts/metric.js';
import type { UserError } from '../errors.js';
import { replaceFile } from '../io/atomic-write.js';
import { Leaderboard, LeaderboardFileError, defaultLeaderboardPath } from '../leaderboard/leaderboard.js';
import { writeReport } from '../report/render.js';
import { REPORT_DATA_FORMAT, embeddingSample, neighbourGallery, writeReportData } from '../report/report-data.js';
import { scoreFiles, validateSubmissionFile } from '../scoring/score.js';
import { SAMPLE_SUBMISSION_BASELINE, scoreSampleSubmission } from '../competition/baselines.js';
import { describeWall } from './grid-edges.js';
import type { EpochRecord } from '../training/trainer.js';
import type { RunContext, ScoredRunContext } from './context.js';
import type { JsonObject } from './config.js';
import type { Embedder } from './embed.js';
import { writeRunConfig } from './run-config.js';
import type { ValidationOutcome } from './validate.js';

/** The embedded sample's hidden truth, or null on real data. */
function sampleSolution(run: ScoredRunContext): string | null {
  const solutionFile = join(run.dataDir, SAMPLE_SOLUTION_FILE);
  return !run.options.data && existsSync(solutionFile) ? solutionFile : null;
}

/**
 * `<out>/submission.csv`, validated (and scored against the sample's hidden truth) before it replaces anything: an
 * invalid submission, or one for other data, never replaces submission.csv. Returns its path and its sample score.
 */
export async function writeSubmission(
  run: ScoredRunContext,
  predictions: readonly Prediction[],
): Promise<{ submission: string; test: ScoreReport | null }> {
  const { competition, spec, test } = run;
  const submission = join(run.out, 'submission.csv');
  const solutionFile = sampleSolution(run);
  let scored: ScoreReport | null = null;
  await replaceFile(submission, async (temporary) => {
    await competition.writeSubmission(predictions, temporary);
    await validateSubmissionFile(
      spec,
      temporary,
      test.queries.map((item) => item.id),
    );
    if (solutionFile) scored = await scoreFiles(spec, solutionFile, temporary);
  });
  return { submission, test: scored };
}

/** The trivial submissions (Kaggle's sample submission) scored against the sample's hidden truth, by name. */
export async function sampleTestBaselines(run: ScoredRunContext): Promise<Record<string, number | null>> {
  const solutionFile = sampleSolution(run);
  const sample = solutionFile ? await scoreSampleSubmission(run.spec, run.dataDir, solutionFile) : null;
  return sample ? { [SAMPLE_SUBMISSION_BASELINE]: sample.score } : {};
}

/**
 * For a competition that took a model rather than a CSV: hands it the model that embedded the test (its folder and
 * config) and the test queries' vectors the run searched; returns where the competition put the model.
 */
export async function exportModel(
  run: ScoredRunContext,
  final: { readonly embedder: Embedder; readonly searchModelDir?: string },
  outcome: ValidationOutcome,
  testReport: ScoreReport | null,
): Promise<string | undefined> {
  const { competition, config } = run;
  const { embedder, searchModelDir } = final;
  if (!competition.exportModel) return undefined;
  // prepareRun refuses, before training, every config whose test vectors are not one model's.
  if (!searchModelDir) throw new Error(`${competition.alias} takes one model, and the test was embedded by several`);
  return competition.exportModel({
    out: run.out,
    modelDir: searchModelDir,
    model: config.models[embedder.searchModel]!,
    config,
    queries: await embedder.embed(run.test.queries),
    validation: outcome.tuning.best.score,
    test: testReport,
  });
}

/** The config a run used, with what it tuned and learned on validation. */
export function ranConfig(
  run: RunContext,
  outcome: ValidationOutcome,
): CompetitionConfig & { readonly tuned: JsonObject; readonly fitted?: JsonObject } {
  return {
    ...run.config,
    tuned: outcome.tuning.best.overrides,
    ...(Object.keys(outcome.fitted).length > 0 ? { fitted: outcome.fitted } : {}),
  };
}

/** `<runDir>/report.json` and the HTML report of a full run; returns the report's path. */
export async function writeRunReport(
  run: ScoredRunContext,
  outcome: ValidationOutcome,
  sample: { readonly test: ScoreReport | null; readonly testBaselines: Record<string, number | null> },
  seconds: number,
): Promise<string> {
  const testReport = sample.test;
  const { spec } = run;
  const { best } = outcome.tuning;
  const measured = (name: string, value: number | null) => ({
    name,
    value,
    metric: spec.metric.name,
    source: 'measured' as const,
  });
  await writeReportData(run.runDir, {
    format: REPORT_DATA_FORMAT,
    competition: spec.competition,
    title: run.competition.title,
    createdAt: new Date().toISOString(),
    metric: { name: spec.metric.name, higherIsBetter: spec.metric.higherIsBetter },
    summary: {
      'validation (trained + tuned)': best.score,
      'sample test set': testReport?.score ?? null,
      searched: outcome.searched,
      seconds: Math.round(seconds),
    },
    comparison: [
      measured('trained + tuned', best.score),
      ...Object.entries(outcome.baselines).map(([name, value]) => measured(`baseline: ${name}`, value)),
      ...Object.entries(sample.testBaselines).map(([name, value]) => measured(`sample test, baseline: ${name}`, value)),
    ],
    tuning: { points: outcome.tuning.points, best: best.overrides, warnings: outcome.tuning.walls.map(describeWall) },
    embeddings: embeddingSample(outcome.queries.items, outcome.queries.vectors),
    gallery: neighbourGallery(outcome.queries.items, outcome.gallery.items, outcome.state.neighbours),
  });
  return (await writeReport(run.runDir)).path;
}

/** `<out>/config.json`: the competition, the seed and the config the run used. */
export async function writeUsedConfig(
  run: RunContext,
  config: CompetitionConfig & { readonly tuned?: JsonObject; readonly fitted?: JsonObject },
): Promise<string> {
  return writeRunConfig(run.out, { competition: run.competition.alias, seed: run.seed, ...config });
}

/**
 * Records the run on the leaderboard. The submission, report and config are written by then: a
 * leaderboard that cannot take the result loses nothing but the record (the error says why).
 */
export function recordOnLeaderboard(
  run: ScoredRunContext,
  config: Json,
  cv: number | null,
  submission: string,
  testReport: ScoreReport | null,
): { runId: string | null; leaderboardError?: UserError } {
  const { spec } = run;
  try {
    const leaderboard = Leaderboard.open(run.options.leaderboard ?? defaultLeaderboardPath());
    try {
      const { runId } = leaderboard.record({
        competition: spec.competition,
        metric: spec.metric.name,
        higherIsBetter: spec.metric.higherIsBetter,
        config,
        cv,
        score: testReport?.score ?? null,
        public: testReport?.public ?? null,
        private: testReport?.private ?? null,
        submissionPath: submission,
      });
      return { runId };
    } finally {
      leaderboard.close();
    }
  } catch (error) {
    if (!(error instanceof LeaderboardFileError)) throw error;
    return { runId: null, leaderboardError: error };
  }
}

/** The report of `simkit train`: each model's epochs, kept epoch and last validation metrics, and the curves. */
export async function writeTrainingReport(
  run: RunContext,
  models: readonly {
    readonly name: string;
    readonly history: readonly EpochRecord[];
    readonly epoch: number;
    readonly stoppedEarly: boolean;
  }[],
  seconds: number,
): Promise<string> {
  const summary: Record<string, string | number> = {};
  for (const model of models) {
    const prefix = models.length > 1 ? `${model.name} model: ` : '';
    Object.assign(summary, {
      [`${prefix}epochs`]: model.history.length,
      [`${prefix}kept epoch`]: model.epoch,
      [`${prefix}stopped early`]: model.stoppedEarly ? 'yes' : 'no',
    });
    for (const [name, value] of Object.entries(model.history.at(-1)?.validation ?? {}))
      summary[`${prefix}${name}`] = value;
  }
  await writeReportData(run.runDir, {
    format: REPORT_DATA_FORMAT,
    competition: run.competition.slug,
    title: `${run.competition.title}: training`,
    createdAt: new Date().toISOString(),
    summary: { ...summary, seconds: Math.round(seconds) },
  });
  return (await writeReport(run.runDir)).path;
}
