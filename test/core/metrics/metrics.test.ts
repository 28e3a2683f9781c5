import { describe, expect, it } from 'vitest';
import { Random } from '../../../core/random.js';
import { evaluateMetric } from '../../../core/metrics/accumulate.js';
import { averagePrecisionAtK, meanAveragePrecisionMetric } from '../../../core/metrics/average-precision.js';
import { f1Score, meanF1Metric } from '../../../core/metrics/f1.js';
import { gapMetric, parseLabelConfidence, type LabelConfidence } from '../../../core/metrics/gap.js';
import { multiLabelMacroF1Metric, singleLabelMacroF1Metric } from '../../../core/metrics/macro-f1.js';
import { meanTop1ErrorMetric } from '../../../core/metrics/top1-error.js';

type GapRow = readonly [string, readonly string[], LabelConfidence | null];

function gapOf(truth: Record<string, string | null>, predictions: Record<string, [string, number]>): number | null {
  const rows: GapRow[] = Object.keys(truth).map((id) => {
    const p = predictions[id];
    return [id, truth[id] === null ? [] : [truth[id]!], p ? { label: p[0], confidence: p[1] } : null];
  });
  return evaluateMetric(gapMetric(), rows);
}

/** GAP written from its definition, independently of the accumulator. */
function referenceGap(rows: readonly GapRow[]): number {
  const m = rows.filter(([, truth]) => truth.length > 0).length;
  const predictions = rows
    .filter(([, , p]) => p !== null)
    .map(([id, truth, p]) => ({
      id,
      label: p!.label,
      confidence: p!.confidence,
      correct: truth.includes(p!.label) ? 1 : 0,
    }));
  predictions.sort((a, b) => {
    if (a.confidence !== b.confidence) return a.confidence > b.confidence ? -1 : 1;
    if (a.id !== b.id) return a.id < b.id ? -1 : 1;
    return a.label < b.label ? -1 : a.label > b.label ? 1 : 0;
  });
  let total = 0;
  for (let i = 0; i < predictions.length; i++) {
    if (!predictions[i]!.correct) continue;
    const correctSoFar = predictions.slice(0, i + 1).reduce((s, p) => s + p.correct, 0);
    total += correctSoFar / (i + 1);
  }
  return total / m;
}

/** Kaggle's apk (ml_metrics), transcribed: used for MAP@5 and mAP@100 on random data. */
function referenceApk(actual: readonly string[], predicted: readonly string[], k: number): number {
  const top = predicted.slice(0, k);
  let score = 0;
  let hits = 0;
  top.forEach((p, i) => {
    if (actual.includes(p) && !top.slice(0, i).includes(p)) {
      hits += 1;
      score += hits / (i + 1);
    }
  });
  return actual.length === 0 ? 0 : score / Math.min(new Set(actual).size, k);
}

/** sklearn's f1_score(average='macro') written out class by class over label lists. */
function referenceMacroF1(
  truth: readonly (readonly string[])[],
  predicted: readonly (readonly string[])[],
  classes: readonly string[],
): number {
  const perClass = classes.map((c) => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    truth.forEach((t, i) => {
      const inTruth = t.includes(c);
      const inPrediction = predicted[i]!.includes(c);
      if (inTruth && inPrediction) tp++;
      else if (inPrediction) fp++;
      else if (inTruth) fn++;
    });
    const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
    const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
    return precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  });
  return perClass.reduce((a, b) => a + b, 0) / classes.length;
}

function randomLabels(random: Random, count: number, vocabulary: number, prefix = 'L'): string[] {
  return Array.from({ length: count }, () => `${prefix}${random.int(vocabulary)}`);
}

describe('GAP', () => {
  it('matches the published test vectors', () => {
    expect(
      gapOf({ 1: '5', 2: '2', 3: '3', 4: '4' }, { 1: ['1', 0.9], 2: ['2', 0.4], 3: ['3', 0.5], 4: ['4', 0.8] }),
    ).toBe(0.47916666666666663);
    expect(gapOf({ 1: '1', 2: null, 3: null, 4: '4' }, { 1: ['1', 0.4], 2: ['2', 0.8], 4: ['4', 0.2] })).toBe(
      0.5833333333333333,
    );
    expect(gapOf({ 1: '1', 2: '2', 3: '3', 4: '4' }, { 2: ['2', 0.4] })).toBe(0.25);
  });

  it('breaks confidence ties by image id ascending', () => {
    // "a" is wrong and ranks before "b" at equal confidence: P(2) = 1/2, M = 2.
    expect(gapOf({ b: '1', a: '1' }, { b: ['1', 0.5], a: ['2', 0.5] })).toBe(0.25);
    expect(gapOf({ b: '1', a: '1' }, { b: ['2', 0.5], a: ['1', 0.5] })).toBe(0.5);
  });

  it('counts a prediction correct when it is any of several truth ids, and is null without landmark images', () => {
    expect(evaluateMetric(gapMetric(), [['x', ['3', '7'], { label: '7', confidence: 1 }]])).toBe(1);
    expect(evaluateMetric(gapMetric(), [['x', [], { label: '7', confidence: 1 }]])).toBeNull();
  });

  it('parses "<label> <confidence>" strictly', () => {
    expect(parseLabelConfidence('')).toEqual({ ok: true, value: null });
    expect(parseLabelConfidence(' 12  .5 ')).toEqual({ ok: true, value: { label: '12', confidence: 0.5 } });
    expect(parseLabelConfidence('12 1e-3')).toEqual({ ok: true, value: { label: '12', confidence: 0.001 } });
    for (const bad of ['12', '12 0.5 3', '12 inf', '12 Infinity', '12 NaN', '12 0x1', '12 1.2.3', '12 abc']) {
      expect(parseLabelConfidence(bad).ok, bad).toBe(false);
    }
  });

  it('agrees with a direct computation on random data with many ties and non-landmark images', () => {
    const random = new Random(7);
    for (let trial = 0; trial < 20; trial++) {
      const rows: GapRow[] = Array.from({ length: 200 }, (_, i) => {
        const truth = random.next() < 0.6 ? [] : randomLabels(random, 1 + random.int(2), 5);
        const prediction = random.next() < 0.2 ? null : { label: `L${random.int(5)}`, confidence: random.int(10) / 10 };
        return [`id${random.int(1000)}-${i}`, truth, prediction];
      });
      expect(evaluateMetric(gapMetric(), rows)).toBeCloseTo(referenceGap(rows), 12);
    }
  });
});

