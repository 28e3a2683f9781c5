import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Item } from '../contracts/competition.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import type { NeighbourRow } from '../contracts/postprocessor.js';

/**
 * What a run records for its report, in `<runDir>/report.json` (docs/reports.md). Every field but
 * `format` is optional: the report shows "not recorded" for what is missing. Training curves come
 * from `<runDir>/log.jsonl`, which the training loop writes.
 */
export const REPORT_DATA_FILE = 'report.json';
/** The rendered report, next to its data. */
export const REPORT_FILE = 'report.html';
export const REPORT_DATA_FORMAT = 'simkit-report/1';

export interface ReportData {
  readonly format: typeof REPORT_DATA_FORMAT;
  /** Kaggle slug (or local competition name). */
  readonly competition?: string;
  readonly title?: string;
  /** ISO 8601 time the run finished. */
  readonly createdAt?: string;
  readonly metric?: { readonly name: string; readonly higherIsBetter: boolean };
  /** Headline numbers and facts, shown in order as a two-column table (e.g. validation score, seconds). */
  readonly summary?: Readonly<Record<string, number | string | null>>;
  /** Side-by-side results (baselines, published numbers, this run). */
  readonly comparison?: readonly ComparisonRow[];
  readonly tuning?: TuningCurve;
  readonly embeddings?: EmbeddingSample;
  readonly gallery?: NeighbourGallery;
}

export interface ComparisonRow {
  readonly name: string;
  readonly value: number | null;
  /** Metric of `value`, e.g. `accuracy`, `MAP@R`. */
  readonly metric: string;
  /** `measured` in this run, or `published` (copied from a reference, named in `note`). */
  readonly source: 'measured' | 'published';
  readonly note?: string;
}

/** The competition metric on the validation split for each tried combination of post-processing options. */
export interface TuningCurve {
  readonly points: readonly { readonly overrides: Readonly<Record<string, number>>; readonly score: number | null }[];
  /** The combination the run kept. */
  readonly best?: Readonly<Record<string, number>>;
  /** Options whose kept value is still at an edge of the values tried, one sentence each. */
  readonly warnings?: readonly string[];
}

/** A sample of embeddings (rows of `vectors`) with each row's label, for the 2-D projection. */
export interface EmbeddingSample {
  readonly labels: readonly string[];
  readonly vectors: readonly (readonly number[])[];
}

export interface GalleryEntry {
  readonly id: string;
  readonly labels: readonly string[];
  /** Absolute path of an image of the item; thumbnails are made from it when the report is rendered. */
  readonly image?: string;
}

export interface GalleryNeighbour extends GalleryEntry {
  readonly similarity: number;
}

/** Queries with their nearest neighbours, best first; a neighbour is correct when it shares a label with the query. */
export interface NeighbourGallery {
  readonly queries: readonly (GalleryEntry & { readonly neighbours: readonly GalleryNeighbour[] })[];
}

/** Writes `<dir>/report.json` atomically (temporary file in the same directory, then rename). */
export async function writeReportData(dir: string, data: ReportData): Promise<string> {
  const path = join(dir, REPORT_DATA_FILE);
  await writeFileAtomic(path, `${JSON.stringify(data)}\n`);
  return path;
}

/** `<dir>/report.json`, or null when the run wrote none; `problem` says why it could not be used. */
export async function readReportData(dir: string): Promise<{ data: ReportData | null; problem?: string }> {
  const path = join(dir, REPORT_DATA_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return { data: null };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { data: null, problem: `${path} is not valid JSON: ${(error as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || (value as { format?: unknown }).format !== REPORT_DATA_FORMAT) {
    return { data: null, problem: `${path} is not a ${REPORT_DATA_FORMAT} file` };
  }
  return { data: value as ReportData };
}

/** Every `step`-th row of an embedding matrix, at most `max` rows, with its items' labels (joined by spaces). */
export function embeddingSample(
  items: readonly Item[],
  vectors: Float32Array,
  options: { max?: number } = {},
): EmbeddingSample {
  const dim = items.length === 0 ? 0 : vectors.length / items.length;
  const max = options.max ?? 1000;
  const step = Math.max(1, Math.ceil(items.length / max));
  const labels: string[] = [];
  const rows: number[][] = [];
  for (let i = 0; i < items.length && rows.length < max; i += step) {
    labels.push(items[i]!.labels.join(' '));
    rows.push(Array.from(vectors.subarray(i * dim, (i + 1) * dim), (v) => Math.round(v * 1e5) / 1e5));
  }
  return { labels, vectors: rows };
}

function sharesLabel(a: readonly string[], b: readonly string[]): boolean {
  return a.some((label) => b.includes(label));
}

/**
 * How good a query's neighbour list is: average precision of the correct neighbours over the list
 * (1 = every correct one ranked first, 0 = none correct). Ties: the more similar the first wrong
 * neighbour, the worse (confidently wrong first).
 */
export function galleryRank(
  query: NeighbourGallery['queries'][number],
): [quality: number, firstWrongSimilarity: number] {
  let hits = 0;
  let precisionSum = 0;
  let firstWrong = -Infinity;
  query.neighbours.forEach((neighbour, rank) => {
    if (sharesLabel(query.labels, neighbour.labels)) {
      hits += 1;
      precisionSum += hits / (rank + 1);
    } else if (firstWrong === -Infinity) firstWrong = neighbour.similarity;
  });
  return [hits === 0 ? 0 : precisionSum / hits, firstWrong];
}

/** Worst first, by `galleryRank`. */
export function worstFirst<T extends NeighbourGallery['queries'][number]>(queries: readonly T[]): T[] {
  const ranks = new Map(queries.map((query) => [query, galleryRank(query)]));
  return [...queries].sort((a, b) => {
    const [qa, wa] = ranks.get(a)!;
    const [qb, wb] = ranks.get(b)!;
    return qa - qb || wb - wa;
  });
}

/** The image an item is shown with: its image, or for four-channel items the green (protein) channel. */
export function itemImage(item: Item): string | undefined {
  return item.imagePath ?? item.channelPaths?.[1];
}

function entryOf(item: Item): GalleryEntry {
  const image = itemImage(item);
  return image === undefined ? { id: item.id, labels: item.labels } : { id: item.id, labels: item.labels, image };
}

/**
 * The `count` worst queries (`worstFirst`) of a kNN result with their first `k` neighbours.
 * `rows[q]` indexes `gallery` for `queries[q]`; a neighbour that is the query itself is skipped.
 */
export function neighbourGallery(
  queries: readonly Item[],
  gallery: readonly Item[],
  rows: readonly NeighbourRow[],
  options: { count?: number; k?: number } = {},
): NeighbourGallery {
  const k = options.k ?? 6;
  const entries = queries.map((query, q) => ({
    ...entryOf(query),
    neighbours: rows[q]!.indices.map((g, rank) => ({ item: gallery[g]!, similarity: rows[q]!.similarities[rank]! }))
      .filter(({ item }) => item.id !== query.id)
      .slice(0, k)
      .map(({ item, similarity }) => ({ ...entryOf(item), similarity })),
  }));
  return { queries: worstFirst(entries.filter((entry) => entry.labels.length > 0)).slice(0, options.count ?? 12) };
}
