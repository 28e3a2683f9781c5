import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TRAINING_LOG_FILE } from '../core/report/training-log.js';

/** One epoch's line of a run's log.jsonl, as the trainer writes it. */
export interface LoggedEpoch {
  readonly epoch: number;
  readonly loss: number;
  readonly [field: string]: unknown;
}

/** A JSON file the test expects to hold a `T`. */
export function readJsonFile<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** The epochs a run logged to `<runDir>/log.jsonl`, one record per non-empty line. */
export function loggedEpochs(runDir: string): LoggedEpoch[] {
  return readFileSync(join(runDir, TRAINING_LOG_FILE), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as LoggedEpoch);
}
