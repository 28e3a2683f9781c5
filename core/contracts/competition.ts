import type { AugmentOptions } from './augment.js';

/**
 * A competition adapter: how one Kaggle competition's files are read, how a small sample in the
 * same layout is generated, and how predictions become Kaggle's exact submission file. Adapters
 * live in `competitions/<folder>/` and register a `CompetitionRegistration` under
 * `TOKENS.Competition`, named by the short alias (`shopee`, `landmarks`, …); `slugs` maps every
 * Kaggle slug the adapter serves to the options that select it (e.g. a Herbarium year).
 *
 * Everything the generic pipeline needs is here: items to train and search on, the task kind
 * (which decides how neighbours become predictions and how truth is built), the metric to score
 * with (a `TOKENS.Metric` ScoringSpec named by Kaggle slug, contracts/metric.ts), and the default
 * configuration.
 */
import type { MetricDefinition, ScoreReport, Usage } from './metric.js';
import type { Components, Registration } from './registration.js';

export type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json };

/**
 * - match: each item's prediction is the set of items of the same set that show the same thing (Shopee).
 * - recognize: one class and a confidence, or nothing for an item of no known class (landmarks).
 * - retrieve: ranked ids of an index set (landmark retrieval).
 * - classify: ranked class ids (Hotel-ID, Herbarium, whales).
 * - multilabel: a set of class ids (Protein Atlas).
 */
export type TaskKind = 'match' | 'recognize' | 'retrieve' | 'classify' | 'multilabel';

/** `image4`: four single-channel PNGs per item (red, green, blue, yellow), see `Item.channelPaths`. */
export type Modality = 'image' | 'text+image' | 'image4';

export interface Item {
  /** Unique within its set; for test items, the id written to the submission. */
  readonly id: string;
  /** Class ids (strings, never cast), empty when unknown (test items). Several only for multilabel data. */
  readonly labels: readonly string[];
  /** A coarser grouping given by the data (hotel chain, herbarium family), if any. */
  readonly group?: string;
  /** Absolute path of the item's image (modalities `image` and `text+image`). */
  readonly imagePath?: string;
  /** Absolute paths of the red, green, blue and yellow channel images (modality `image4`). */
  readonly channelPaths?: readonly [string, string, string, string];
  readonly text?: string;
  /** Perceptual hash given by the data (Shopee's `image_phash`). */
  readonly phash?: string;
  /** The row's other columns, verbatim. */
  readonly extra: Readonly<Record<string, string>>;
}

export interface TestSet {
  readonly queries: readonly Item[];
  /** The set searched for retrieval competitions; absent otherwise. */
  readonly index?: readonly Item[];
  /**
   * Known non-targets (e.g. images of no landmark), unlabelled, when the data has them: the
   * non-target penalty compares queries with them, and half of them join the validation queries.
   */
  readonly distractors?: readonly Item[];
}

export interface Prediction {
  /** The query item's id. */
  readonly id: string;
  /** Best first: class ids, or item ids for `match` and `retrieve`. */
  readonly labels: readonly string[];
  /** Confidence of each label, same order; required where the submission writes confidences. */
  readonly scores?: readonly number[];
}

