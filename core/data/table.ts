import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import { Readable, pipeline } from 'node:stream';
import { parse, CsvError, type Options as CsvOptions } from 'csv-parse';
import { InputError } from '../errors.js';

/**
 * Column types of a table schema. `?` marks a column that may be absent from the header or empty in
 * a row (the value is then `undefined`). A required `string` column may hold an empty string.
 */
export type ColumnType = 'string' | 'int' | 'float' | 'string?' | 'int?' | 'float?';
export type Schema = Readonly<Record<string, ColumnType>>;
type ValueOf<T extends ColumnType> = T extends 'string'
  ? string
  : T extends 'int' | 'float'
    ? number
    : T extends 'string?'
      ? string | undefined
      : number | undefined;
export type Row<S extends Schema> = { -readonly [K in keyof S]: ValueOf<S[K]> };

/** Text encodings of data files: UTF-8 (checked, invalid bytes are an error) or Latin-1 (ISO-8859-1). */
export type TextEncoding = 'utf8' | 'latin1';

export interface TableOptions {
  readonly encoding?: TextEncoding;
  readonly delimiter?: string;
}

const LATIN1_HINT =
  'save it as UTF-8 (a Latin-1 file: `iconv -f latin1 -t utf-8 <file> > <new file>`); ' +
  "a competition's adapter can read Latin-1 files with encoding 'latin1'";

/**
 * Streams a CSV file as typed rows. Columns not in the schema are ignored. Numbers are converted
 * here rather than by a csv-parse `cast` function, which is several times slower; id columns stay
 * strings (`"0123"`, `"1e5"`).
 */
export async function* readTable<S extends Schema>(
  file: string,
  schema: S,
  options: TableOptions = {},
): AsyncGenerator<Row<S>> {
  const columns = Object.entries<ColumnType>(schema);
  const parser = parse(csvOptions(options, (header) => checkHeader(file, header, columns)));
  pipeline(Readable.from(checkedChunks(file, options.encoding ?? 'utf8')), parser, () => {});
  let record = 0;
  try {
    for await (const raw of parser as AsyncIterable<Record<string, string>>) {
      record++;
      const row: Record<string, string | number | undefined> = {};
      for (const [name, type] of columns) {
        const problem = convert(raw[name], type, row, name);
        if (problem) throw new InputError(file, await lineOfRecord(file, options, record), name, problem);
      }
      yield row as Row<S>;
    }
  } catch (error) {
    throw asInputError(file, error);
  }
}

/** Reads a whole CSV file into typed rows (see readTable). */
export async function loadTable<S extends Schema>(
  file: string,
  schema: S,
  options: TableOptions = {},
): Promise<Row<S>[]> {
  const rows: Row<S>[] = [];
  for await (const row of readTable(file, schema, options)) rows.push(row);
  return rows;
}

/** Reads a JSON file (e.g. COCO-style metadata); `encoding: 'latin1'` for files that are not UTF-8. */
export async function readJson<T = unknown>(file: string, options: { encoding?: TextEncoding } = {}): Promise<T> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw asInputError(file, error);
  }
  const text = decode(file, bytes, 1, options.encoding ?? 'utf8').replace(/^\uFEFF/, '');
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    const line = position === undefined ? undefined : lineAt(text, Number(position));
    throw new InputError(file, line, undefined, `is not valid JSON: ${(error as Error).message}`);
  }
}

function csvOptions(options: TableOptions, columns: (header: string[]) => string[]): CsvOptions {
  return {
    columns,
    bom: true,
    encoding: options.encoding ?? 'utf8',
    ...(options.delimiter === undefined ? {} : { delimiter: options.delimiter }),
  };
}

function checkHeader(file: string, header: string[], columns: [string, ColumnType][]): string[] {
  for (const [name, type] of columns) {
    if (!type.endsWith('?') && !header.includes(name)) {
      throw new InputError(file, 1, name, `missing column '${name}'; the header has: ${header.join(', ')}`);
    }
  }
  return header;
}

const INTEGER = /^\s*[+-]?\d+\s*$/;

