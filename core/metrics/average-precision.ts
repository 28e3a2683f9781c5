import type { MetricDefinition } from '../contracts/metric.js';
import { meanOfRows } from './accumulate.js';
import { tokenList } from './tokens.js';

/**
 * Σ_{i ≤ min(length, k)} P(i)·rel(i), where rel(i) = isHit(i - 1) and P(i) = hits among the first i
 * positions / i. Every average-precision variant divides this sum by its own denominator.
 */
export function sumOfPrecisionAtHits(length: number, k: number, isHit: (position: number) => boolean): number {
  let hits = 0;
  let sum = 0;
  const end = Math.min(length, k);
  for (let position = 0; position < end; position++) {
    if (!isHit(position)) continue;
    hits += 1;
    sum += hits / (position + 1);
  }
  return sum;
}

/**
 * AP@k = (1/min(|relevant|, k)) Σ_{i≤k} P(i)·rel(i). A repeated id earns nothing but still takes its
 * rank position; ids after position k are ignored. 0 when nothing is relevant.
 */
export function averagePrecisionAtK(relevant: ReadonlySet<string>, ranked: readonly string[], k: number): number {
  const denominator = Math.min(relevant.size, k);
  if (denominator === 0) return 0;
  const seen = new Set<string>();
  const sum = sumOfPrecisionAtHits(ranked.length, k, (position) => {
    const id = ranked[position]!;
    if (seen.has(id)) return false;
    seen.add(id);
    return relevant.has(id);
  });
  return sum / denominator;
}

/**
 * Mean AP@k over rows (MAP@5 of Hotel-ID and Humpback, mAP@100 of landmark retrieval).
 * - `overflow: 'error'`: a prediction with more than k ids is invalid (retrieval: at most 100 images).
 * - `overflow: 'ignore'`: only the first k count, the rest is ignored (MAP@5, as Kaggle's apk truncates).
 * - `emptyTruth: 'ignore'`: rows without a relevant item do not count (retrieval queries without
 *   relevant index images); `'invalid'`: every solution row must hold at least one label.
 */
export function meanAveragePrecisionMetric(options: {
  name: string;
  k: number;
  overflow: 'error' | 'ignore';
  emptyTruth: 'ignore' | 'invalid';
}): MetricDefinition<ReadonlySet<string>, string[]> {
  const { k } = options;
  const describe =
    options.overflow === 'error'
      ? `up to ${k} space-separated ids, best first`
      : `space-separated labels, best first (only the first ${k} count)`;
  return {
    name: options.name,
    higherIsBetter: true,
    predictionFormat: describe,
    counted: k,
    parseTruth: (cell) => {
      const tokens = tokenList(cell, {
        min: options.emptyTruth === 'invalid' ? 1 : 0,
        describe: 'one or more space-separated labels',
      });
      return tokens.ok ? { ok: true, value: new Set(tokens.value) } : tokens;
    },
    parsePrediction: (cell) => tokenList(cell, { max: options.overflow === 'error' ? k : undefined, describe }),
    createAccumulator: meanOfRows((relevant, ranked) =>
      relevant.size === 0 ? null : averagePrecisionAtK(relevant, ranked, k),
    ),
  };
}
