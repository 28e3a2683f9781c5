import type { Parsed } from '../contracts/metric.js';

/** Splits a cell into its space-separated tokens; runs of spaces and leading/trailing spaces are ignored. */
export function splitTokens(cell: string): string[] {
  const trimmed = cell.trim();
  return trimmed === '' ? [] : trimmed.split(/\s+/);
}

export function parsed<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

export function expected<T>(what: string): Parsed<T> {
  return { ok: false, expected: what };
}

/** Non-negative integer written in decimal digits (category ids); kept as a string, never cast. */
export function isIntegerToken(token: string): boolean {
  return /^\d+$/.test(token);
}

/** Space-separated tokens, at most `max` of them and each accepted by `valid` (when given). */
export function tokenList(
  cell: string,
  limits: { min?: number; max?: number; valid?: (token: string) => boolean; describe: string },
): Parsed<string[]> {
  const tokens = splitTokens(cell);
  if (tokens.length < (limits.min ?? 0) || tokens.length > (limits.max ?? Infinity)) return expected(limits.describe);
  if (limits.valid && !tokens.every(limits.valid)) return expected(limits.describe);
  return parsed(tokens);
}
