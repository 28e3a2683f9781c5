import type { MetricAccumulator, MetricDefinition } from '../contracts/metric.js';

/**
 * Accumulator of metrics that are a mean of per-row scores. `rowScore` returns null for a row that
 * does not count (it is left out of both the sum and the count).
 */
export function meanOfRows<Truth, Prediction>(
  rowScore: (truth: Truth, prediction: Prediction) => number | null,
): () => MetricAccumulator<Truth, Prediction> {
  return () => {
    let sum = 0;
    let count = 0;
    return {
      add(_id, truth, prediction) {
        const score = rowScore(truth, prediction);
        if (score === null) return;
        sum += score;
        count += 1;
      },
      result: () => (count === 0 ? null : sum / count),
    };
  };
}

/** A metric over already parsed rows `[id, truth, prediction]`: the same accumulator the scorer uses. */
export function evaluateMetric<Truth, Prediction>(
  metric: MetricDefinition<Truth, Prediction>,
  rows: Iterable<readonly [id: string, truth: Truth, prediction: Prediction]>,
): number | null {
  const accumulator = metric.createAccumulator();
  for (const [id, truth, prediction] of rows) accumulator.add(id, truth, prediction);
  return accumulator.result();
}