describe('mean F1 (Shopee)', () => {
  it('treats truth and prediction as sets and scores an empty prediction 0', () => {
    expect(f1Score(['a', 'b'], ['a', 'a', 'b'])).toBe(1);
    expect(f1Score(['a', 'b', 'c'], ['a', 'x'])).toBe((2 * 1) / (2 + 3));
    expect(f1Score(['a'], [])).toBe(0);
  });

  it('agrees with a direct computation on random data', () => {
    const random = new Random(11);
    const rows = Array.from(
      { length: 300 },
      (_, i) =>
        [`p${i}`, randomLabels(random, 1 + random.int(6), 12), randomLabels(random, random.int(8), 12)] as const,
    );
    const expected =
      rows.reduce((sum, [, t, p]) => {
        const truth = [...new Set(t)];
        const predicted = [...new Set(p)];
        const common = predicted.filter((x) => truth.includes(x)).length;
        return sum + (predicted.length === 0 ? 0 : (2 * common) / (truth.length + predicted.length));
      }, 0) / rows.length;
    expect(evaluateMetric(meanF1Metric({ maxMatches: 50 }), rows)).toBeCloseTo(expected, 12);
  });

  it('refuses more than 50 matches', () => {
    const metric = meanF1Metric({ maxMatches: 50 });
    expect(metric.parsePrediction(Array.from({ length: 50 }, (_, i) => `p${i}`).join(' ')).ok).toBe(true);
    expect(metric.parsePrediction(Array.from({ length: 51 }, (_, i) => `p${i}`).join(' ')).ok).toBe(false);
  });
});

describe('average precision at k (MAP@5, mAP@100)', () => {
  const mapAt5 = meanAveragePrecisionMetric({ name: 'MAP@5', k: 5, overflow: 'ignore', emptyTruth: 'invalid' });
  const mapAt100 = meanAveragePrecisionMetric({ name: 'mAP@100', k: 100, overflow: 'error', emptyTruth: 'ignore' });
  const ranked = (cell: string) => cell.split(' ');

  it("matches Kaggle's MAP@5 examples", () => {
    const relevant = new Set(['A']);
    expect(averagePrecisionAtK(relevant, ranked('A B C D E'), 5)).toBe(1);
    expect(averagePrecisionAtK(relevant, ranked('A A A A A'), 5)).toBe(1);
    expect(averagePrecisionAtK(relevant, ranked('A B A C A'), 5)).toBe(1);
    expect(averagePrecisionAtK(relevant, ranked('B A C D E'), 5)).toBe(0.5);
    expect(averagePrecisionAtK(relevant, ranked('B C D E F A'), 5)).toBe(0);
  });

  it('matches the mAP@100 examples', () => {
    expect(averagePrecisionAtK(new Set(['a', 'b', 'c']), ['a', 'x', 'b'], 100)).toBeCloseTo((1 + 2 / 3) / 3, 15);
    const relevant = Array.from({ length: 150 }, (_, i) => `r${i}`);
    expect(averagePrecisionAtK(new Set(relevant), relevant.slice(0, 100), 100)).toBe(1);
  });

  it('lets a repeated id take a rank without earning anything', () => {
    expect(averagePrecisionAtK(new Set(['a', 'b']), ['a', 'a', 'b'], 100)).toBeCloseTo((1 + 2 / 3) / 2, 15);
  });

  it('divides by min(#true, k) when fewer than k predictions are given', () => {
    expect(averagePrecisionAtK(new Set(['a', 'b']), ['b'], 5)).toBe(0.5);
    expect(averagePrecisionAtK(new Set(['a', 'b', 'c', 'd', 'e', 'f', 'g']), ['a', 'b', 'c', 'd', 'e'], 5)).toBe(1);
  });

  it('ignores retrieval queries without relevant images; MAP@5 requires a true label', () => {
    expect(
      evaluateMetric(mapAt100, [
        ['q1', new Set<string>(), ['a']],
        ['q2', new Set(['a']), ['x', 'a']],
      ]),
    ).toBe(0.5);
    expect(mapAt100.parseTruth('').ok).toBe(true);
    expect(mapAt5.parseTruth('').ok).toBe(false);
  });

  it('refuses more than 100 retrieval ids and ignores labels after the fifth for MAP@5', () => {
    expect(mapAt100.parsePrediction(Array.from({ length: 101 }, (_, i) => `i${i}`).join(' ')).ok).toBe(false);
    const six = mapAt5.parsePrediction('B C D E F A');
    expect(six.ok).toBe(true);
    expect(evaluateMetric(mapAt5, [['x', new Set(['A']), six.ok ? six.value : []]])).toBe(0);
  });

  it("agrees with Kaggle's apk on random data", () => {
    const random = new Random(3);
    for (const [metric, k] of [
      [mapAt5, 5],
      [mapAt100, 100],
    ] as const) {
      const rows = Array.from({ length: 300 }, (_, i) => {
        const truth = randomLabels(random, 1 + random.int(k === 5 ? 3 : 120), 40);
        return [`q${i}`, truth, randomLabels(random, random.int(k + 1), 40)] as const;
      });
      const expected = rows.reduce((sum, [, t, p]) => sum + referenceApk(t, p, k), 0) / rows.length;
      expect(
        evaluateMetric(
          metric,
          rows.map(([id, t, p]) => [id, new Set(t), p] as const),
        ),
      ).toBeCloseTo(expected, 12);
    }
  });
});

