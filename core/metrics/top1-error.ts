import type { MetricDefinition } from '../contracts/metric.js';
import { meanOfRows } from './accumulate.js';
import { tokenList } from './tokens.js';

/** 1 when the first predicted label is not the true one, else 0; later labels never count. */
export function top1Error(truth: string, predicted: readonly string[]): number {
  return predicted[0] === truth ? 0 : 1;
}

/** Herbarium 2019: mean top-1 error (lower is better); the prediction is space-separated, only the first counts. */
export function meanTop1ErrorMetric(): MetricDefinition<string, string[]> {
  return {
    name: 'top-1 error',
    higherIsBetter: false,
    predictionFormat: 'one or more space-separated category ids (only the first counts)',
    counted: 1,
    parseTruth: (cell) => {
      const tokens = tokenList(cell, { min: 1, max: 1, describe: 'exactly one category id' });
      return tokens.ok ? { ok: true, value: tokens.value[0]! } : tokens;
    },
    parsePrediction: (cell) =>
      tokenList(cell, { min: 1, describe: 'one or more space-separated category ids (only the first counts)' }),
    createAccumulator: meanOfRows(top1Error),
  };
}
