import type { CompetitionConfig, ImageModelConfig, ImageSizeStep } from '../contracts/competition.js';
import { InputError } from '../errors.js';
import type { NumberRule, OptionRange } from '../contracts/registration.js';
import { describeRange, describeRule, fitsRange, satisfies, showValue } from '../di/option-ranges.js';
import { trainingConfig } from './config.js';
import { ENSEMBLE, checkEnsemble } from './ensemble.js';

export { describeRule, satisfies };

export const POSITIVE_INTEGER: NumberRule = { integer: true, min: 1 };
export const SEED: NumberRule = { integer: true, min: 0, max: 2 ** 32 - 1 };
const NON_NEGATIVE_INTEGER: NumberRule = { integer: true, min: 0 };
const POSITIVE: NumberRule = { above: 0 };
const NON_NEGATIVE: NumberRule = { min: 0 };

const MODEL_RULES: readonly [string, OptionRange][] = [
  ['embeddingSize', POSITIVE_INTEGER],
  ['epochs', POSITIVE_INTEGER],
  ['batchSize', POSITIVE_INTEGER],
  ['learningRate', POSITIVE],
  ['training.momentum', { min: 0, below: 1 }],
  ['training.weightDecay', NON_NEGATIVE],
  ['training.warmupEpochs', NON_NEGATIVE_INTEGER],
  ['training.headLearningRateFactor', POSITIVE],
  ['training.clipNorm', NON_NEGATIVE],
  ['training.keepCheckpoints', POSITIVE_INTEGER],
  ['training.earlyStopping.patience', NON_NEGATIVE_INTEGER],
  ['training.earlyStopping.minDelta', NON_NEGATIVE],
  ['training.augment.rotate', { min: 0, max: 180, optional: true }],
  ['training.augment.crop.scale', { above: 0, max: 1, pair: true, optional: true }],
  ['training.augment.crop.ratio', { above: 0, pair: true, optional: true }],
  ['training.augment.colorJitter.brightness', { min: 0, optional: true }],
  ['training.augment.colorJitter.contrast', { min: 0, optional: true }],
  ['training.augment.colorJitter.saturation', { min: 0, optional: true }],
  ['training.augment.cutout.size', { above: 0, max: 1, optional: true }],
  ['training.augment.cutout.count', { integer: true, min: 0, optional: true }],
];

const INPUT_RULES: Readonly<Record<string, readonly [string, OptionRange][]>> = {
  image: [
    ['imageSize', POSITIVE_INTEGER],
    ['tta.sizes', { ...POSITIVE_INTEGER, each: true, optional: true }],
    ['tta.cropScale', { above: 0, max: 1, optional: true }],
  ],
  text: [['maxTokens', POSITIVE_INTEGER]],
};

const COMPONENTS = ['backbone', 'head', 'loss', 'sampler'] as const;

/** A model name is a folder of the run and a word in post-processor options. */
const MODEL_NAME = /^[a-z][a-z0-9-]*$/;

const RUN_RULES: readonly [string, OptionRange][] = [
  ['neighbours', POSITIVE_INTEGER],
  ['validation.fraction', { above: 0, below: 1 }],
  ['folds.count', { ...POSITIVE_INTEGER, optional: true }],
  ['pseudoLabels.precision', { above: 0, max: 1, optional: true }],
  ['pseudoLabels.maxClusterSize', { integer: true, min: 2, optional: true }],
];

function at(value: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (node, key) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined),
      value,
    );
}

function check(value: object, rules: readonly [string, OptionRange][], source: string, prefix: string): void {
  for (const [path, rule] of rules) {
    const found = at(value, path);
    if (!fitsRange(found, rule))
      throw new InputError(
        source,
        undefined,
        `${prefix}${path}`,
        `expected ${describeRange(rule)}, got ${showValue(found)}`,
      );
  }
}