describe('macro F1', () => {
  it('single-label: a predicted label absent from the truth adds a class with F1 0', () => {
    const rows = [
      ['a', ['1'], ['1']],
      ['b', ['1'], ['1']],
      ['c', ['2'], ['3']],
    ] as const;
    expect(evaluateMetric(singleLabelMacroF1Metric(), rows)).toBeCloseTo(1 / 3, 15);
  });

  it('multi-label: every one of the 28 classes counts, a class with no true and no predicted sample as 0', () => {
    expect(evaluateMetric(multiLabelMacroF1Metric(28), [['a', ['0'], ['0']]])).toBeCloseTo(1 / 28, 15);
  });

  it('validates tokens', () => {
    const single = singleLabelMacroF1Metric();
    expect(single.parsePrediction('12').ok).toBe(true);
    for (const bad of ['', '1 2', 'x', '1.5']) expect(single.parsePrediction(bad).ok, bad).toBe(false);
    const multi = multiLabelMacroF1Metric(28);
    expect(multi.parsePrediction('').ok).toBe(true);
    expect(multi.parsePrediction('0 27 5').ok).toBe(true);
    for (const bad of ['28', '-1', '01', 'a']) expect(multi.parsePrediction(bad).ok, bad).toBe(false);
  });

  it("agrees with sklearn's definition on random data", () => {
    const random = new Random(5);
    const single = Array.from(
      { length: 400 },
      (_, i) => [`s${i}`, [String(random.int(30))], [String(random.int(35))]] as const,
    );
    const singleClasses = [...new Set(single.flatMap(([, t, p]) => [...t, ...p]))];
    expect(evaluateMetric(singleLabelMacroF1Metric(), single)).toBeCloseTo(
      referenceMacroF1(
        single.map((r) => r[1]),
        single.map((r) => r[2]),
        singleClasses,
      ),
      12,
    );

    const classes = Array.from({ length: 28 }, (_, i) => String(i));
    const multi = Array.from(
      { length: 400 },
      (_, i) =>
        [
          `m${i}`,
          randomLabels(random, 1 + random.int(3), 20, ''),
          randomLabels(random, random.int(4), 20, ''),
        ] as const,
    );
    expect(evaluateMetric(multiLabelMacroF1Metric(28), multi)).toBeCloseTo(
      referenceMacroF1(
        multi.map((r) => r[1]),
        multi.map((r) => r[2]),
        classes,
      ),
      12,
    );
  });
});

describe('mean top-1 error (Herbarium 2019)', () => {
  it('counts only the first predicted category and is lower-is-better', () => {
    const metric = meanTop1ErrorMetric();
    expect(metric.higherIsBetter).toBe(false);
    expect(
      evaluateMetric(metric, [
        ['a', '5', ['3', '5']],
        ['b', '5', ['5', '3']],
      ]),
    ).toBe(0.5);
    expect(metric.parsePrediction('').ok).toBe(false);
  });

  it('agrees with a direct count on random data', () => {
    const random = new Random(9);
    const rows = Array.from(
      { length: 500 },
      (_, i) => [`h${i}`, String(random.int(4)), randomLabels(random, 1 + random.int(3), 4, '')] as const,
    );
    const errors = rows.filter(([, t, p]) => p[0] !== t).length;
    expect(evaluateMetric(meanTop1ErrorMetric(), rows)).toBeCloseTo(errors / rows.length, 15);
  });
});
