import { stringify } from 'csv-stringify/sync';
import { writeFileAtomic } from '../io/atomic-write.js';

/** A CSV with a header row, quoted where needed (titles hold commas and quotes). */
export function csvText(columns: readonly string[], rows: readonly (readonly string[])[]): string {
  return stringify([columns, ...(rows as string[][])]);
}

/** Writes a CSV (a submission, a sample's table) atomically. */
export function writeCsvAtomic(
  path: string,
  columns: readonly string[],
  rows: readonly (readonly string[])[],
): Promise<void> {
  return writeFileAtomic(path, csvText(columns, rows));
}
