import type { CompetitionConfig, ModelSpec } from '../contracts/competition.js';
import { InputError } from '../errors.js';
import { trainingConfig } from './config.js';

/** What a number must be: an integer or any finite value, within bounds. */
interface NumberRule {
  readonly integer?: boolean;
  readonly min?: number;
  /** Exclusive lower bound. */
  readonly above?: number;
  readonly max?: number;
  /** Exclusive upper bound. */
  readonly below?: number;
}

/** The rule as words: "an integer ≥ 1", "a number > 0 and < 1". */
export function describeRule(rule: NumberRule): string {
  const bounds = [
    rule.min === undefined ? undefined : `≥ ${rule.min}`,
    rule.above === undefined ? undefined : `> ${rule.above}`,
    rule.max === undefined ? undefined : `≤ ${rule.max}`,
    rule.below === undefined ? undefined : `< ${rule.below}`,
  ].filter(Boolean);
  return `${rule.integer ? 'an integer' : 'a number'}${bounds.length > 0 ? ` ${bounds.join(' and ')}` : ''}`;
}

/** Whether `value` satisfies `rule` (a finite number, an integer where asked, within bounds). */
export function satisfies(value: unknown, rule: NumberRule): value is number {
  return (
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!rule.integer || Number.isSafeInteger(value)) &&
    (rule.min === undefined || value >= rule.min) &&
    (rule.above === undefined || value > rule.above) &&
    (rule.max === undefined || value <= rule.max) &&
    (rule.below === undefined || value < rule.below)
  );
}

export const POSITIVE_INTEGER: NumberRule = { integer: true, min: 1 };
export const SEED: NumberRule = { integer: true, min: 0, max: 2 ** 32 - 1 };
const NON_NEGATIVE_INTEGER: NumberRule = { integer: true, min: 0 };
const POSITIVE: NumberRule = { above: 0 };
const NON_NEGATIVE: NumberRule = { min: 0 };

const MODEL_RULES: readonly [string, NumberRule][] = [
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
];

const RUN_RULES: readonly [string, NumberRule][] = [
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

function check(value: object, rules: readonly [string, NumberRule][], source: string, prefix: string): void {
  for (const [path, rule] of rules) {
    const found = at(value, path);
    if (!satisfies(found, rule))
      throw new InputError(
        source,
        undefined,
        `${prefix}${path}`,
        `expected ${describeRule(rule)}, got ${JSON.stringify(found) ?? 'nothing'}`,
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
