import { createReadStream } from 'node:fs';
import { parse, type Options } from 'csv-parse';
import type { Table } from '../contracts/competition.js';

/**
 * Records of a CSV file or an in-memory table, as arrays of raw strings (never cast); record 0 is the
 * header. Line numbers are only needed for error messages, so they are looked up afterwards for
 * the few records that have a problem (tracking them while parsing would triple the parse time).
 */
export interface RowSource {
  /** File path, or a label for an in-memory table; used in messages. */
  readonly name: string;
  /** Records in batches (whatever one read of the file yields), so that consumers await once per batch. */
  batches(): AsyncIterable<readonly (readonly string[])[]> | Iterable<readonly (readonly string[])[]>;
  /** Line in the file where each given record ends (record index → line). */
  lines(recordIndices: readonly number[]): Promise<Map<number, number>>;
}

const CSV_OPTIONS: Options = { bom: true, relax_column_count: true, skip_empty_lines: true };

export function csvFileSource(path: string): RowSource {
  return {
    name: path,
    batches: () => csvBatches(path),
    async lines(recordIndices) {
      const wanted = new Set(recordIndices);
      const last = Math.max(-1, ...recordIndices);
      const found = new Map<number, number>();
      let index = 0;
      try {
        for await (const { info } of createReadStream(path).pipe(
          parse({ ...CSV_OPTIONS, info: true }),
        ) as AsyncIterable<{ info: { lines: number } }>) {
          if (wanted.has(index)) found.set(index, info.lines);
          if (++index > last) break;
        }
      } catch {
        // The CSV error that ended the file is a problem of its own; records after it have no line.
      }
      return found;
    },
  };
}

/**
 * Records of a CSV file. The file's chunks are fed to the parser by hand and the records of each
 * chunk drained synchronously: iterating the parser stream record by record costs one promise per
 * record, a large share of the scoring time on million-row files.
 */
async function* csvBatches(path: string): AsyncGenerator<string[][]> {
  const parser = parse(CSV_OPTIONS);
  let failure: Error | undefined;
  parser.on('error', (error) => (failure ??= error));
  const drain = (): string[][] => {
    const batch: string[][] = [];
    for (let record = parser.read() as string[] | null; record !== null; record = parser.read() as string[] | null)
      batch.push(record);
    if (failure !== undefined) throw failure;
    return batch;
  };
  for await (const chunk of createReadStream(path)) {
    parser.write(chunk);
    yield drain();
  }
  parser.end();
  const rest: string[][] = [];
  for await (const record of parser) rest.push(record as string[]);
  if (failure !== undefined) throw failure;
  yield rest;
}

/** An in-memory table; record i is written on line i + 1 of the equivalent CSV file. */
export function tableSource(name: string, table: Table): RowSource {
  return {
    name,
    batches: () => [[table.columns, ...table.rows]],
    lines: async (recordIndices) => new Map(recordIndices.map((index) => [index, index + 1])),
  };
}
