import type { MetricDefinition } from '../../core/contracts/metric.js';
import { meanOfRows } from '../../core/metrics/accumulate.js';
import { top1Error } from '../../core/metrics/top1-error.js';
import { tokenList } from '../../core/metrics/tokens.js';

/** Share of rows whose (single) predicted label is the true one (higher is better). */
export function accuracyMetric(): MetricDefinition<string, string[]> {
  return {
    name: 'accuracy',
    higherIsBetter: true,
    predictionFormat: 'exactly one label',
    parseTruth: (cell) => {
      const tokens = tokenList(cell, { min: 1, max: 1, describe: 'exactly one label' });
      return tokens.ok ? { ok: true, value: tokens.value[0]! } : tokens;
    },
    parsePrediction: (cell) => tokenList(cell, { min: 1, max: 1, describe: 'exactly one label' }),
    createAccumulator: meanOfRows((truth: string, predicted: string[]) => 1 - top1Error(truth, predicted)),
  };
}