/** Refuses a model that is not a complete model of a known input kind. */
function checkModelShape(model: unknown, source: string, prefix: string): void {
  const fields = (model ?? {}) as Record<string, unknown>;
  if (typeof model !== 'object' || model === null || !(String(fields.input) in INPUT_RULES))
    throw new InputError(
      source,
      undefined,
      `${prefix}input`,
      `expected ${Object.keys(INPUT_RULES).join(' or ')}, got ${JSON.stringify(fields.input) ?? 'nothing'}`,
    );
  for (const key of COMPONENTS) {
    const choice = fields[key] as { name?: unknown } | undefined;
    if (typeof choice?.name !== 'string')
      throw new InputError(
        source,
        undefined,
        `${prefix}${key}`,
        'expected a component: { name: <registered name>, options: {…} }',
      );
  }
}

/** Refuses an image model's progressive sizes and test-time crops that cannot be run. */
function checkImageModel(model: ImageModelConfig, source: string, prefix: string): void {
  const refuse = (key: string, message: string): never => {
    throw new InputError(source, undefined, `${prefix}${key}`, message);
  };
  const crops = model.tta?.crops;
  if (crops !== undefined && crops !== 0 && crops !== 1 && crops !== 5)
    refuse('tta.crops', `expected 0 (none), 1 (the centre) or 5 (the centre and corners), got ${showValue(crops)}`);
  const steps: unknown = model.progressiveSizes ?? [];
  if (!Array.isArray(steps)) return refuse('progressiveSizes', 'expected a list: [{ until: 3, size: 48 }, …]');
  let previous = 0;
  steps.forEach((step: Partial<ImageSizeStep> | null, i) => {
    const { until, size } = step ?? {};
    if (!satisfies(until, POSITIVE_INTEGER) || until <= previous)
      return refuse(`progressiveSizes.${i}.until`, `expected an epoch after ${previous}, got ${showValue(until)}`);
    if (until >= model.epochs)
      refuse(
        `progressiveSizes.${i}.until`,
        `epoch ${until} leaves no epoch of the ${model.epochs} at imageSize ${model.imageSize}, the size the model embeds at`,
      );
    if (!satisfies(size, POSITIVE_INTEGER))
      refuse(`progressiveSizes.${i}.size`, `expected an image side in pixels, got ${showValue(size)}`);
    previous = until;
  });
}

/**
 * Refuses a config whose numbers cannot make a run (epochs 0, a negative batch size, a NaN seed)
 * or whose models are misnamed or incomplete, before any work starts, naming where the value came from and the key.
 */
export function checkConfig(config: CompetitionConfig, source: string): void {
  check(config, RUN_RULES, source, '');
  const names = Object.keys(config.models ?? {});
  if (names.length === 0)
    throw new InputError(
      source,
      undefined,
      'models',
      'expected at least one model: models: { image: { input: image, … } }',
    );
  for (const name of names) {
    const prefix = `models.${name}.`;
    if (!MODEL_NAME.test(name))
      throw new InputError(
        source,
        undefined,
        `models.${name}`,
        'a model name is lower-case letters, digits and dashes',
      );
    const model = config.models[name]!;
    checkModelShape(model, source, prefix);
    check(
      { ...model, training: trainingConfig(model) },
      [...MODEL_RULES, ...INPUT_RULES[model.input]!],
      source,
      prefix,
    );
    if (model.input === 'image') checkImageModel(model, source, prefix);
    const precision = trainingConfig(model).precision;
    if (precision !== 'f32' && precision !== 'bf16')
      throw new InputError(
        source,
        undefined,
        `${prefix}training.precision`,
        `expected f32 or bf16, got ${showValue(precision)}`,
      );
  }
  const final = config.folds?.final;
  if (final !== undefined && final !== 'folds' && final !== 'full')
    throw new InputError(source, undefined, 'folds.final', `expected folds or full, got ${JSON.stringify(final)}`);
  if (config.search !== undefined && config.search !== ENSEMBLE && !names.includes(config.search))
    throw new InputError(
      source,
      undefined,
      'search',
      `expected one of the models (${names.join(', ')}) or ${ENSEMBLE}, got ${JSON.stringify(config.search)}`,
    );
  checkEnsemble(config, source);
}
