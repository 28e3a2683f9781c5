import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Competition, CompetitionConfig, Item, RegisteredCompetition } from '../contracts/competition.js';
import type { Simkit } from '../di/container.js';
import { UserError } from '../errors.js';
import { checkComponentOptions } from '../di/component-options.js';
import { checkTrainingData } from '../data/trainable.js';
import { lockOutFolder } from '../io/out-lock.js';
import { embeddedSample } from '../samples/sample-folder.js';
import { log } from '../log.js';
import { DEFAULT_SEED, Random } from '../random.js';
import { checkResumable } from '../training/checkpoint.js';
import { NO_TTA, resolveConfig } from './config.js';
import { SEED, checkConfig, describeRule, satisfies } from './config-check.js';
import { checkRunData } from './data-check.js';
import { checkObjectives } from './embedding-model.js';
import { checkChainModels, checkTuneKeys } from './knn.js';
import type { PreparedRun, RunContext, RunOptions } from './context.js';
import { modelDir } from './train-models.js';
import { splitForValidation } from './split.js';
import { unknownLabelSplit } from '../tasks/unknown.js';

export function findCompetition(
  app: Simkit,
  name: string,
): { competition: Competition; slugOptions: Partial<CompetitionConfig>; slug: string } {
  const registry = app.registry<Competition>('Competition');
  const entries = registry.list() as RegisteredCompetition[];
  for (const entry of entries) {
    if (entry.name === name || entry.aliases?.includes(name)) {
      const competition = entry.create({}, app.components);
      return { competition, slugOptions: {}, slug: competition.slug };
    }
    const options = entry.slugs?.[name];
    if (options) return { competition: entry.create(options, app.components), slugOptions: options, slug: name };
  }
  registry.get(name);
  throw new UserError(`unknown competition "${name}"`);
}

/**
 * A competition that takes the trained model itself (Competition.exportModel) is scored on what that one model
 * gives for one forward pass per image: the test's vectors may not combine several models or several views.
 */
function checkOneExportableModel(config: CompetitionConfig, source: string, alias: string): void {
  const refuse = (what: string, fix: string) =>
    new UserError(`${alias} takes the trained model itself, and ${what} (${source})`, fix);
  if (config.ensemble)
    throw refuse(
      'an ensemble is several models: ensemble',
      'search one model: remove ensemble and set search to a model',
    );
  if ((config.folds?.count ?? 1) > 1 && config.folds?.final === 'folds')
    throw refuse(
      `--folds ${config.folds.count} with folds.final: folds averages ${config.folds.count} models`,
      'set folds.final: full (one model retrained on every labelled item), or run without --folds',
    );
  const search = config.search ?? Object.keys(config.models)[0]!;
  const model = config.models[search];
  const tta = { ...NO_TTA, ...(model?.input === 'image' ? model.tta : undefined) };
  if (tta.flip || tta.sizes.length > 0 || tta.crops > 0)
    throw refuse(
      `models.${search}.tta averages several views of each image, which the exported model does not do`,
      `remove models.${search}.tta`,
    );
}

/** `config` with `epochs` for every model, unless the overrides set the models themselves. */
function withEpochs(config: CompetitionConfig, options: RunOptions): CompetitionConfig {
  if (options.epochs === undefined || options.overrides?.models) return config;
  const epochs = options.epochs;
  return {
    ...config,
    models: Object.fromEntries(Object.entries(config.models).map(([name, model]) => [name, { ...model, epochs }])),
  };
}

/** The effective config of a run, as `--print-config` shows it. */
export async function effectiveConfig(app: Simkit, options: RunOptions): Promise<CompetitionConfig> {
  const { competition, slugOptions } = findCompetition(app, options.competition);
  const resolved = await resolveConfig(competition.config, slugOptions, options.config, options.configOverrides);
  const withFlags = withEpochs({ ...resolved, ...options.overrides }, options);
  const config =
    options.folds === undefined ? withFlags : { ...withFlags, folds: { ...withFlags.folds!, count: options.folds } };
  const source = options.config ?? `the defaults of ${competition.alias}`;
  checkConfig(config, source);
  competition.checkConfig?.(config, source);
  if (competition.exportModel) checkOneExportableModel(config, source, competition.alias);
  if (config.ensemble && ((config.folds?.count ?? 1) > 1 || config.pseudoLabels?.enabled))
    throw new UserError(
      `cross-validation and pseudo-labels retrain one searched model, and ${source} searches an ensemble`,
      'search one model (remove ensemble and set search to a model), or run without --folds and pseudoLabels',
    );
  checkComponentOptions(app, config);
  return config;
}