/** A CSV file's content: header and rows of raw strings. */
export interface Table {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** Kaggle's submission columns; the solution file has the same two columns plus `Usage`. */
export interface SubmissionFormat {
  readonly idColumn: string;
  readonly labelColumn: string;
  /** Most labels a row may hold (1, 5, 50, 100; `null`: no limit). Extra labels are dropped. */
  readonly maxLabels: number | null;
  /** Rows are `"<label> <confidence>"` (landmark recognition). */
  readonly withConfidence: boolean;
}

/** A pluggable component chosen by registered name, with its options (defaults filled by the plugin). */
export interface ComponentChoice {
  readonly name: string;
  readonly options: { readonly [key: string]: Json };
}

/** The training loop's settings (core/training); a competition lists only those it changes. */
export interface TrainingConfig {
  readonly optimizer: 'adam' | 'adamw' | 'sgd';
  /** Momentum of `sgd`. */
  readonly momentum: number;
  /** Decoupled weight decay of `adamw` and `sgd` (kernels only). */
  readonly weightDecay: number;
  /** Linear warm-up, then cosine decay (capped at epochs − 1). */
  readonly warmupEpochs: number;
  /** Learning rate of the head's class matrix relative to the backbone's. */
  readonly headLearningRateFactor: number;
  /** Global gradient-norm clipping (0: off). */
  readonly clipNorm: number;
  /** Random augmentations of training images (crop, flip, rotate, colorJitter, cutout; see core/data/augment.ts). */
  readonly augment: AugmentOptions;
  /** Stop after `patience` epochs without a better validation `metric` and keep the best epoch (patience 0: off). */
  readonly earlyStopping: { readonly patience: number; readonly metric: string; readonly minDelta: number };
  /** Per-epoch checkpoints kept besides the best one. */
  readonly keepCheckpoints: number;
  /** Fine-tuning phases of a pretrained backbone (core/training/fine-tuning.ts); null: none. */
  readonly fineTuning: FineTuningConfig | null;
  /**
   * Precision of the native backend's convolutions and matmuls while the model trains: `f32`, or `bf16` (bf16 products
   * with f32 accumulation, weights and loss; the native backend on a CPU with AVX512-BF16 or AMX). `--precision` wins.
   */
  readonly precision: 'f32' | 'bf16';
}

/** Head-only epochs, then the pretrained layers unfrozen (all, or from a named layer) at a lower learning rate. */
export interface FineTuningConfig {
  /** Epochs at the start during which only the neck (and the loss's head) trains. */
  readonly headOnlyEpochs: number;
  /** After them, the pretrained layers that train: true (all), false (none), or a layer name (it and all after it). */
  readonly unfreeze: boolean | string;
  /** Learning rate of the pretrained layers relative to the neck's. */
  readonly backboneLearningRateFactor: number;
}

/** What every embedding model of a run is built and trained from, whatever its input. */
export interface ModelCommon {
  /** The network that embeds an item (TOKENS.Backbone; `simkit list backbones`). */
  readonly backbone: ComponentChoice;
  /** What the embedding is trained through: a class matrix such as ArcFace, or `none` (TOKENS.Head). */
  readonly head: ComponentChoice;
  /** The training objective (TOKENS.Loss; `simkit list losses`). */
  readonly loss: ComponentChoice;
  /**
   * A TOKENS.Miner for the loss (`none`: every pair or triplet). A pair miner goes with a pair
   * loss (contrastive, hinge), a triplet miner with a triplet loss; the effective config always
   * lists one (default `none`).
   */
  readonly miner?: ComponentChoice;
  /** How batches are drawn (TOKENS.Sampler): `pk` (P classes × K items), pairs, or `none` (shuffled). */
  readonly sampler: ComponentChoice;
  /** Length of the embedding vectors searched with FAISS. */
  readonly embeddingSize: number;
  /** Passes over the training items. */
  readonly epochs: number;
  /** Items per training batch. */
  readonly batchSize: number;
  /** Peak learning rate of the schedule (`training.warmupEpochs`, then cosine decay). */
  readonly learningRate: number;
  /** Training-loop settings that differ from the defaults (the effective config lists all). */
  readonly training?: Partial<TrainingConfig>;
}

/**
 * Test-time augmentation of an image model: an item's embedding is the mean of its views' raw embeddings, then
 * L2-normalised. The views are the image at imageSize, at each of `sizes`, and its `crops`, each also mirrored with
 * `flip`.
 */
export interface TtaConfig {
  /** Adds every view mirrored left to right. */
  readonly flip: boolean;
  /** Further image sides the whole image is embedded at (the backbone must take any input size). */
  readonly sizes: readonly number[];
  /** Crops of `cropScale` of each side resized to imageSize: 0 (none), 1 (the centre) or 5 (the centre and corners). */
  readonly crops: 0 | 1 | 5;
  readonly cropScale: number;
}

/** Epochs trained at a smaller image size than the model's imageSize: `until` (an epoch, inclusive) at `size` px. */
export interface ImageSizeStep {
  readonly until: number;
  readonly size: number;
}

/** A model of the items' images (or four-channel images), resized to imageSize × imageSize pixels. */
export interface ImageModelConfig extends ModelCommon {
  readonly input: 'image';
  /** The image side the model embeds at, and trains at after the progressive sizes. */
  readonly imageSize: number;
  /**
   * Progressive image sizes: `[{ until: 3, size: 48 }, { until: 6, size: 56 }]` trains epochs 1-3 at 48 px, 4-6 at
   * 56 px and the later ones at imageSize (the backbone must take any input size). Empty: every epoch at imageSize.
   */
  readonly progressiveSizes?: readonly ImageSizeStep[];
  /** Test-time augmentation when the model embeds (validation and test); every field off: one view. */
  readonly tta?: TtaConfig;
}

/**
 * A model of the items' texts (Shopee titles): a token backbone (text-encoder, whose `buckets`
 * option sets the hash range); texts become hashed n-gram ids (core/data/token-ids.ts).
 */
export interface TextModelConfig extends ModelCommon {
  readonly input: 'text';
  /** Ids per text: longer texts are truncated, shorter ones padded. */
  readonly maxTokens: number;
  /** Word n-grams and char_wb n-grams hashed into tokens (null leaves a kind out). */
  readonly ngrams: {
    readonly words: readonly [number, number] | null;
    readonly chars: readonly [number, number] | null;
  };
}

/** One named embedding model of a run. */
export type ModelConfig = ImageModelConfig | TextModelConfig;

/** The input kinds a model can read. */
export type ModelInput = ModelConfig['input'];

/** Embeddings of several named models combined into the one searched index (`search: ensemble`). */
export interface EnsembleConfig {
  /**
   * The models that take part, each with its weight: every model's L2-normalised vectors are multiplied by its weight
   * and concatenated (then projected, then L2-normalised again). Tune a weight with `tune: { ensemble.<model>: […] }`.
   */
  readonly models: { readonly [name: string]: number };
  /**
   * PCA of the concatenated vectors to `dimension` components fitted on the training items' vectors; `whiten`
   * divides each component by its standard deviation (PCA-whitening). null: the concatenation is searched as it is.
   */
  readonly pca: { readonly dimension: number; readonly whiten: boolean } | null;
}

export interface CompetitionConfig {
  /** Competition edition, where the adapter serves several years (Herbarium, landmarks). */
  readonly year?: number;
  /**
   * The run's embedding models by name (`image`, `text`, …), each trained in its own folder of the
   * run (`run/<name>/`); post-processors name the models they read.
   */
  readonly models: { readonly [name: string]: ModelConfig };
  /** The model whose neighbours the post-processing chain starts from (default: the first model), or `ensemble`. */
  readonly search?: string;
  /** Several models' embeddings searched as one index when `search` is `ensemble`; null: none. */
  readonly ensemble?: EnsembleConfig | null;
  /**
   * Validation split of the train set: `label` holds out whole classes (the test set shows new
   * classes: Shopee, retrieval), `item` holds out items of known classes.
   */
  readonly validation: { readonly fraction: number; readonly by: 'label' | 'item' };
  /** The FAISS index searched (TOKENS.Indexer): `flat` (exact) or a `faiss` factory string. */
  readonly indexer: ComponentChoice;
  /** Neighbours fetched per query. */
  readonly neighbours: number;
  /** Applied in order to the neighbours of each query. */
  readonly postProcessors: readonly ComponentChoice[];
  /** Values tried on the validation split, keyed `<postProcessor>.<option>`. */
  readonly tune: { readonly [option: string]: readonly number[] };
  /** Cross-validation over folds of the train set (`--folds K`); `count: 1` is off. */
  readonly folds?: FoldsConfig;
  /** A second training round with confident test clusters as new classes; off by default. */
  readonly pseudoLabels?: PseudoLabelsConfig;
}

export interface FoldsConfig {
  /**
   * K models, each trained with one of K folds held out (folds split as `validation.by` says: whole labels or
   * items of every class); the post-processing is tuned on the out-of-fold predictions over every train item.
   */
  readonly count: number;
  /** The test's embeddings: `folds` averages the K models' L2-normalised vectors, `full` retrains on all items. */
  readonly final: 'folds' | 'full';
}

export interface PseudoLabelsConfig {
  /** Train a second round with the first round's confident test clusters as classes (validation untouched). */
  readonly enabled: boolean;
  /**
   * The pair precision the confidence is tuned for: the lowest similarity at which at least this share of the
   * validation's neighbour pairs above it share a label.
   */
  readonly precision: number;
  /** Clusters of confident test pairs with more items than this are dropped (a chain of weak links). */
  readonly maxClusterSize: number;
}

/** What a run hands a competition that took a model rather than a CSV (`Competition.exportModel`). */
export interface ModelExport {
  /** The run's output folder (submission.csv, run/, …). */
  readonly out: string;
  /** The folder of the search model (the model whose vectors the run searched); its `model/` holds it as trained. */
  readonly modelDir: string;
  /** The search model's config. */
  readonly model: ModelConfig;
  readonly config: CompetitionConfig;
  /** The test queries with the vectors the run searched for them (items.length × dim, row-major). */
  readonly queries: { readonly items: readonly Item[]; readonly vectors: Float32Array };
  /** The tuned validation score, and the score on the sample's hidden test truth where there is one. */
  readonly validation: number | null;
  readonly test: ScoreReport | null;
}

export interface Competition {
  /** Kaggle slug, e.g. `shopee-product-matching`. */
  readonly slug: string;
  /** Short name used on the command line and as the registration name, e.g. `shopee`. */
  readonly alias: string;
  readonly title: string;
  /** Name of the `TOKENS.Metric` registration that scores this competition (its Kaggle slug). */
  readonly metric: string;
  /**
   * How Kaggle scores this edition. Its scoring spec (`simkit score`, the leaderboard) is derived
   * from it and the submission format by `competitionModule` (core/competition/module.ts).
   */
  readonly scoring: MetricDefinition;
  readonly task: TaskKind;
  readonly modality: Modality;
  readonly config: CompetitionConfig;
  readonly submission: SubmissionFormat;
  /** Label of items that belong to no known class and is itself a valid prediction (`new_whale`). */
  readonly unknownLabel?: string;

