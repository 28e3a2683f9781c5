import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Item } from '../contracts/competition.js';
import { writeCsvAtomic } from '../data/csv.js';
import { loadTable } from '../data/table.js';
import { InputError, UserError } from '../errors.js';
import { EmbeddingsWriter, readEmbeddings } from './embeddings-file.js';
import type { LabelledVectors } from './evaluate.js';

/** What `simkit run` leaves in its run directory for `simkit evaluate --run`. */
export const VALIDATION_FILES = {
  queries: 'validation-queries.emb',
  gallery: 'validation-gallery.emb',
  labels: 'validation-labels.csv',
} as const;

/** The label an item counts under when evaluated: its first ('' without one). */
const labelOf = (item: Item) => item.labels[0] ?? '';

function writeEmbeddings(path: string, items: readonly Item[], vectors: Float32Array): void {
  const writer = EmbeddingsWriter.open(path, vectors.length / Math.max(items.length, 1));
  try {
    writer.append(
      items.map((item) => item.id),
      vectors,
    );
    writer.close();
  } catch (error) {
    writer.abort();
    throw error;
  }
}

/** Saves the validation queries and gallery a run searched (embeddings files and one id,label CSV) in `runDir`. */
export async function saveValidationEmbeddings(
  runDir: string,
  queries: { readonly items: readonly Item[]; readonly vectors: Float32Array },
  gallery: { readonly items: readonly Item[]; readonly vectors: Float32Array },
): Promise<void> {
  if (queries.items.length === 0 || gallery.items.length === 0) return;
  writeEmbeddings(join(runDir, VALIDATION_FILES.queries), queries.items, queries.vectors);
  writeEmbeddings(join(runDir, VALIDATION_FILES.gallery), gallery.items, gallery.vectors);
  const labels = new Map([...queries.items, ...gallery.items].map((item) => [item.id, labelOf(item)]));
  await writeCsvAtomic(join(runDir, VALIDATION_FILES.labels), ['id', 'label'], [...labels]);
}

/** id → label from a CSV with columns id and label (the first of space-separated labels; empty: unlabelled). */
export async function readLabels(path: string): Promise<Map<string, string>> {
  const labels = new Map<string, string>();
  for (const row of await loadTable(path, { id: 'string', label: 'string?' }))
    labels.set(row.id, (row.label ?? '').trim().split(/\s+/)[0] ?? '');
  return labels;
}

/** An embeddings file with each id's label from `labels`; an id without a label row is an error naming both files. */
export function labelledEmbeddings(path: string, labels: ReadonlyMap<string, string>, labelsPath: string) {
  const { header, ids, vectors } = readEmbeddings(path);
  const missing = ids.find((id) => !labels.has(id));
  if (missing !== undefined) throw new InputError(labelsPath, undefined, 'id', `no row for id "${missing}" of ${path}`);
  const set: LabelledVectors = { ids, labels: ids.map((id) => labels.get(id)!), vectors };
  return { dim: header.dim, set };
}

/**
 * The run directory holding the validation files: `dir` itself (output/<slug>/run) or its `run` folder (output/<slug>,
 * as `simkit embed --run` takes it); neither is a clear error.
 */
export function validationRunDir(dir: string): string {
  const runDir = [dir, join(dir, 'run')].find((candidate) => existsSync(join(candidate, VALIDATION_FILES.queries)));
  if (!runDir)
    throw new UserError(
      `${dir} holds no ${VALIDATION_FILES.queries}: not a run of \`simkit run\`, a run without a validation ` +
        'split, or one made before runs saved their validation embeddings',
      'pass the output directory of a new run (output/<slug>), or --embeddings with --labels',
    );
  return runDir;
}

/** The validation files of a run directory (see validationRunDir); a missing one is a clear error. */
export function validationFiles(runDir: string): Record<keyof typeof VALIDATION_FILES, string> {
  const paths = {
    queries: join(runDir, VALIDATION_FILES.queries),
    gallery: join(runDir, VALIDATION_FILES.gallery),
    labels: join(runDir, VALIDATION_FILES.labels),
  };
  const absent = Object.values(paths).find((path) => !existsSync(path));
  if (absent)
    throw new UserError(
      `${absent} does not exist: the run's validation files are incomplete`,
      'run `simkit run` again, or pass --embeddings with --labels',
    );
  return paths;
}
