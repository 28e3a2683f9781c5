import { createReadStream } from 'node:fs';
import { parse, type Options } from 'csv-parse';
import type { Table } from '../contracts/competition.js';

/**
 * Rows of a CSV file or an in-memory table, as arrays of raw strings (never cast); record 0 is the
 * header. Line numbers are only needed for error messages, so they are looked up afterwards for
 * the few records that have a problem (tracking them while parsing would triple the parse time).
 */
export interface RowSource {
  /** File path, or a label for an in-memory table; used in messages. */
  readonly name: string;
  records(): AsyncIterable<string[]> | Iterable<readonly string[]>;
  /** Line in the file where each given record ends (record index → line). */
  lines(recordIndices: readonly number[]): Promise<Map<number, number>>;
}

const CSV_OPTIONS: Options = { bom: true, relax_column_count: true, skip_empty_lines: true };

export function csvFileSource(path: string): RowSource {
  return {
    name: path,
    records: () => createReadStream(path).pipe(parse(CSV_OPTIONS)),
    async lines(recordIndices) {
      const wanted = new Set(recordIndices);
      const last = Math.max(-1, ...recordIndices);
      const found = new Map<number, number>();
      let index = 0;
      for await (const { info } of createReadStream(path).pipe(parse({ ...CSV_OPTIONS, info: true })) as AsyncIterable<{ info: { lines: number } }>) {
        if (wanted.has(index)) found.set(index, info.lines);
        if (++index > last) break;
      }
      return found;
    },
  };
}

/** An in-memory table; record i is written on line i + 1 of the equivalent CSV file. */
export function tableSource(name: string, table: Table): RowSource {
  return {
    name,
    *records() {
      yield table.columns;
      yield* table.rows;
    },
    lines: async (recordIndices) => new Map(recordIndices.map((index) => [index, index + 1])),
  };
}
