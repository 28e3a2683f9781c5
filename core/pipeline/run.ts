import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type {
  Competition,
  CompetitionConfig,
  CompetitionRegistration,
  ComponentChoice,
  Item,
  Json,
  Prediction,
  TestSet,
} from '../contracts/competition.js';
import { SAMPLE_SOLUTION_FILE } from '../contracts/competition.js';
import type { ScoreReport, ScoringSpec } from '../contracts/metric.js';
import type { KnnState, ModelVectors } from '../contracts/postprocessor.js';
import type { TaskStrategy } from '../contracts/task.js';
import type { Simkit } from '../di/container.js';
import { checkComponentOptions } from '../di/component-options.js';
import { UserError } from '../errors.js';
import { replaceFile } from '../io/atomic-write.js';
import { lockOutFolder } from '../io/out-lock.js';
import { exactSearchContext } from '../index/neighbours.js';
import { Leaderboard, LeaderboardFileError, defaultLeaderboardPath } from '../leaderboard/leaderboard.js';
import { log } from '../log.js';
import { Random } from '../random.js';
import { writeReport } from '../report/render.js';
import { REPORT_DATA_FORMAT, embeddingSample, neighbourGallery, writeReportData } from '../report/report-data.js';
import { embeddedSample } from '../samples/sample-folder.js';
import { resolveScoringSpec } from '../scoring/registration.js';
import { scoreFiles, scoreRows, validateSubmissionFile } from '../scoring/score.js';
import { taskStrategy } from '../tasks/index.js';
import { filledToCount } from '../tasks/fill.js';
import { SAMPLE_SUBMISSION_BASELINE, competitionBaselines, scoreSampleSubmission } from '../competition/baselines.js';
import { unknownLabelSplit } from '../tasks/unknown.js';
import { resolveConfig, type JsonObject } from './config.js';
import { SEED, checkConfig, describeRule, satisfies } from './config-check.js';
import {
  chainSteps,
  checkTuneKeys,
  fitChain,
  initialState,
  postProcess,
  tuneOf,
  withoutNeighbours,
  type EmbeddedSet,
  type Overrides,
} from './knn.js';
import {
  TEXT_MODEL_DIR,
  checkObjectives,
  trainCompetitionModels,
  type CompetitionModels,
  type EmbeddingModel,
  type ModelTrainingOptions,
} from './model.js';
import { DEFAULT_MAX_BAD_IMAGES, checkRunData } from './data-check.js';
import { checkTrainingData } from '../data/trainable.js';
import { writeRunConfig } from './run-config.js';
import { Checkpoints } from '../training/checkpoint.js';
import type { TuningPoint } from './tune.js';
import { describeWall, tuneToEdges, type EdgeAwareTuning } from './grid-edges.js';
import { splitForValidation } from './split.js';
import { saveValidationEmbeddings } from '../index/labelled-embeddings.js';

export interface RunOptions {
  /** Kaggle slug or short alias. */
  readonly competition: string;
  /** A directory in Kaggle's layout; without it, the embedded sample is generated under `out`. */
  readonly data?: string;
  readonly out?: string;
  readonly config?: string;
  /** The config file's contents when the caller already read it (and took its own keys out). */
  readonly configOverrides?: JsonObject;
  readonly seed?: number;
  /** Continue training from the run's latest checkpoint. */
  readonly resume?: boolean;
  /** Overrides for quick runs (tests): fewer epochs, say. */
  readonly overrides?: Partial<CompetitionConfig>;
  readonly leaderboard?: string;
  /** An unreadable image fails the run instead of being skipped or replaced by a blank one. */
  readonly strict?: boolean;
  /** Largest share of images that may be missing (default DEFAULT_MAX_BAD_IMAGES). */
  readonly maxBadImages?: number;
}

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
}

export function findCompetition(
  app: Simkit,
  name: string,
): { competition: Competition; slugOptions: Partial<CompetitionConfig>; slug: string } {
  const registry = app.registry<Competition>('Competition');
  const entries = registry.list() as (CompetitionRegistration & { origin?: unknown })[];
  for (const entry of entries) {
    if (entry.name === name || entry.aliases?.includes(name))
      return { competition: entry.create(), slugOptions: {}, slug: entry.create().slug };
    const options = entry.slugs?.[name];
    if (options) return { competition: entry.create(options), slugOptions: options, slug: name };
  }
  registry.get(name);
  throw new UserError(`unknown competition "${name}"`);
}