/** Stores the converted value in `row[name]`; returns what is wrong with the text, if anything. */
function convert(
  text: string | undefined,
  type: ColumnType,
  row: Record<string, string | number | undefined>,
  name: string,
): string | undefined {
  const optional = type.endsWith('?');
  if (text === undefined || (optional && text === '')) {
    row[name] = optional ? undefined : text;
    return undefined;
  }
  switch (type) {
    case 'string':
    case 'string?':
      row[name] = text;
      return undefined;
    case 'int':
    case 'int?': {
      const value = Number(text);
      if (!INTEGER.test(text) || !Number.isSafeInteger(value)) return `expected an integer, got '${text}'`;
      row[name] = value;
      return undefined;
    }
    default: {
      const value = text.trim() === '' ? Number.NaN : Number(text);
      if (!Number.isFinite(value)) return `expected a number, got '${text}'`;
      row[name] = value;
      return undefined;
    }
  }
}

/**
 * The line on which a record ends. Found on the error path only, by parsing again with line
 * tracking, so that reading valid files does not pay for it.
 */
async function lineOfRecord(file: string, options: TableOptions, record: number): Promise<number | undefined> {
  const parser = parse({ ...csvOptions(options, (header) => header), info: true, to: record });
  pipeline(Readable.from(checkedChunks(file, options.encoding ?? 'utf8')), parser, () => {});
  let line: number | undefined;
  for await (const entry of parser as AsyncIterable<{ info: { lines: number } }>) line = entry.info.lines;
  return line;
}

/**
 * The file's bytes in chunks that end at line breaks; in UTF-8 mode each chunk is checked so that
 * an invalid byte is reported with its line instead of silently becoming U+FFFD.
 */
export async function* checkedChunks(file: string, encoding: TextEncoding): AsyncGenerator<Buffer> {
  if (encoding === 'latin1') {
    yield* createReadStream(file) as AsyncIterable<Buffer>;
    return;
  }
  let carry: Buffer = Buffer.alloc(0);
  let line = 1;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    const cut = chunk.lastIndexOf(10) + 1;
    if (cut === 0) {
      carry = Buffer.concat([carry, chunk]);
      continue;
    }
    const unit = carry.length === 0 ? chunk.subarray(0, cut) : Buffer.concat([carry, chunk.subarray(0, cut)]);
    carry = chunk.subarray(cut);
    checkUtf8(file, unit, line);
    line += countLineBreaks(unit);
    yield unit;
  }
  checkUtf8(file, carry, line);
  if (carry.length > 0) yield carry;
}

function decode(file: string, bytes: Buffer, firstLine: number, encoding: TextEncoding): string {
  if (encoding === 'latin1') return bytes.toString('latin1');
  checkUtf8(file, bytes, firstLine);
  return bytes.toString('utf8');
}

/** Throws an InputError naming the first line (counted from `firstLine`) that is not valid UTF-8. */
function checkUtf8(file: string, bytes: Buffer, firstLine: number): void {
  if (isUtf8(bytes)) return;
  let start = 0;
  for (let line = firstLine; ; line++) {
    const end = bytes.indexOf(10, start);
    const text = bytes.subarray(start, end === -1 ? bytes.length : end);
    if (!isUtf8(text)) {
      const column = Buffer.from(text.toString('utf8').split('\uFFFD')[0]!, 'utf8').length;
      throw new InputError(
        file,
        line,
        undefined,
        `is not valid UTF-8 (byte ${column + 1} of the line); ${LATIN1_HINT}`,
      );
    }
    start = end + 1;
  }
}

function countLineBreaks(bytes: Buffer): number {
  let count = 0;
  for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, at + 1)) count++;
  return count;
}

function lineAt(text: string, position: number): number {
  let line = 1;
  for (let at = text.indexOf('\n'); at !== -1 && at < position; at = text.indexOf('\n', at + 1)) line++;
  return line;
}

function asInputError(file: string, error: unknown): unknown {
  if (error instanceof InputError) return error;
  if (error instanceof CsvError) {
    const line = (error as CsvError & { lines?: number }).lines;
    return new InputError(file, line, undefined, error.message.replace(/^[^:]*:\s*/, ''));
  }
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new InputError(file, undefined, undefined, 'file not found');
  if (code === 'EISDIR') return new InputError(file, undefined, undefined, 'is a directory, expected a file');
  return error;
}
