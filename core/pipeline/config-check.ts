import type { CompetitionConfig, ModelSpec } from '../contracts/competition.js';
import { InputError } from '../errors.js';
import type { NumberRule, OptionRange } from '../contracts/registration.js';
import { describeRange, describeRule, fitsRange, satisfies, showValue } from '../di/option-ranges.js';
import { trainingConfig } from './config.js';

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

const RUN_RULES: readonly [string, OptionRange][] = [
  ['imageSize', POSITIVE_INTEGER],
  ['neighbours', POSITIVE_INTEGER],
  ['validation.fraction', { above: 0, below: 1 }],
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

/**
 * Refuses a config whose numbers cannot make a run (epochs 0, a negative batch size, a NaN seed)
 * before any work starts, naming where the value came from and the key.
 */
export function checkConfig(config: CompetitionConfig, source: string): void {
  check(config, RUN_RULES, source, '');
  const models: [string, ModelSpec][] = [
    ['', config],
    ...(config.textModel ? [['textModel.', config.textModel] as [string, ModelSpec]] : []),
  ];
  for (const [prefix, spec] of models) check({ ...spec, training: trainingConfig(spec) }, MODEL_RULES, source, prefix);
}
