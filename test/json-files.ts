import { readFileSync } from 'node:fs';

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

/** The records of a JSON-lines file, one per non-empty line. */
export function readJsonLines<T>(path: string): T[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}
