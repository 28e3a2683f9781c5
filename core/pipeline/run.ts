import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Competition, CompetitionConfig, CompetitionRegistration, Item, Prediction, Table, TestSet } from '../contracts/competition.js';
import { SAMPLE_SOLUTION_FILE } from '../contracts/competition.js';
import type { ScoreReport, ScoringSpec } from '../contracts/metric.js';
import type { Simkit } from '../di/container.js';
import { UserError } from '../errors.js';
import { replaceFile } from '../io/atomic-write.js';
import { exactSearchContext } from '../index/neighbours.js';
import { Leaderboard, LeaderboardFileError, defaultLeaderboardPath } from '../leaderboard/leaderboard.js';
import { log } from '../log.js';
import { Random } from '../random.js';
import { writeReport } from '../report/render.js';
import { REPORT_DATA_FORMAT, embeddingSample, neighbourGallery, writeReportData } from '../report/report-data.js';
import { resolveScoringSpec } from '../scoring/registration.js';
import { scoreFiles, scoreRows, validateSubmissionFile } from '../scoring/score.js';
import { baselines } from './baselines.js';
import { resolveConfig, type JsonObject } from './config.js';
import { SEED, checkConfig, describeRule, satisfies } from './config-check.js';
import { fitChain, initialState, postProcess, type EmbeddedSet, type Overrides } from './knn.js';
import { TEXT_MODEL_DIR, trainCompetitionModels, type EmbeddingModel } from './model.js';
import { DEFAULT_MAX_BAD_IMAGES, checkRunData } from './data-check.js';
import { writeRunConfig } from './run-config.js';
import { Checkpoints } from '../training/checkpoint.js';
import { extraMatches, thresholdKey, type ExtraMatches, type QueryEmbeddings } from './match-sources.js';
import { tuneSettings, type TuningPoint, type TuningResult } from './tune.js';
import { splitForValidation } from './split.js';

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
  readonly submission: string;
  readonly runDir: string;
  readonly seconds: number;
  /** Null when the leaderboard could not record the run (`leaderboardError` says why). */
  readonly runId: string | null;
  readonly leaderboardError?: UserError;
  /** The run's HTML report. */
  readonly report: string;
}

