import type { MetricAccumulator, MetricDefinition } from '../contracts/metric.js';
import { expected, parsed, splitTokens } from './tokens.js';

/** One prediction per image: a class and its confidence (landmark recognition). */
export interface LabelConfidence {
  readonly label: string;
  readonly confidence: number;
}

/**
 * Global Average Precision (micro AP) of landmark recognition. All predictions (one per image) are
 * sorted by confidence descending, ties by image id ascending then class ascending (string order);
 * GAP = (1/M) Σ_i P(i)·rel(i), M = number of images whose truth is non-empty. Images without a
 * prediction only count in M. A prediction is correct when its class is one of the image's truth ids.
 */
export class GapAccumulator implements MetricAccumulator<readonly string[], LabelConfidence | null> {
  private readonly confidences: number[] = [];
  private readonly correct: boolean[] = [];
  private readonly ids: string[] = [];
  private readonly labels: string[] = [];
  private imagesWithTruth = 0;

  add(id: string, truth: readonly string[], prediction: LabelConfidence | null): void {
    if (truth.length > 0) this.imagesWithTruth += 1;
    if (prediction === null) return;
    this.confidences.push(prediction.confidence);
    this.correct.push(truth.includes(prediction.label));
    this.ids.push(id);
    this.labels.push(prediction.label);
  }

  result(): number | null {
    if (this.imagesWithTruth === 0) return null;
    const { confidences, ids, labels, correct } = this;
    const order = Array.from({ length: confidences.length }, (_, i) => i);
    order.sort(
      (a, b) =>
        confidences[b]! - confidences[a]! || compareStrings(ids[a]!, ids[b]!) || compareStrings(labels[a]!, labels[b]!),
    );
    let hits = 0;
    let sum = 0;
    order.forEach((index, rank) => {
      if (!correct[index]) return;
      hits += 1;
      sum += hits / (rank + 1);
    });
    return sum / this.imagesWithTruth;
  }
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A finite decimal number (`0.5`, `.5`, `5`, `-1e-3`); no hex, `Infinity` or `NaN`. */
const DECIMAL_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const PREDICTION_FORMAT = 'empty, or "<landmark_id> <confidence>" with a finite confidence';

/** Parses `<label> <confidence>` or an empty cell (no prediction). */
export function parseLabelConfidence(cell: string) {
  const tokens = splitTokens(cell);
  if (tokens.length === 0) return parsed<LabelConfidence | null>(null);
  if (tokens.length !== 2) return expected<LabelConfidence | null>(PREDICTION_FORMAT);
  // `1e309` is a decimal number too, but it overflows to Infinity: only finite values pass.
  const confidence = Number(tokens[1]);
  if (!DECIMAL_NUMBER.test(tokens[1]!) || !Number.isFinite(confidence))
    return expected<LabelConfidence | null>(PREDICTION_FORMAT);
  return parsed<LabelConfidence | null>({ label: tokens[0]!, confidence });
}

export function gapMetric(): MetricDefinition<readonly string[], LabelConfidence | null> {
  return {
    name: 'GAP',
    higherIsBetter: true,
    predictionFormat: PREDICTION_FORMAT,
    parseTruth: (cell) => parsed(splitTokens(cell)),
    parsePrediction: parseLabelConfidence,
    createAccumulator: () => new GapAccumulator(),
  };
}