/** The effective config of a run, as `--print-config` shows it. */
export async function effectiveConfig(app: Simkit, options: RunOptions): Promise<CompetitionConfig> {
  const { competition, slugOptions } = findCompetition(app, options.competition);
  const resolved = await resolveConfig(competition.config, slugOptions, options.config, options.configOverrides);
  const config = { ...resolved, ...options.overrides };
  // An epochs override reaches every model of the run (Shopee's text model too), unless the
  // overrides set the text model themselves.
  const { epochs, textModel } = options.overrides ?? {};
  const effective =
    epochs !== undefined && config.textModel && textModel === undefined
      ? { ...config, textModel: { ...config.textModel, epochs } }
      : config;
  const source = options.config ?? `the defaults of ${competition.alias}`;
  checkConfig(effective, source);
  competition.checkConfig?.(effective, source);
  checkComponentOptions(app, effective);
  return effective;
}

/** What training and the rest of a run start from: the competition, its config and the split data. */
export interface PreparedRun {
  readonly competition: Competition;
  readonly slug: string;
  readonly config: CompetitionConfig;
  readonly seed: number;
  readonly out: string;
  readonly dataDir: string;
  readonly runDir: string;
  /** Labelled train items (without the unknown label). */
  readonly labelled: readonly Item[];
  readonly train: readonly Item[];
  readonly validation: readonly Item[];
  readonly test: TestSet;
}

/** Generates the embedded sample (without `data`), reads the train and test sets, and splits train for validation. */
/** How a run trains its models: in its folder, with its seed, resuming and treating unreadable images as asked. */
export function modelTrainingOptions(run: PreparedRun, options: RunOptions): ModelTrainingOptions {
  return {
    runDir: run.runDir,
    seed: run.seed,
    resume: options.resume,
    strict: options.strict,
    maxBadImages: options.maxBadImages ?? DEFAULT_MAX_BAD_IMAGES,
  };
}

export async function prepareRun(app: Simkit, options: RunOptions): Promise<PreparedRun> {
  const { competition, slug } = findCompetition(app, options.competition);
  if (![slug, competition.alias].includes(options.competition))
    log.info(`"${options.competition}" stands for ${slug}, the slug Kaggle used`);
  const config = await effectiveConfig(app, options);
  const learnsFromLabels = checkObjectives(app, config);
  const seed = options.seed ?? 42;
  if (!satisfies(seed, SEED))
    throw new UserError(`the seed must be ${describeRule(SEED)}, got ${JSON.stringify(seed)}`);
  const out = resolve(options.out ?? join('output', slug));
  await mkdir(out, { recursive: true });
  lockOutFolder(out);

  const dataDir = options.data ? resolve(options.data) : join(out, 'sample');
  if (!options.data) {
    await embeddedSample(competition, dataDir, seed);
  } else if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) {
    throw new UserError(
      `data directory ${dataDir} ${existsSync(dataDir) ? 'is not a directory' : 'does not exist'}`,
      `pass DATA=<a directory in ${slug}'s Kaggle layout>`,
    );
  }

  const runDir = join(out, 'run');
  if (options.resume) refuseShrinkingResume(runDir, config);
  const { train: trainItems, test } = await checkRunData({
    dataDir,
    runDir,
    idColumn: competition.submission.idColumn,
    train: await competition.readTrain(dataDir),
    test: await competition.readTest(dataDir),
    maxBadImages: options.strict ? 0 : options.maxBadImages,
  });
  const unknown = competition.unknownLabel;
  const split = splitForValidation(trainItems, config.validation, new Random(seed));
  // Items of the unknown label (new_whale) and some classes seen once become validation queries
  // of the unknown label, so that the threshold for predicting it can be tuned.
  const { train, validation } = unknown
    ? unknownLabelSplit(split, unknown, config.validation.fraction, new Random(seed))
    : split;
  const labelled = unknown ? trainItems.filter((item) => !item.labels.includes(unknown)) : trainItems;
  checkTrainingData({ train, all: trainItems, test, dataDir, unknownLabel: unknown, learnsFromLabels, config });
  log.info(
    `[${slug}] ${trainItems.length} train items: ${train.length} to train, ${validation.length} to validate; ${test.queries.length} test queries` +
      (test.distractors ? `; ${test.distractors.length} known non-targets` : ''),
  );
  return { competition, slug, config, seed, out, dataDir, runDir, labelled, train, validation, test };
}