export function findCompetition(app: Simkit, name: string): { competition: Competition; slugOptions: Partial<CompetitionConfig>; slug: string } {
  const registry = app.registry<Competition>('Competition');
  const entries = registry.list() as (CompetitionRegistration & { origin?: unknown })[];
  for (const entry of entries) {
    if (entry.name === name) return { competition: entry.create(), slugOptions: {}, slug: entry.create().slug };
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
  const effective = epochs !== undefined && config.textModel && textModel === undefined ? { ...config, textModel: { ...config.textModel, epochs } } : config;
  checkConfig(effective, options.config ?? `the defaults of ${competition.alias}`);
  return effective;
}

function scoreTables(spec: ScoringSpec, solution: Table, competition: Competition, predictions: readonly Prediction[]): Promise<number | null> {
  return scoreRows(spec, solution, competition.submissionTable(predictions)).then((report) => report.score);
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
export async function prepareRun(app: Simkit, options: RunOptions): Promise<PreparedRun> {
  const { competition, slug } = findCompetition(app, options.competition);
  const config = await effectiveConfig(app, options);
  const seed = options.seed ?? 42;
  if (!satisfies(seed, SEED)) throw new UserError(`the seed must be ${describeRule(SEED)}, got ${JSON.stringify(seed)}`);
  const out = resolve(options.out ?? join('output', slug));
  await mkdir(out, { recursive: true });

  const dataDir = options.data ? resolve(options.data) : join(out, 'sample');
  if (!options.data) {
    log.info(`[${slug}] generating the embedded sample in ${dataDir}`);
    await competition.generateSample(dataDir, seed);
  } else if (!existsSync(dataDir)) {
    throw new UserError(`data directory ${dataDir} does not exist`, `pass DATA=<a directory in ${slug}'s Kaggle layout>`);
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
  // Items of the "unknown" label (new_whale) are no class to learn or to vote for; they stay as
  // validation queries so that the threshold for predicting the unknown label can be tuned.
  const train = unknown ? split.train.filter((item) => !item.labels.includes(unknown)) : split.train;
  const validation = unknown ? [...split.validation, ...split.train.filter((item) => item.labels.includes(unknown))] : split.validation;
  const labelled = unknown ? trainItems.filter((item) => !item.labels.includes(unknown)) : trainItems;
  log.info(
    `[${slug}] ${trainItems.length} train items: ${train.length} to train, ${validation.length} to validate; ${test.queries.length} test queries` +
      (test.distractors ? `; ${test.distractors.length} known non-targets` : ''),
  );
  return { competition, slug, config, seed, out, dataDir, runDir, labelled, train, validation, test };
}

/** `--resume` with fewer epochs than a model's checkpoint has trained is refused before any work. */
function refuseShrinkingResume(runDir: string, config: CompetitionConfig): void {
  const models: [string, number][] = [[runDir, config.epochs], ...(config.textModel ? [[join(runDir, TEXT_MODEL_DIR), config.textModel.epochs] as [string, number]] : [])];
  for (const [dir, epochs] of models) {
    const trained = new Checkpoints(dir).latestEpoch();
    if (trained > epochs) {
      throw new UserError(`cannot resume ${epochs} epoch(s): the checkpoint in ${join(dir, 'checkpoints')} has already trained ${trained}`, `resume with --epochs ${trained} or more, or start afresh without --resume`);
    }
  }
}

/** split → train → embed → search → post-process (tuned on validation) → submission → validate → score → leaderboard. */
export async function runCompetition(app: Simkit, options: RunOptions): Promise<RunSummary> {
  const started = Date.now();
  const { competition, config, seed, out, dataDir, runDir, labelled, train, validation, test } = await prepareRun(app, options);
  const spec = resolveScoringSpec(app, competition.metric);
  const models = await trainCompetitionModels(app, competition, config, train, validation, { runDir, seed, resume: options.resume, strict: options.strict, maxBadImages: options.maxBadImages ?? DEFAULT_MAX_BAD_IMAGES });
  const model = models.image;
  // Half the known non-targets join the validation queries (with empty truth, like the test set's
  // non-targets); the other half is what the non-target penalty compares the validation queries with.
  const distractors = test.distractors ?? [];
  const validationDistractors = distractors.filter((_, i) => i % 2 === 0);
  const referenceDistractors = distractors.filter((_, i) => i % 2 === 1);
  try {
    const embed = async (items: readonly Item[]): Promise<EmbeddedSet> => ({ items, vectors: await model.embed(items) });
    const distractorVectors = async (items: readonly Item[]) => (items.length > 0 ? (await embed(items)).vectors : undefined);
    const context = exactSearchContext(model.dim);

    // Validation: tune the post-processing on held-out items.
    const validationSets = await validationSetsFor(competition, train, [...validation, ...validationDistractors], embed);
    const solution = competition.solutionTable(validationSets.truth, { index: validationSets.index?.items });
    const validationState = initialState(app, config.indexer, model.dim, validationSets.queries, validationSets.gallery, config.neighbours, {
      excludeSelf: competition.task === 'retrieve',
      distractors: await distractorVectors(referenceDistractors),
    });
    const queryEmbeddings = async (set: EmbeddedSet): Promise<QueryEmbeddings> => ({
      image: { vectors: set.vectors, dim: model.dim },
      ...(models.text ? { text: { vectors: await models.text.embed(set.items), dim: models.text.dim } } : {}),
    });
    const extra = extraMatches(competition, config, validationSets.queries.items, await queryEmbeddings(validationSets.queries));
    const imageMatches = (overrides: Overrides) => postProcess(app, competition.task, config.postProcessors, validationState, context, overrides);
    const tuneOn = (tune: CompetitionConfig['tune'], matches: ExtraMatches, predictions: (overrides: Overrides) => Prediction[]) =>
      tuneSettings(tune, (overrides) => scoreTables(spec, solution, competition, matches.merge(predictions(overrides), overrides)), spec.metric.higherIsBetter);
    const tuning = await tuneOn(config.tune, extra, imageMatches);
    const { best } = tuning;
    printCurve(tuning, spec);
    const fit = fitChain(app, config.postProcessors, validationState, context, best.overrides, validationSets.truth.map((item) => item.labels));
    if (Object.keys(fit.fitted).length > 0) {
      const fittedScore = await scoreTables(spec, solution, competition, extra.merge(postProcess(app, competition.task, fit.chain, validationState, context), best.overrides));
      for (const [key, value] of Object.entries(fit.fitted)) log.info(`learned on validation: ${key} = ${JSON.stringify(value)}`);
      log.info(`  validation with them ${fittedScore === null ? '—' : fittedScore.toFixed(4)} (learned on these same rows, so optimistic)`);
    }
    const baselineScores: Record<string, number | null> = {};
    for (const [name, predictions] of Object.entries(baselines(competition, validationSets.queries.items, validationSets.gallery.items))) {
      baselineScores[name] = await scoreTables(spec, solution, competition, predictions);
    }
    if (extra.sources.length > 0) {
      // What the trained models add: phash and TF-IDF matching alone, and (with a text model) the
      // image model with them, each tuned on validation like the full pipeline.
      const untrained = extra.withoutTrainedModels();
      const untrainedKeys = new Set(untrained.sources.map(thresholdKey));
      const textKeys = new Set(extra.sources.filter((source) => !untrained.sources.includes(source)).map(thresholdKey));
      const pick = (keep: (key: string) => boolean) => Object.fromEntries(Object.entries(config.tune).filter(([key]) => keep(key)));
      const selfOnly = validationSets.queries.items.map((item) => ({ id: item.id, labels: [item.id] }));
      baselineScores['without trained models'] = (await tuneOn(pick((key) => untrainedKeys.has(key)), untrained, () => selfOnly)).best.score;
      if (models.text) baselineScores['without the text model'] = (await tuneOn(pick((key) => !textKeys.has(key)), untrained, imageMatches)).best.score;
    }

    // Test: the gallery is every labelled item (or the retrieval index, or the test set itself).
    const testQueries = await embed(test.queries);
    const testGallery =
      competition.task === 'match' ? testQueries : competition.task === 'retrieve' ? await embed(test.index ?? []) : await embed(labelled);
    const testState = initialState(app, config.indexer, model.dim, testQueries, testGallery, config.neighbours, {
      excludeSelf: false,
      distractors: await distractorVectors(distractors),
    });
    const testExtra = extraMatches(competition, config, test.queries, await queryEmbeddings(testQueries));
    const predictions = testExtra.merge(postProcess(app, competition.task, fit.chain, testState, context), best.overrides);
    const submission = join(out, 'submission.csv');
    // Validated before it replaces anything: an invalid submission is never left at submission.csv.
    await replaceFile(submission, async (temporary) => {
      await competition.writeSubmission(predictions, temporary);
      await validateSubmissionFile(spec, temporary, test.queries.map((item) => item.id));
    });

    const solutionFile = join(dataDir, SAMPLE_SOLUTION_FILE);
    const testReport = !options.data && existsSync(solutionFile) ? await scoreFiles(spec, solutionFile, submission) : null;
    const effective = { ...config, tuned: best.overrides, ...(Object.keys(fit.fitted).length > 0 ? { fitted: fit.fitted } : {}) };
    const seconds = (Date.now() - started) / 1000;
    await writeReportData(runDir, {
      format: REPORT_DATA_FORMAT,
      competition: spec.competition,
      title: competition.title,
      createdAt: new Date().toISOString(),
      metric: { name: spec.metric.name, higherIsBetter: spec.metric.higherIsBetter },
      summary: { 'validation (trained + tuned)': best.score, 'sample test set': testReport?.score ?? null, seconds: Math.round(seconds) },
      comparison: [
        { name: 'trained + tuned', value: best.score, metric: spec.metric.name, source: 'measured' },
        ...Object.entries(baselineScores).map(([name, value]) => ({ name: `baseline: ${name}`, value, metric: spec.metric.name, source: 'measured' as const })),
      ],
      tuning: { points: tuning.points, best: best.overrides },
      embeddings: embeddingSample(validationSets.queries.items, validationSets.queries.vectors),
      gallery: neighbourGallery(validationSets.queries.items, validationSets.gallery.items, validationState.neighbours),
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
        config: JSON.parse(JSON.stringify(effective)),
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
      baselines: baselineScores,
      test: testReport,
      submission,
      runDir,
      seconds,
      runId,
      leaderboardError,
      report,
    };
  } finally {
    models.dispose();
  }
}

interface ValidationSets {
  readonly queries: EmbeddedSet;
  readonly gallery: EmbeddedSet;
  readonly truth: readonly Item[];
  readonly index?: EmbeddedSet;
}

/**
 * What validation searches. match: the validation items among themselves (as the test set is
 * matched); retrieve: one query per class against the other validation items; label tasks: the
 * validation items against the training items.
 */
async function validationSetsFor(
  competition: Competition,
  train: readonly Item[],
  validation: readonly Item[],
  embed: (items: readonly Item[]) => Promise<EmbeddedSet>,
): Promise<ValidationSets> {
  if (competition.task === 'match') {
    const set = await embed(validation);
    return { queries: set, gallery: set, truth: validation };
  }
  if (competition.task === 'retrieve') {
    const seen = new Set<string>();
    const queries: Item[] = [];
    const index: Item[] = [];
    for (const item of validation) {
      const label = item.labels[0] ?? '';
      if (seen.has(label)) index.push(item);
      else {
        seen.add(label);
        queries.push(item);
      }
    }
    const indexSet = await embed(index);
    return { queries: await embed(queries), gallery: indexSet, truth: queries, index: indexSet };
  }
  return { queries: await embed(validation), gallery: await embed(train), truth: validation };
}

/** The tuning run: every setting when there are few, else the best ten. */
function printCurve({ points, strategy }: TuningResult, spec: ScoringSpec): void {
  if (points.length <= 1) return;
  const byScore = (a: TuningPoint, b: TuningPoint) => (spec.metric.higherIsBetter ? b.score! - a.score! : a.score! - b.score!);
  const shown = points.length <= 25 ? points : points.filter((point) => point.score !== null).sort(byScore).slice(0, 10);
  log.info(
    `tuning on validation (${spec.metric.name}, ${spec.metric.higherIsBetter ? 'higher' : 'lower'} is better): ${points.length} settings by ${strategy}` +
      (shown.length < points.length ? `; the best ${shown.length}:` : ':'),
  );
  for (const point of shown) {
    const settings = Object.entries(point.overrides).map(([key, value]) => `${key}=${value}`).join(' ');
    log.info(`  ${settings.padEnd(48)} ${point.score === null ? '—' : point.score.toFixed(4)}`);
  }
}

export type { EmbeddingModel };
