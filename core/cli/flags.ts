import { InvalidArgumentError } from 'commander';
import { describeRule, satisfies } from '../pipeline/config-check.js';

type Rule = Parameters<typeof satisfies>[1];

/**
 * A commander parser for a numeric flag: the whole text must be a number that satisfies `rule`
 * (`--epochs 3abc`, `--epochs 0` or `--seed NaN` are usage errors, exit 2, before any work).
 */
export function numberFlag(rule: Rule): (text: string) => number {
  return (text) => {
    const value = text.trim() === '' ? Number.NaN : Number(text);
    if (!satisfies(value, rule)) throw new InvalidArgumentError(`expected ${describeRule(rule)}.`);
    return value;
  };
}

/** A commander parser for a path flag: an empty value (`--out ''`) is a usage error, never the current folder. */
export function pathFlag(text: string): string {
  if (text.trim() === '') throw new InvalidArgumentError('expected a path, got an empty value.');
  return text;
}