/** `--resume` with fewer epochs than a model's checkpoint has trained is refused before any work. */
function refuseShrinkingResume(runDir: string, config: CompetitionConfig): void {
  const models: [string, number][] = [
    [runDir, config.epochs],
    ...(config.textModel ? [[join(runDir, TEXT_MODEL_DIR), config.textModel.epochs] as [string, number]] : []),
  ];
  for (const [dir, epochs] of models) {
    const trained = new Checkpoints(dir).latestEpoch();
    if (trained > epochs) {
      throw new UserError(
        `cannot resume ${epochs} epoch(s): the checkpoint in ${join(dir, 'checkpoints')} has already trained ${trained}`,
        `resume with --epochs ${trained} or more, or start afresh without --resume`,
      );
    }
  }
}

/**
 * The run's trained models as the kNN stage uses them: image vectors for the search, the text model's vectors for match
 * sources.
 */
interface Embedder {
  readonly dim: number;
  embed(items: readonly Item[]): Promise<EmbeddedSet>;
  textVectors(queries: readonly Item[], gallery: readonly Item[]): Promise<ModelVectors | undefined>;
}

function embedderOf(models: CompetitionModels): Embedder {
  // An item set is embedded once (a match set is its own gallery).
  const embedded = new Map<readonly Item[], Promise<EmbeddedSet>>();
  const embed = (items: readonly Item[]) => {
    let set = embedded.get(items);
    if (!set) embedded.set(items, (set = models.image.embed(items).then((vectors) => ({ items, vectors }))));
    return set;
  };
  return {
    dim: models.image.dim,
    embed,
    textVectors: async (queries, gallery) => {
      if (!models.text) return undefined;
      const queryVectors = await models.text.embed(queries);
      return {
        dim: models.text.dim,
        queryVectors,
        galleryVectors: gallery === queries ? queryVectors : await models.text.embed(gallery),
      };
    },
  };
}

/** What the validation split gives: the tuned settings, the chain the test set runs, and the baselines. */
interface ValidationOutcome {
  readonly tuning: EdgeAwareTuning;
  readonly chain: ComponentChoice[];
  readonly fitted: Record<string, Json>;
  readonly baselines: Record<string, number | null>;
  readonly queries: EmbeddedSet;
  readonly gallery: EmbeddedSet;
  readonly state: KnnState;
}

/**
 * Tunes the post-processing on held-out items, learns what the chain fits from truth, and scores
 * the strategy's baselines: fixed predictions, or a part of the chain tuned the same way.
 */