  /** Train items with labels, from a directory in Kaggle's layout. Throws InputError on bad files. */
  readTrain(dataDir: string): Promise<Item[]>;
  /** Test items (no labels) and, for retrieval, the index set. */
  readTest(dataDir: string): Promise<TestSet>;
  /**
   * Writes a small deterministic dataset in Kaggle's layout into `dir`, plus the hidden test truth
   * as a Kaggle solution file `SAMPLE_SOLUTION_FILE` (which Kaggle does not ship).
   */
  generateSample(dir: string, seed: number): Promise<void>;

  /** Predictions as Kaggle's submission table (labels capped at `submission.maxLabels`). */
  submissionTable(predictions: readonly Prediction[]): Table;
  /**
   * Truth of labelled items as a Kaggle solution table (submission columns plus `Usage`), for
   * scoring a validation split. For `match` an item's truth is every item of `truth` sharing its
   * label; for `retrieve` it is every item of `index` sharing a label (queries with none are
   * `Ignored`). `usage` defaults to `Public` for every row.
   */
  solutionTable(truth: readonly Item[], options?: { index?: readonly Item[]; usage?: (item: Item) => Usage }): Table;
  /** Writes the submission CSV atomically (temporary file in the same directory, then rename). */
  writeSubmission(predictions: readonly Prediction[], path: string): Promise<void>;
  /**
   * This competition's own rules on the effective config, beyond the generic checks (e.g. a host that ran its own
   * search takes no post-processing). Throws a UserError naming `source`; runs before any data is read.
   */
  checkConfig?(config: CompetitionConfig, source: string): void;
  /**
   * For a competition whose host ran the participant's model itself (Landmark Retrieval 2020): exports the run's
   * trained model as it would be uploaded, checks that it reproduces the vectors the run searched, and returns the
   * folder it wrote.
   */
  exportModel?(run: ModelExport): Promise<string>;
}

/** The tables a competition's task strategy writes (core/competition/adapter.ts:withTaskTables). */
type TaskTables = 'submissionTable' | 'solutionTable' | 'writeSubmission';

/**
 * What an adapter builds: a Competition whose submission and solution tables are written by the task strategy its
 * `task` names (TOKENS.Task, looked up in the container), unless it writes them itself (Fashion-MNIST).
 */
export type CompetitionAdapter = Omit<Competition, TaskTables> & Partial<Pick<Competition, TaskTables>>;

/** What an adapter registers; `competitionModule` binds it as a RegisteredCompetition. */
export interface CompetitionRegistration extends Registration<CompetitionAdapter, CompetitionConfig> {
  /** Every Kaggle slug this adapter serves, with the options that select it. */
  readonly slugs: { readonly [slug: string]: Partial<CompetitionConfig> };
  /**
   * Other names of the default edition, run and scored as its Kaggle slug (e.g. a name simkit once used where Kaggle's
   * slug differs); using one says which slug it stands for.
   */
  readonly aliases?: readonly string[];
}

/**
 * What the container holds under TOKENS.Competition (core/competition/module.ts): the adapter's registration, whose
 * `create` completes the adapter with its task strategy's tables, found through `components`.
 */
export interface RegisteredCompetition extends CompetitionRegistration {
  create(options?: Partial<CompetitionConfig>, components?: Components): Competition;
}

/** File name of the hidden test truth a generated sample writes next to Kaggle's files. */
export const SAMPLE_SOLUTION_FILE = 'solution.csv';

/**
 * Kaggle's sample submission, which Kaggle ships beside the data and a generated sample writes
 * too: a run scores it as a baseline (its first row's answer on every validation row, and the file
 * itself against the sample's hidden truth).
 */
export const SAMPLE_SUBMISSION_FILE = 'sample_submission.csv';
