import type { RankedLabels, PostProcessor } from '../../core/contracts/postprocessor.js';
import type { Registration } from '../../core/contracts/registration.js';
import { UserError } from '../../core/errors.js';

export interface LabelThresholdOptions {
  /** Keep the labels whose score is at least this fraction of the query's best score. */
  readonly threshold: number;
  /** Per-class fractions (learned on validation by `fit`); classes not listed use `threshold`. */
  readonly perClass: { readonly [label: string]: number };
  /** `fit` learns a class's own threshold only when validation has at least this many positives. */
  readonly minPositives: number;
}

const DEFAULTS: LabelThresholdOptions = { threshold: 0.5, perClass: {}, minPositives: 3 };

function passes(score: number, best: number, threshold: number): boolean {
  return score >= threshold * best;
}

function ranked(state: { readonly predictions?: readonly RankedLabels[] }): readonly RankedLabels[] {
  if (!state.predictions) throw new UserError('label-threshold needs ranked labels first (e.g. knn-vote)');
  return state.predictions;
}

/**
 * The threshold maximising one class's F1 over the validation rows, or undefined when none beats
 * `fallback`. `rows` are (score, best score of the row, is the class true) for every row ranking
 * the class; `positives` counts every row whose truth holds it (ranked or not).
 */
function bestThreshold(
  rows: { score: number; best: number; positive: boolean }[],
  positives: number,
  fallback: number,
): number | undefined {
  const f1 = (tp: number, predicted: number): number => (2 * tp) / (predicted + positives);
  const atFallback = rows.filter((row) => passes(row.score, row.best, fallback));
  let best = {
    f1: f1(atFallback.filter((row) => row.positive).length, atFallback.length),
    threshold: undefined as number | undefined,
  };
  // Sweep the threshold down through the distinct score fractions: every row at or above the
  // current fraction is predicted. Rows with a best score ≤ 0 pass any threshold (fraction 1).
  const fractions = rows
    .map((row) => ({ fraction: row.best > 0 ? row.score / row.best : 1, positive: row.positive }))
    .sort((a, b) => b.fraction - a.fraction);
  let tp = 0;
  for (let i = 0; i < fractions.length; i++) {
    if (fractions[i]!.positive) tp++;
    const here = fractions[i]!.fraction;
    const next = fractions[i + 1]?.fraction;
    if (next === here) continue;
    const score = f1(tp, i + 1);
    // Midway to the next lower fraction: the same validation predictions, with a margin on both sides.
    if (score > best.f1) best = { f1: score, threshold: (here + (next ?? 0)) / 2 };
  }
  return best.threshold;
}

/**
 * Multi-label answers: every ranked label scoring ≥ its class's threshold × the query's best
 * score; when none passes, the best label alone (at least one label per row).
 */
export const labelThreshold: Registration<PostProcessor, LabelThresholdOptions> = {
  name: 'label-threshold',
  description:
    'multi-label: keep ranked labels scoring at least a (per-class, learned on validation) fraction of the best one; never none',
  defaults: DEFAULTS,
  create: ({ threshold, perClass, minPositives }: LabelThresholdOptions) => {
    const thresholdOf = (label: string): number => perClass[label] ?? threshold;
    return {
      name: 'label-threshold',
      apply: (state) => {
        const predictions = ranked(state).map((row) => {
          const best = row.scores[0] ?? 0;
          const keep = row.labels.map((label, i) => passes(row.scores[i]!, best, thresholdOf(label)));
          if (!keep.includes(true)) keep[0] = true;
          return { labels: row.labels.filter((_, i) => keep[i]), scores: row.scores.filter((_, i) => keep[i]) };
        });
        return { ...state, predictions };
      },
      // Each class on its own (the at-least-one rule, which couples classes, is left out of the fit).
      fit: (state, truth) => {
        const rows = ranked(state);
        const classes = new Map<
          string,
          { rows: { score: number; best: number; positive: boolean }[]; positives: number }
        >();
        const entry = (label: string) =>
          classes.get(label) ?? classes.set(label, { rows: [], positives: 0 }).get(label)!;
        rows.forEach((row, q) => {
          for (const label of truth[q] ?? []) entry(label).positives++;
          row.labels.forEach((label, i) =>
            entry(label).rows.push({
              score: row.scores[i]!,
              best: row.scores[0]!,
              positive: truth[q]?.includes(label) ?? false,
            }),
          );
        });
        const learned: Record<string, number> = {};
        for (const label of [...classes.keys()].sort()) {
          const { rows: classRows, positives } = classes.get(label)!;
          if (positives < minPositives) continue;
          const value = bestThreshold(classRows, positives, threshold);
          if (value !== undefined) learned[label] = Number(value.toFixed(6));
        }
        return { perClass: learned };
      },
    };
  },
};
