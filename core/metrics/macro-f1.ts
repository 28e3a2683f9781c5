import type { MetricAccumulator, MetricDefinition } from '../contracts/metric.js';
import { isIntegerToken, tokenList } from './tokens.js';

/**
 * Macro F1 with scikit-learn's `average="macro"` semantics: per class F1 = 2·TP / (2·TP + FP + FN),
 * 0 when the class has no true and no predicted sample; the unweighted mean over the classes.
 * Rows hold sets of labels (one label each for single-label data).
 * - `classes` given: the mean runs over exactly these classes (Protein Atlas: 28).
 * - `classes` absent: over the union of labels seen in truth and prediction (Herbarium), so a
 *   predicted label absent from the truth adds a class with F1 0.
 */
export class MacroF1Accumulator implements MetricAccumulator<readonly string[], readonly string[]> {
  private readonly truePositives = new Map<string, number>();
  private readonly falsePositives = new Map<string, number>();
  private readonly falseNegatives = new Map<string, number>();
  private rows = 0;

  constructor(private readonly classes?: readonly string[]) {}

  add(_id: string, truth: readonly string[], prediction: readonly string[]): void {
    this.rows += 1;
    const truthSet = new Set(truth);
    const predictedSet = new Set(prediction);
    for (const label of predictedSet) increment(truthSet.has(label) ? this.truePositives : this.falsePositives, label);
    for (const label of truthSet) if (!predictedSet.has(label)) increment(this.falseNegatives, label);
  }

  result(): number | null {
    if (this.rows === 0) return null;
    const classes = this.classes ?? [
      ...new Set([...this.truePositives.keys(), ...this.falsePositives.keys(), ...this.falseNegatives.keys()]),
    ];
    if (classes.length === 0) return null;
    let sum = 0;
    for (const label of classes) {
      const tp = this.truePositives.get(label) ?? 0;
      const denominator = 2 * tp + (this.falsePositives.get(label) ?? 0) + (this.falseNegatives.get(label) ?? 0);
      sum += denominator === 0 ? 0 : (2 * tp) / denominator;
    }
    return sum / classes.length;
  }
}

function increment(counts: Map<string, number>, label: string): void {
  counts.set(label, (counts.get(label) ?? 0) + 1);
}

/** Herbarium 2020-2022: exactly one integer category id per row, macro F1 over the union of labels. */
export function singleLabelMacroF1Metric(): MetricDefinition<readonly string[], readonly string[]> {
  const describe = 'exactly one integer category id';
  return {
    name: 'macro F1',
    higherIsBetter: true,
    predictionFormat: describe,
    parseTruth: (cell) => tokenList(cell, { min: 1, max: 1, valid: isIntegerToken, describe }),
    parsePrediction: (cell) => tokenList(cell, { min: 1, max: 1, valid: isIntegerToken, describe }),
    createAccumulator: () => new MacroF1Accumulator(),
  };
}

/** Protein Atlas: space-separated class numbers 0..classCount-1 (possibly none), macro F1 over every class. */
export function multiLabelMacroF1Metric(classCount: number): MetricDefinition<readonly string[], readonly string[]> {
  const classes = Array.from({ length: classCount }, (_, i) => String(i));
  const known = new Set(classes);
  const describe = `space-separated class numbers from 0 to ${classCount - 1}`;
  const parse = (cell: string) => tokenList(cell, { valid: (token) => known.has(token), describe });
  return {
    name: 'macro F1',
    higherIsBetter: true,
    predictionFormat: describe,
    parseTruth: parse,
    parsePrediction: parse,
    createAccumulator: () => new MacroF1Accumulator(classes),
  };
}
