import type { MetricDefinition } from '../contracts/metric.js';
import { meanOfRows } from './accumulate.js';
import { tokenList } from './tokens.js';

/** F1 = 2|P∩T| / (|P|+|T|) with P and T as sets (duplicates removed); 0 when P is empty. */
export function f1Score(truth: readonly string[], predicted: readonly string[]): number {
  const truthSet = new Set(truth);
  const predictedSet = new Set(predicted);
  if (predictedSet.size === 0 || truthSet.size === 0) return 0;
  let common = 0;
  for (const id of predictedSet) if (truthSet.has(id)) common += 1;
  return (2 * common) / (predictedSet.size + truthSet.size);
}

/**
 * Shopee's metric: mean over rows of the F1 of the predicted matches against the row's group
 * (the posting itself included). A prediction holds at most `maxMatches` ids.
 */
export function meanF1Metric(options: { maxMatches: number }): MetricDefinition<string[], string[]> {
  const describe = `up to ${options.maxMatches} space-separated ids`;
  return {
    name: 'mean F1',
    higherIsBetter: true,
    predictionFormat: describe,
    parseTruth: (cell) => tokenList(cell, { min: 1, describe: 'one or more space-separated ids' }),
    parsePrediction: (cell) => tokenList(cell, { max: options.maxMatches, describe }),
    createAccumulator: meanOfRows(f1Score),
  };
}
