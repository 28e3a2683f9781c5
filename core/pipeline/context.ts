import type { Competition, CompetitionConfig, Item, TestSet } from '../contracts/competition.js';
import type { ScoringSpec } from '../contracts/metric.js';
import type { TaskStrategy } from '../contracts/task.js';
import type { Simkit } from '../di/container.js';
import type { JsonObject } from './config.js';

/** What `simkit run` and `simkit train` are asked to do. */
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
  /** Epochs of every model of the run (`--epochs`). */
  readonly epochs?: number;
  /** Cross-validation over this many folds (`--folds`), overriding the config's `folds.count`. */
  readonly folds?: number;
  /** Continue training from the run's latest checkpoints. */
  readonly resume?: boolean;
  /** Overrides for quick runs (tests): other post-processors, say. */
  readonly overrides?: Partial<CompetitionConfig>;
  readonly leaderboard?: string;
  /** An unreadable image fails the run instead of being skipped or replaced by a blank one. */
  readonly strict?: boolean;
  /** Largest share of images that may be missing (default DEFAULT_MAX_BAD_IMAGES). */
  readonly maxBadImages?: number;
}

/** What the prepare stage hands the others: the competition, its config and the split data. */
export interface PreparedRun {
  readonly competition: Competition;
  readonly slug: string;
  readonly config: CompetitionConfig;
  readonly seed: number;
  readonly out: string;
  readonly dataDir: string;
  /** `<out>/run`: each model's folder, the report, the list of missing images. */
  readonly runDir: string;
  /** Labelled train items (without the unknown label). */
  readonly labelled: readonly Item[];
  readonly train: readonly Item[];
  readonly validation: readonly Item[];
  readonly test: TestSet;
}

/** The typed context every stage of a run reads: the container, what was asked, and the prepared run. */
export interface RunContext extends PreparedRun {
  readonly app: Simkit;
  readonly options: RunOptions;
  /** When the run started (ms since the epoch). */
  readonly started: number;
}

/** What the search and scoring stages read besides the run: the task's strategy and the scoring spec. */
export interface ScoredRunContext extends RunContext {
  readonly strategy: TaskStrategy;
  readonly spec: ScoringSpec;
}
