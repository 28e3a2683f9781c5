import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  SAMPLE_SUBMISSION_FILE,
  type CompetitionAdapter,
  type Item,
  type Prediction,
} from '../contracts/competition.js';
import type { ScoreReport, ScoringSpec } from '../contracts/metric.js';
import type { Baseline } from '../contracts/task.js';
import { InputError } from '../errors.js';
import { log } from '../log.js';
import { splitTokens } from '../metrics/tokens.js';
import { InvalidFileError, scoreFiles } from '../scoring/score.js';
import { readCsv } from './adapter.js';

export const SAMPLE_SUBMISSION_BASELINE = "Kaggle's sample submission";

/** A submission cell read back as a prediction: `label confidence` where the format writes confidences. */
export function predictionOfCell(id: string, cell: string, withConfidence: boolean): Prediction {
  const tokens = splitTokens(cell);
  if (withConfidence) {
    const [label, confidence] = tokens;
    return label === undefined ? { id, labels: [] } : { id, labels: [label], scores: [Number(confidence ?? 0)] };
  }
  return { id, labels: tokens, scores: tokens.map(() => 1) };
}

/**
 * Kaggle's sample submission as an answer for any row: the answer of its first row, where the
 * row's own id stands for the query's (Shopee's sample matches each posting with itself).
 * Undefined when the data directory has no sample submission or it cannot be read (a warning).
 */
async function sampleSubmissionAnswer(
  competition: CompetitionAdapter,
  dataDir: string,
): Promise<((id: string) => Prediction) | undefined> {
  const path = join(dataDir, SAMPLE_SUBMISSION_FILE);
  if (!existsSync(path)) return undefined;
  const { idColumn, labelColumn, withConfidence } = competition.submission;
  let first: Record<string, string>;
  try {
    first = (await readCsv(path, [idColumn, labelColumn]))[0]!.record;
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    log.warn(`the sample submission is left out of the baselines: ${error.message}`);
    return undefined;
  }
  const ownId = first[idColumn]!;
  const cell = first[labelColumn]!;
  return (id) => {
    const answer = splitTokens(cell)
      .map((token) => (token === ownId ? id : token))
      .join(' ');
    return predictionOfCell(id, answer, withConfidence);
  };
}

/**
 * The trivial submissions a Kaggle competitor tries first that depend on the competition, not
 * on the task: Kaggle's sample submission, and the unknown label on every row where there is one.
 * The task's own (most frequent class, self only, …) come from its strategy.
 */
export async function competitionBaselines(
  competition: CompetitionAdapter,
  dataDir: string,
  queries: readonly Item[],
): Promise<Baseline[]> {
  const baselines: Baseline[] = [];
  const sample = await sampleSubmissionAnswer(competition, dataDir);
  if (sample) baselines.push({ name: SAMPLE_SUBMISSION_BASELINE, predictions: queries.map((item) => sample(item.id)) });
  const unknown = competition.unknownLabel;
  if (unknown) {
    baselines.push({
      name: `${unknown} on every row`,
      predictions: queries.map((item) => ({ id: item.id, labels: [unknown], scores: [1] })),
    });
  }
  return baselines;
}

/**
 * Kaggle's sample submission scored against a hidden truth (a generated sample's), as it would
 * score on Kaggle; null when there is no sample submission, or it does not fit the truth (a warning).
 */
export async function scoreSampleSubmission(
  spec: ScoringSpec,
  dataDir: string,
  solutionPath: string,
): Promise<ScoreReport | null> {
  const path = join(dataDir, SAMPLE_SUBMISSION_FILE);
  if (!existsSync(path)) return null;
  try {
    return await scoreFiles(spec, solutionPath, path);
  } catch (error) {
    if (!(error instanceof InvalidFileError)) throw error;
    log.warn(`the sample submission is not scored on the sample test set: ${error.message.split('\n')[0]}`);
    return null;
  }
}
