import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what survived its last full collection before the next one, in
 * percent. Left to itself V8 lets it grow up to four times that; tuning the post-processing applies the chain to every
 * validation query once per setting, those rows live long enough to be promoted, so the heap filled up to that limit
 * and tuning set a run's peak memory at about four times the live heap (bench/tune-memory.ts). At 50 % the peak
 * stays near 1.5 times the live heap; what it costs in time is measured in docs/scale.md.
 */
export const HEAP_GROWTH_PERCENT = 50;

/**
 * Holds this process's old-generation growth to HEAP_GROWTH_PERCENT, unless node was given its own
 * --heap-growing-percent. Set once at the start: V8 applies it from its next full collection on.
 */
export function limitHeapGrowth(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
): boolean {
  if ([...execArgv, nodeOptions].some((arg) => arg.includes('heap-growing-percent'))) return false;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWTH_PERCENT}`);
  return true;
}