/** The data directory: the given one, or the embedded sample generated under `out`. */
async function dataDirectory(
  competition: Competition,
  slug: string,
  out: string,
  options: RunOptions,
): Promise<string> {
  const dataDir = options.data ? resolve(options.data) : join(out, 'sample');
  if (!options.data) {
    await embeddedSample(competition, dataDir, options.seed ?? DEFAULT_SEED);
  } else if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) {
    throw new UserError(
      `data directory ${dataDir} ${existsSync(dataDir) ? 'is not a directory' : 'does not exist'}`,
      `pass DATA=<a directory in ${slug}'s Kaggle layout>`,
    );
  }
  return dataDir;
}

/**
 * The train items split for validation. Items of the unknown label (new_whale) and some classes seen once become
 * validation queries of the unknown label, so that the threshold for predicting it can be tuned.
 */
function splitTrain(
  competition: Competition,
  config: CompetitionConfig,
  items: readonly Item[],
  seed: number,
): Pick<PreparedRun, 'labelled' | 'train' | 'validation'> {
  const unknown = competition.unknownLabel;
  const split = splitForValidation(items, config.validation, new Random(seed));
  if (!unknown) return { labelled: items, train: split.train, validation: split.validation };
  const { train, validation } = unknownLabelSplit(split, unknown, config.validation.fraction, new Random(seed));
  return { train, validation, labelled: items.filter((item) => !item.labels.includes(unknown)) };
}

/**
 * Every check of the config that needs the container, before any data is read or generated; returns whether a model
 * learns from labels.
 */
function checkRunConfig(
  app: Simkit,
  competition: Competition,
  config: CompetitionConfig,
  options: RunOptions,
): boolean {
  const learnsFromLabels = checkObjectives(app, config);
  checkChainModels(app, config);
  checkTuneKeys(app, config);
  for (const [name, model] of Object.entries(config.models)) {
    if (model.input === 'text' && competition.modality !== 'text+image')
      throw new UserError(
        `model "${name}" reads texts, but the items of ${competition.alias} have none`,
        `remove models.${name} from the config, or give it input: image`,
      );
  }
  if ((config.folds?.count ?? 1) > 1 && competition.unknownLabel)
    throw new UserError(
      `cross-validation does not split ${competition.alias}, whose unknown label ("${competition.unknownLabel}") is no class to fold`,
      'run without --folds (folds.count: 1)',
    );
  if ((config.folds?.count ?? 1) > 1 && config.pseudoLabels?.enabled)
    throw new UserError(
      'folds and pseudoLabels are one or the other',
      'set folds.count: 1 or pseudoLabels.enabled: false',
    );
  const seed = options.seed ?? DEFAULT_SEED;
  if (!satisfies(seed, SEED))
    throw new UserError(`the seed must be ${describeRule(SEED)}, got ${JSON.stringify(seed)}`);
  return learnsFromLabels;
}

/**
 * The prepare stage: the effective config (checked), the embedded sample (without `data`), the train and test sets
 * (checked), and the split for validation.
 */
export async function prepareRun(app: Simkit, options: RunOptions): Promise<RunContext> {
  const started = Date.now();
  const { competition, slug } = findCompetition(app, options.competition);
  if (![slug, competition.alias].includes(options.competition))
    log.info(`"${options.competition}" stands for ${slug}, the slug Kaggle used`);
  const config = await effectiveConfig(app, options);
  const learnsFromLabels = checkRunConfig(app, competition, config, options);
  const seed = options.seed ?? DEFAULT_SEED;
  const out = resolve(options.out ?? join('output', slug));
  await mkdir(out, { recursive: true });
  lockOutFolder(out);
  const dataDir = await dataDirectory(competition, slug, out, options);
  const runDir = join(out, 'run');
  if (options.resume)
    for (const [name, model] of Object.entries(config.models)) checkResumable(modelDir(runDir, name), model.epochs);
  const { train: items, test } = await checkRunData({
    dataDir,
    runDir,
    idColumn: competition.submission.idColumn,
    train: await competition.readTrain(dataDir),
    test: await competition.readTest(dataDir),
    maxBadImages: options.strict ? 0 : options.maxBadImages,
  });
  const { labelled, train, validation } = splitTrain(competition, config, items, seed);
  checkTrainingData({
    train,
    all: items,
    test,
    dataDir,
    unknownLabel: competition.unknownLabel,
    learnsFromLabels,
    config,
  });
  log.info(
    `[${slug}] ${items.length} train items: ${train.length} to train, ${validation.length} to validate; ${test.queries.length} test queries` +
      (test.distractors ? `; ${test.distractors.length} known non-targets` : ''),
  );
  const run = { competition, slug, config, seed, out, dataDir, runDir, labelled, train, validation, test };
  return { ...run, app, options, started };
}