async function validate(
  app: Simkit,
  run: PreparedRun,
  strategy: TaskStrategy,
  spec: ScoringSpec,
  embedder: Embedder,
  distractors: { readonly queries: readonly Item[]; readonly reference: readonly Item[] },
): Promise<ValidationOutcome> {
  const { competition, config } = run;
  const sets = strategy.validationSets(run.train, [...run.validation, ...distractors.queries]);
  const queries = await embedder.embed(sets.queries);
  const gallery = await embedder.embed(sets.gallery);
  const solution = competition.solutionTable(sets.truth, { index: sets.index });
  const context = exactSearchContext(embedder.dim);
  const state = initialState(app, config.indexer, embedder.dim, queries, gallery, config.neighbours, {
    excludeSelf: strategy.excludeSelf,
    distractors: distractors.reference.length > 0 ? (await embedder.embed(distractors.reference)).vectors : undefined,
    text: await embedder.textVectors(sets.queries, sets.gallery),
  });
  const score = (predictions: readonly Prediction[]) =>
    scoreRows(spec, solution, competition.submissionTable(predictions)).then((report) => report.score);
  const tune = (chain: readonly ComponentChoice[], from: KnnState) =>
    tuneToEdges(
      tuneOf(chain, config.tune),
      (overrides) => score(postProcess(app, strategy, chain, from, context, overrides)),
      spec.metric.higherIsBetter,
    );

  const tuning = await tune(config.postProcessors, state);
  printCurve(tuning, spec);
  const fit = fitChain(
    app,
    config.postProcessors,
    state,
    context,
    tuning.best.overrides,
    sets.truth.map((item) => item.labels),
  );
  if (Object.keys(fit.fitted).length > 0) {
    const fittedScore = await score(postProcess(app, strategy, fit.chain, state, context));
    for (const [key, value] of Object.entries(fit.fitted))
      log.info(`learned on validation: ${key} = ${JSON.stringify(value)}`);
    log.info(
      `  validation with them ${fittedScore === null ? '—' : fittedScore.toFixed(4)} (learned on these same rows, so optimistic)`,
    );
  }
  const baselines: Record<string, number | null> = {};
  for (const baseline of [
    ...strategy.baselines(sets, chainSteps(app, config.postProcessors)),
    ...(await competitionBaselines(competition, run.dataDir, sets.queries)),
  ]) {
    baselines[baseline.name] =
      'predictions' in baseline
        ? await score(baseline.predictions)
        : (await tune(baseline.chain, baseline.withoutImageNeighbours ? withoutNeighbours(state) : state)).best.score;
  }
  return { tuning, chain: fit.chain, fitted: fit.fitted, baselines, queries, gallery, state };
}

/** Runs the fitted chain on the test queries against the strategy's test gallery. */
async function predictTest(
  app: Simkit,
  run: PreparedRun,
  strategy: TaskStrategy,
  embedder: Embedder,
  chain: readonly ComponentChoice[],
  distractors: readonly Item[],
): Promise<Prediction[]> {
  const { config, test } = run;
  const queries = await embedder.embed(test.queries);
  const gallery = await embedder.embed(strategy.testGallery(test, run.labelled));
  const state = initialState(app, config.indexer, embedder.dim, queries, gallery, config.neighbours, {
    excludeSelf: false,
    distractors: distractors.length > 0 ? (await embedder.embed(distractors)).vectors : undefined,
    text: await embedder.textVectors(queries.items, gallery.items),
  });
  return postProcess(app, strategy, chain, state, exactSearchContext(embedder.dim));
}

/**
 * split → train → embed → search → post-process (tuned on validation) → submission → validate → score → leaderboard.
 */
