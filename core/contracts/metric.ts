/**
 * How a competition is scored locally, the way Kaggle scores it. A plugin registers one
 * `Registration<ScoringSpec>` per competition slug under `TOKENS.Metric` (name = the slug); the
 * `score` command and the leaderboard find it by slug or alias through the container, so a spec
 * from an external plugin works exactly like a built-in one.
 *
 * A spec pairs the submission's exact layout (header, id column, prediction column) with a
 * `MetricDefinition`: how to parse and check one truth cell and one prediction cell, and how to
 * turn (truth, prediction) pairs into the score. Scoring code (core/scoring) does the CSV
 * reading, the header and id checks and the Public/Private split; a metric only sees cells.
 */

/** The outcome of parsing one cell: its value, or what a valid cell looks like. */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly expected: string };

/** Collects rows of one subset (all rows, Public rows or Private rows) and reduces them to a score. */
export interface MetricAccumulator<Truth, Prediction> {
  add(id: string, truth: Truth, prediction: Prediction): void;
  /** The metric over the rows added so far; null when no row counts (e.g. no rows at all). */
  result(): number | null;
}

export interface MetricDefinition<Truth = unknown, Prediction = unknown> {
  /** Name shown in reports and stored in the leaderboard, e.g. `GAP`, `MAP@5`. */
  readonly name: string;
  readonly higherIsBetter: boolean;
  /** One line describing a valid prediction cell, e.g. `up to 5 space-separated labels`. */
  readonly predictionFormat: string;
  /**
   * For a ranked metric (MAP@k, top-1 error): how many labels of a row count. A guess past the
   * last one given can only add points, so a run fills every row up to this many; labels past
   * it earn nothing (`simkit score` warns about them).
   */
  readonly counted?: number;
  /** Parses a solution (ground truth) cell; several ids in one cell are space-separated. */
  parseTruth(cell: string): Parsed<Truth>;
  /** Parses and validates a submission cell, including limits such as the number of ids. */
  parsePrediction(cell: string): Parsed<Prediction>;
  createAccumulator(): MetricAccumulator<Truth, Prediction>;
}

export interface ScoringSpec<Truth = unknown, Prediction = unknown> {
  /** Kaggle competition slug, e.g. `landmark-recognition-2021`; also the registration name. */
  readonly competition: string;
  /** Short names accepted wherever the slug is, e.g. `landmarks`. */
  readonly aliases: readonly string[];
  /** The submission's exact header, in order. The solution has these columns plus optional `Usage`. */
  readonly header: readonly string[];
  readonly idColumn: string;
  readonly predictionColumn: string;
  readonly metric: MetricDefinition<Truth, Prediction>;
}

/** Values of the solution's optional `Usage` column; Ignored rows are dropped from every score. */
export const USAGES = ['Public', 'Private', 'Ignored'] as const;
export type Usage = (typeof USAGES)[number];

export interface ScoreReport {
  readonly competition: string;
  readonly metric: string;
  readonly higherIsBetter: boolean;
  /** Over every row that is not Ignored. */
  readonly score: number | null;
  /** Over the Public rows; null when the solution has none (or no Usage column). */
  readonly public: number | null;
  readonly private: number | null;
  /** Rows scored (not Ignored). */
  readonly rows: number;
  /** Rows holding more labels than the metric counts (`MetricDefinition.counted`); the extra ones earn nothing. */
  readonly overCounted?: number;
}

/**
 * One thing wrong with a submission (or solution) file: the line (1 = header; absent for a problem
 * of the whole file, such as a missing id), the column, and what was expected.
 */
export interface SubmissionProblem {
  readonly line?: number;
  readonly column?: string;
  readonly problem: string;
}
