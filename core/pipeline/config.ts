import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { refuseDuplicateKeys } from '../data/duplicate-keys.js';
import type {
  CompetitionConfig,
  FoldsConfig,
  Json,
  ModelConfig,
  PseudoLabelsConfig,
  TrainingConfig,
  TtaConfig,
} from '../contracts/competition.js';
import { InputError, UserError } from '../errors.js';

export type JsonObject = { readonly [key: string]: Json };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads a JSON or YAML config file (by extension; YAML is a superset of JSON). */
export async function loadConfigFile(path: string): Promise<JsonObject> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UserError(
      `cannot read config ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  let value: unknown;
  try {
    value = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    const line = (error as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    throw new InputError(
      path,
      line,
      undefined,
      `not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  if (path.endsWith('.json')) refuseDuplicateKeys(path, text);
  if (!isObject(value))
    throw new InputError(path, undefined, undefined, 'expected a mapping of config keys at the top level');
  return value;
}

/**
 * `base` with `override` applied: objects merge key by key, anything else is replaced. A key that
 * `base` lacks, or a value of another type, is refused with its dotted path, so a typo never
 * silently leaves a default in place. Component `options` objects accept new keys (a plugin's
 * option may have no default listed).
 */
export function mergeConfig<T>(base: T, override: JsonObject, source: string, path = ''): T {
  if (!isObject(base)) throw new UserError(`${source}: ${path || 'config'} cannot be overridden with a mapping`);
  const result: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  const open = path.endsWith('options') || path === 'tune' || path.endsWith('augment') || path === 'models';
  if (path === '') refuseLegacyKeys(override, source);
  for (const [key, value] of Object.entries(override)) {
    const here = path ? `${path}.${key}` : key;
    if (!(key in result)) {
      if (open) {
        result[key] = value;
        continue;
      }
      throw new InputError(
        source,
        undefined,
        here,
        `unknown config key; known keys here: ${Object.keys(result).join(', ')}`,
      );
    }
    const current = result[key];
    if (
      isObject(current) &&
      isObject(value) &&
      typeof current.name === 'string' &&
      typeof value.name === 'string' &&
      value.name !== current.name
    ) {
      // Another component: its options start from its own defaults, not the replaced one's.
      result[key] = { options: {}, ...value };
    } else if (isObject(current) && isObject(value)) {
      result[key] = mergeConfig(current, value, source, here);
    } else if (
      current !== undefined &&
      current !== null &&
      value !== null &&
      Array.isArray(current) !== Array.isArray(value)
    ) {
      throw new InputError(source, undefined, here, `expected ${Array.isArray(current) ? 'a list' : typeof current}`);
    } else if (typeof current !== 'object' && current !== undefined && typeof value !== typeof current) {
      throw new InputError(source, undefined, here, `expected a ${typeof current}, got ${JSON.stringify(value)}`);
    } else {
      result[key] = value;
    }
  }
  return result as T;
}

/** The training loop's defaults; a competition's `training` overrides some of them. */
export const DEFAULT_TRAINING: TrainingConfig = {
  optimizer: 'adam',
  momentum: 0.9,
  weightDecay: 0.01,
  warmupEpochs: 1,
  headLearningRateFactor: 10,
  clipNorm: 5,
  augment: { flip: true },
  earlyStopping: { patience: 0, metric: 'MAP@R', minDelta: 0 },
  keepCheckpoints: 2,
  fineTuning: null,
  precision: 'f32',
};

/** The miner of a config without one: every pair or triplet of the batch. */
export const NO_MINER_CHOICE = { name: 'none', options: {} } as const;

/** The training settings of a config, every default filled in. */
export function trainingConfig(config: { readonly training?: Partial<TrainingConfig> }): TrainingConfig {
  return { ...DEFAULT_TRAINING, ...config.training };
}

/** Top-level keys of configs before named models, and where each went. */
const MODEL_KEYS = [
  'imageSize',
  'backbone',
  'head',
  'loss',
  'miner',
  'sampler',
  'embeddingSize',
  'epochs',
  'batchSize',
  'learningRate',
  'training',
];

/**
 * A config written for the single image model (top-level `imageSize`, `backbone`, … or `textModel`) is refused
 * with the same settings in the new form, so that the fix can be copied.
 */
function refuseLegacyKeys(override: JsonObject, source: string): void {
  const { textModel, ...rest } = override;
  const imageKeys = Object.fromEntries(Object.entries(rest).filter(([key]) => MODEL_KEYS.includes(key)));
  const models = {
    ...(Object.keys(imageKeys).length > 0 ? { image: imageKeys } : {}),
    ...(textModel !== undefined ? { text: { input: 'text', ...(isObject(textModel) ? textModel : {}) } } : {}),
  };
  const moved = Object.keys(models).length;
  if (moved === 0) return;
  const keys = [...Object.keys(imageKeys), ...(textModel !== undefined ? ['textModel'] : [])];
  throw new InputError(
    source,
    undefined,
    keys[0],
    `${keys.join(', ')} now belong to a named model; write ${JSON.stringify({ models })} ` +
      '(`--print-config` shows every model and its keys)',
  );
}

/** Test-time augmentation off: each item embedded once, as it is. */
export const NO_TTA: TtaConfig = { flip: false, sizes: [], crops: 0, cropScale: 0.875 };

/**
 * The settings every model lists in an effective config: its miner and training loop (and an image model's
 * progressive sizes and test-time augmentation), defaults filled in.
 */
function completeModel(model: ModelConfig): ModelConfig {
  const common = { miner: model.miner ?? NO_MINER_CHOICE, training: trainingConfig(model) };
  if (model.input !== 'image') return { ...model, ...common };
  return { ...model, ...common, progressiveSizes: model.progressiveSizes ?? [], tta: { ...NO_TTA, ...model.tta } };
}

/** Cross-validation off: one split for validation. */
export const NO_FOLDS: FoldsConfig = { count: 1, final: 'folds' };

export const PSEUDO_LABEL_DEFAULTS: PseudoLabelsConfig = { enabled: false, precision: 0.95, maxClusterSize: 50 };

/**
 * The config with every model's defaults filled in, the search model named (default: the first model), the ensemble
 * listed (null: none), and the run-level techniques (folds, pseudo-labels) with their defaults.
 */
export function completeConfig(config: CompetitionConfig): CompetitionConfig {
  const models = Object.fromEntries(Object.entries(config.models).map(([name, model]) => [name, completeModel(model)]));
  return {
    ...config,
    models,
    search: config.search ?? Object.keys(models)[0],
    ensemble: config.ensemble ?? null,
    folds: { ...NO_FOLDS, ...config.folds },
    pseudoLabels: { ...PSEUDO_LABEL_DEFAULTS, ...config.pseudoLabels },
  };
}

/**
 * The effective config: the adapter's defaults, then the Kaggle slug's options, then a config file
 * (`overrides`, already read, when the caller took its own keys out of the file first).
 */
export async function resolveConfig(
  defaults: CompetitionConfig,
  slugOptions: Partial<CompetitionConfig>,
  configFile?: string,
  overrides?: JsonObject,
): Promise<CompetitionConfig> {
  const complete = completeConfig({ ...defaults, ...slugOptions });
  if (!configFile) return complete;
  return completeConfig(mergeConfig(complete, overrides ?? (await loadConfigFile(configFile)), configFile));
}