export async function runCompetition(app: Simkit, options: RunOptions): Promise<RunSummary> {
  const started = Date.now();
  const run = await prepareRun(app, options);
  const { competition, config, seed, out, dataDir, runDir, train, validation, test } = run;
  const spec = resolveScoringSpec(app, competition.metric);
  const strategy = filledToCount(taskStrategy(competition.task), spec.metric.counted);
  checkTuneKeys(app, config);
  const models = await trainCompetitionModels(
    app,
    competition,
    config,
    train,
    validation,
    modelTrainingOptions(run, options),
  );
  // Half the known non-targets join the validation queries (with empty truth, like the test set's
  // non-targets); the other half is what the non-target penalty compares the validation queries with.
  const distractors = test.distractors ?? [];
  try {
    const embedder = embedderOf(models);
    const outcome = await validate(app, run, strategy, spec, embedder, {
      queries: distractors.filter((_, i) => i % 2 === 0),
      reference: distractors.filter((_, i) => i % 2 === 1),
    });
    await saveValidationEmbeddings(runDir, outcome.queries, outcome.gallery);
    const { best } = outcome.tuning;
    const predictions = await predictTest(app, run, strategy, embedder, outcome.chain, distractors);
    const submission = join(out, 'submission.csv');
    const solutionFile = join(dataDir, SAMPLE_SOLUTION_FILE);
    let scored: ScoreReport | undefined;
    // Validated (and scored against the sample's hidden truth) before it replaces anything: an
    // invalid submission, or one for other data, never replaces submission.csv.
    await replaceFile(submission, async (temporary) => {
      await competition.writeSubmission(predictions, temporary);
      await validateSubmissionFile(
        spec,
        temporary,
        test.queries.map((item) => item.id),
      );
      if (!options.data && existsSync(solutionFile)) scored = await scoreFiles(spec, solutionFile, temporary);
    });
    const testReport = scored ?? null;
    const exportedModel = await competition.exportModel?.({
      out,
      runDir,
      config,
      queries: await embedder.embed(test.queries),
      validation: best.score,
      test: testReport,
    });
    const sampleSubmissionTest = testReport ? await scoreSampleSubmission(spec, dataDir, solutionFile) : null;
    const testBaselines: Record<string, number | null> = sampleSubmissionTest
      ? { [SAMPLE_SUBMISSION_BASELINE]: sampleSubmissionTest.score }
      : {};
    const effective = {
      ...config,
      tuned: best.overrides,
      ...(Object.keys(outcome.fitted).length > 0 ? { fitted: outcome.fitted } : {}),
    };
    const seconds = (Date.now() - started) / 1000;
    await writeReportData(runDir, {
      format: REPORT_DATA_FORMAT,
      competition: spec.competition,
      title: competition.title,
      createdAt: new Date().toISOString(),
      metric: { name: spec.metric.name, higherIsBetter: spec.metric.higherIsBetter },
      summary: {
        'validation (trained + tuned)': best.score,
        'sample test set': testReport?.score ?? null,
        seconds: Math.round(seconds),
      },
      comparison: [
        { name: 'trained + tuned', value: best.score, metric: spec.metric.name, source: 'measured' },
        ...Object.entries(outcome.baselines).map(([name, value]) => ({
          name: `baseline: ${name}`,
          value,
          metric: spec.metric.name,
          source: 'measured' as const,
        })),
        ...Object.entries(testBaselines).map(([name, value]) => ({
          name: `sample test, baseline: ${name}`,
          value,
          metric: spec.metric.name,
          source: 'measured' as const,
        })),
      ],
      tuning: {
        points: outcome.tuning.points,
        best: best.overrides,
        warnings: outcome.tuning.walls.map(describeWall),
      },
      embeddings: embeddingSample(outcome.queries.items, outcome.queries.vectors),
      gallery: neighbourGallery(outcome.queries.items, outcome.gallery.items, outcome.state.neighbours),
    });
    const report = (await writeReport(runDir)).path;
    await writeRunConfig(out, { competition: competition.alias, seed, ...effective });
    // The submission, report and config are written: a leaderboard that cannot take the result
    // loses nothing but the record (the summary says why, the command then fails).
    let runId: string | null = null;
    let leaderboardError: UserError | undefined;
    try {
      const leaderboard = Leaderboard.open(options.leaderboard ?? defaultLeaderboardPath());
      try {
        runId = leaderboard.record({
          competition: spec.competition,
          metric: spec.metric.name,
          higherIsBetter: spec.metric.higherIsBetter,
          config: JSON.parse(JSON.stringify(effective)) as Json,
          cv: best.score,
          score: testReport?.score ?? null,
          public: testReport?.public ?? null,
          private: testReport?.private ?? null,
          submissionPath: submission,
        }).runId;
      } finally {
        leaderboard.close();
      }
    } catch (error) {
      if (!(error instanceof LeaderboardFileError)) throw error;
      leaderboardError = error;
    }
    return {
      competition: spec.competition,
      metric: spec.metric.name,
      higherIsBetter: spec.metric.higherIsBetter,
      validation: best.score,
      tuned: best.overrides,
      baselines: outcome.baselines,
      test: testReport,
      testBaselines,
      submission,
      runDir,
      seconds,
      runId,
      leaderboardError,
      report,
      ...(exportedModel ? { exportedModel } : {}),
    };
  } finally {
    models.dispose();
  }
}

/** The tuning run: every setting when there are few, else the best ten. */
function printCurve({ points, strategy, extended, walls }: EdgeAwareTuning, spec: ScoringSpec): void {
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

export type { EmbeddingModel };
