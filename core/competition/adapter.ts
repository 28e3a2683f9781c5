import { realpathSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { Readable, pipeline } from 'node:stream';
import { parse } from 'csv-parse';
import type { Competition, CompetitionAdapter, Item, Prediction, Table } from '../contracts/competition.js';
import type { Components } from '../contracts/registration.js';
import type { TaskStrategy } from '../contracts/task.js';
import type { Usage } from '../contracts/metric.js';
import { checkedChunks, type TextEncoding } from '../data/table.js';
import { InputError, UserError } from '../errors.js';
import { writeCsvAtomic } from '../data/csv.js';

/** The file and line each record read by readCsv came from (records are items' `extra`). */
const ORIGINS = new WeakMap<object, { readonly file: string; readonly line: number }>();

/** Where an item's row was read (its `extra` record), when it came from readCsv. */
export function rowOrigin(record: object): { readonly file: string; readonly line: number } | undefined {
  return ORIGINS.get(record);
}

/**
 * Reads a CSV as records keyed by the header, checking that `required` columns exist and that
 * there is at least one data row. Errors name the file and line; bytes that are not UTF-8 are an
 * error naming their line (pass 'latin1' for Latin-1 files). Values stay strings (ids like "0123"
 * or "1e5" are never cast).
 */
export async function readCsv(
  path: string,
  required: readonly string[],
  encoding: TextEncoding = 'utf8',
): Promise<{ line: number; record: Record<string, string> }[]> {
  const rows: { line: number; record: Record<string, string> }[] = [];
  const parser = parse({ bom: true, columns: true, skip_empty_lines: true, info: true });
  // pipeline (unlike pipe) forwards a read error such as a missing file to the parser.
  pipeline(Readable.from(checkedChunks(path, encoding)), parser, () => {});
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: Record<string, string>;
      info: { lines: number };
    }>) {
      if (rows.length === 0) {
        const missing = required.filter((column) => !(column in record));
        if (missing.length > 0)
          throw new InputError(
            path,
            1,
            missing.join(', '),
            `missing column(s); the header is: ${Object.keys(record).join(',')}`,
          );
      }
      ORIGINS.set(record, { file: path, line: info.lines });
      rows.push({ line: info.lines, record });
    }
  } catch (error) {
    if (error instanceof InputError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(path, undefined, undefined, 'file not found');
    if (code === 'EISDIR') throw new InputError(path, undefined, undefined, 'is a directory, expected a CSV file');
    throw new InputError(path, (error as { lines?: number }).lines, undefined, (error as Error).message);
  }
  if (rows.length === 0)
    throw new InputError(
      path,
      undefined,
      undefined,
      `has no data rows (expected a header with ${required.join(', ')} and at least one row)`,
    );
  return rows;
}

/** `path` with its symbolic links resolved, or unchanged when it does not exist (yet). */
function realPath(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return path;
  }
}

function isInside(path: string, root: string): boolean {
  return path === root || path.startsWith(`${root}${sep}`);
}

/**
 * The path of a file named by a data cell (`segments` joined below `folder`), refused when it
 * leads outside the data directory: as written (`../../outside.jpg`, an absolute path) or through a
 * symbolic link inside the data directory that points out of it.
 */
export function dataPath(
  dataDir: string,
  where: { file: string; line?: number; field: string },
  folder: string,
  ...segments: string[]
): string {
  const path = resolve(dataDir, folder, ...segments);
  const root = resolve(dataDir);
  const written = JSON.stringify(join(folder, ...segments));
  if (!isInside(path, root))
    throw new InputError(
      where.file,
      where.line,
      where.field,
      `the path ${written} leads outside the data directory ${root}; only files inside it are read`,
    );
  const real = realPath(path);
  if (real !== path && !isInside(real, realPath(root)))
    throw new InputError(
      where.file,
      where.line,
      where.field,
      `the path ${written} is a symbolic link (or lies below one) to ${real}, outside the data directory ${root}; only files inside it are read`,
    );
  return path;
}

/** A field that must not be empty. */
export function requireField(path: string, line: number, record: Record<string, string>, column: string): string {
  const value = record[column]?.trim() ?? '';
  if (value === '') throw new InputError(path, line, column, 'expected a value, got an empty field');
  return value;
}

/**
 * An adapter that leaves Kaggle's submission and solution tables to its task's strategy (see withTaskTables); the
 * type checks what it must write itself.
 */
export function defineCompetition(adapter: CompetitionAdapter): CompetitionAdapter {
  return adapter;
}

/**
 * The adapter with the submission and solution tables, and the atomic writer, that it leaves out, written by the task
 * strategy its `task` names, found through the container's `components` (so a plugin can replace or add one). Without
 * `components` (an adapter's registration called directly, for its slug or format) the tables refuse to run.
 */
export function withTaskTables(adapter: CompetitionAdapter, components: Components | undefined): Competition {
  if (adapter.submissionTable && adapter.solutionTable && adapter.writeSubmission) return adapter as Competition;
  const resolved = components?.create<TaskStrategy>('Task', adapter.task);
  return tablesOf(adapter, () => {
    if (resolved) return resolved;
    throw new UserError(
      `competition ${adapter.alias}: its task strategy "${adapter.task}" is found through the container`,
      "create the competition with app.registry('Competition').create(name)",
    );
  });
}

function tablesOf(spec: CompetitionAdapter, strategy: () => TaskStrategy): Competition {
  const { idColumn, labelColumn } = spec.submission;
  const submissionTable = (predictions: readonly Prediction[]): Table => ({
    columns: [idColumn, labelColumn],
    rows: predictions.map((prediction) => [prediction.id, strategy().submissionCell(prediction, spec.submission)]),
  });
  const solutionTable: Competition['solutionTable'] = (truth, options = {}) => {
    const usage = options.usage ?? (() => 'Public');
    const rows = truth.map((item) => {
      const { cell, usage: fixed } = strategy().solutionCell(item, { truth, index: options.index });
      return [item.id, cell, fixed ?? usage(item)];
    });
    return { columns: [idColumn, labelColumn, 'Usage'], rows };
  };
  return {
    submissionTable,
    solutionTable,
    writeSubmission: async (predictions, path) => {
      const table = submissionTable(predictions);
      await writeCsvAtomic(path, table.columns, table.rows);
    },
    ...spec,
  };
}

/** Every other row Public, the rest Private, decided by a stable hash of the id. */
export function hashedUsage(item: Item): Usage {
  let hash = 2166136261;
  for (let i = 0; i < item.id.length; i++) hash = Math.imul(hash ^ item.id.charCodeAt(i), 16777619);
  return (hash >>> 0) % 2 === 0 ? 'Public' : 'Private';
}

/** Unlabelled items for the images (`.jpg`, `.jpeg`, `.png`) of a flat folder, id = file name, sorted. */
export async function readImageFolder(folder: string): Promise<Item[]> {
  let files: string[];
  try {
    files = await readdir(folder);
  } catch {
    throw new InputError(folder, undefined, undefined, 'image folder not found');
  }
  const root = realPath(resolve(folder));
  return files
    .filter((name) => /\.(jpe?g|png)$/i.test(name))
    .sort()
    .map((file) => {
      const real = realPath(join(root, file));
      if (!isInside(real, root))
        throw new InputError(
          join(folder, file),
          undefined,
          undefined,
          `is a symbolic link to ${real}, outside the folder ${folder}; only files inside the data directory are read`,
        );
      return { id: file, labels: [], imagePath: join(folder, file), extra: {} };
    });
}
