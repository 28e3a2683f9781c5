/**
 * simkit's public API (`import … from 'simkit'`): the engine, the container and its registries,
 * training, the vector index, the kNN stage, scoring, the leaderboard, the pipeline and the
 * contracts, and everything a competition adapter is written with (readers, sample helpers,
 * metric definitions, its DI module; docs/plugins.md "Write an adapter"). Plugin authors find the
 * metric-learning building blocks in `simkit/plugins`.
 */
import 'reflect-metadata';

export type * from './contracts/augment.js';
export type * from './contracts/backbone.js';
export type * from './contracts/competition.js';
export type * from './contracts/indexer.js';
export type * from './contracts/loss.js';
export type * from './contracts/metric.js';
export type * from './contracts/postprocessor.js';
export type * from './contracts/random.js';
export type * from './contracts/registration.js';
export type * from './contracts/task.js';
export { SAMPLE_SOLUTION_FILE, SAMPLE_SUBMISSION_FILE } from './contracts/competition.js';
export { TOKENS, type ComponentKind } from './contracts/component-tokens.js';
export { InputError, UserError } from './errors.js';

export { BACKENDS, initEngine, type BackendChoice, type BackendRequest } from './engine/backend.js';
export {
  Simkit,
  builtinModules,
  combineModules,
  componentToken,
  decorateComponent,
  fileModule,
  registrations,
  type ModuleSource,
} from './di/container.js';
export { Registry } from './di/registry.js';
export { Random } from './random.js';
export { l2Normalize, seededInitializers } from './tensors.js';

export { createObjective } from './losses/objective.js';
export { inMemoryData } from './training/data.js';
export { trainEmbedding, type InMemoryDataset, type TrainerOptions, type TrainingResult } from './training/trainer.js';

export { VectorIndex } from './search/vector-index.js';
export { exactSearch, exactSearchContext, searchNeighbours } from './search/neighbours.js';
export { EmbeddingsFile, EmbeddingsWriter, readEmbeddings } from './search/embeddings-file.js';
export { chainSteps, fitChain, initialState, postProcess, type EmbeddedSet, type Overrides } from './pipeline/knn.js';
export { TASKS, taskRegistration } from './tasks/index.js';

export { resolveScoringSpec, scoringRegistration } from './scoring/registration.js';
export { InvalidFileError, scoreFiles, scoreRows, validateSubmissionFile } from './scoring/score.js';
export { Leaderboard, defaultLeaderboardPath, type LeaderboardRecord } from './leaderboard/leaderboard.js';

export {
  dataPath,
  defineCompetition,
  hashedUsage,
  readCsv,
  readImageFolder,
  requireField,
  withTaskTables,
} from './competition/adapter.js';
export { competitionModule, scoringSpecOf } from './competition/module.js';
export { IMAGE_CLASSIFICATION_CONFIG, IMAGE_MODEL } from './pipeline/defaults.js';
export { writeCsvAtomic } from './data/csv.js';
export { classSizes, hexId, renderPictures, type SamplePicture } from './samples/labelled.js';
export { generateSimpleLayoutSample } from './samples/simple-layout.js';

export { averagePrecisionAtK, meanAveragePrecisionMetric } from './metrics/average-precision.js';
export { meanF1Metric } from './metrics/f1.js';
export { gapMetric } from './metrics/gap.js';
export { multiLabelMacroF1Metric, singleLabelMacroF1Metric } from './metrics/macro-f1.js';
export { meanTop1ErrorMetric } from './metrics/top1-error.js';
export { effectiveConfig, findCompetition } from './pipeline/prepare.js';
export { runCompetition, type RunSummary } from './pipeline/run.js';
export type { RunOptions } from './pipeline/context.js';
