import type { NumberRule, OptionRange } from '../contracts/registration.js';

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

export function describeRange(range: OptionRange): string {
  const rule = describeRule(range);
  if (range.pair) return `[low, high] with low ≤ high, each ${rule}`;
  if (range.each) return `a list of numbers, each ${rule}`;
  return rule;
}

/** Whether an option's value fits its declared range. */
export function fitsRange(value: unknown, range: OptionRange): boolean {
  if (range.optional && (value === undefined || value === null)) return true;
  if (range.pair)
    return (
      Array.isArray(value) &&
      value.length === 2 &&
      value.every((entry) => satisfies(entry, range)) &&
      (value[0] as number) <= (value[1] as number)
    );
  if (range.each) return Array.isArray(value) && value.every((entry) => satisfies(entry, range));
  return satisfies(value, range);
}

/** A value as a message shows it: non-finite numbers by name (YAML's .inf and .nan), not as JSON's null. */
export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  return JSON.stringify(value, (_, entry: unknown) =>
    typeof entry === 'number' && !Number.isFinite(entry) ? String(entry) : entry,
  ).replace(/"(-?Infinity|NaN)"/g, '$1');
}

/** The first option of `options` outside its range, as "<option>: expected …, got …"; undefined when all fit. */
export function outOfRange(
  options: Readonly<Record<string, unknown>>,
  ranges: Readonly<Record<string, OptionRange | undefined>>,
): { option: string; problem: string } | undefined {
  for (const [option, range] of Object.entries(ranges)) {
    if (!range || fitsRange(options[option], range)) continue;
    return {
      option,
      problem: `expected ${describeRange(range)}, got ${showValue(options[option])}`,
    };
  }
  return undefined;
}

/** A dropout rate: the share of units dropped, 0 (none) up to but not including 1. */
export const DROPOUT: OptionRange = { min: 0, below: 1 };
