import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { UserError, InputError } from '../errors.js';
import { Random } from '../random.js';
import { parseFactory, type FactorySpec } from './factory.js';
import { replaceFileSync, writeFileAtomicSync } from '../io/atomic-write.js';
import { dropChecksum, verifyChecksum, writeChecksum } from '../io/checksum.js';
import { assertReadable, assertWritable } from './files.js';
import { faiss, METRIC_INNER_PRODUCT, type NativeIndex } from './native.js';

import type { SearchIndex, SearchResult } from '../contracts/indexer.js';

export type { SearchResult };

export interface TrainOptions {
  /** Vectors drawn (without replacement) from those given; all when fewer. */
  readonly sampleSize?: number;
  readonly seed?: number;
}

const META_FORMAT = 'simkit-index/1';

/**
 * Queries per faiss call by default: four of the 4096-query blocks faiss's exact (BLAS) search
 * works in. 1024-query batches cost exact search about 40% more CPU time (bench/knn.ts, docs/knn.md);
 * per batch, faiss's result buffers take 12 bytes × k per query.
 */
const SEARCH_BATCH = 16_384;

interface IndexMeta {
  readonly format: typeof META_FORMAT;
  readonly factory: string;
  readonly dim: number;
  readonly trainingId: string | null;
  readonly ids: string[];
}

/** The sidecar next to a faiss index file: factory, training identity and the string id of each vector. */
export function metaPathFor(indexPath: string): string {
  return `${indexPath}.json`;
}

/** Fails unless every value is finite; faiss silently produces garbage neighbours from NaN. */
function assertFinite(values: Float32Array, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) throw new UserError(`${what}: value ${values[i]} at position ${i} is not finite`);
  }
}

/**
 * An inner-product faiss index with string ids that validates every call before it reaches faiss:
 * faiss-node turns C++ exceptions from add/train/search/write/removeIds into a process abort.
 * `k` larger than the number of indexed vectors is clamped (the result says the k used).
 */
export class VectorIndex implements SearchIndex {
  private readonly idSet: Set<string>;

  private constructor(
    private readonly native: NativeIndex,
    readonly spec: FactorySpec,
    private idList: string[],
    private trainingId: string | null,
  ) {
    this.idSet = new Set(idList);
    if (this.idSet.size !== idList.length) throw new UserError('index ids are not unique');
  }

  /** An empty index; `factory` is a faiss factory string ("Flat" = exact search, the default). */
  static create(dim: number, factory = 'Flat'): VectorIndex {
    const spec = parseFactory(factory, dim);
    let native: NativeIndex;
    try {
      native = faiss().Index.fromFactory(dim, spec.factory, METRIC_INNER_PRODUCT);
    } catch (error) {
      throw new UserError(`faiss cannot build "${factory}" for dimension ${dim}: ${(error as Error).message}`);
    }
    return new VectorIndex(native, spec, [], null);
  }

  static read(path: string): VectorIndex {
    assertReadable(path, 'index file');
    const metaPath = metaPathFor(path);
    assertReadable(metaPath, 'index metadata');
    let meta: IndexMeta;
    try {
      meta = JSON.parse(readFileSync(metaPath, 'utf8')) as IndexMeta;
    } catch (error) {
      throw new InputError(metaPath, undefined, undefined, `not valid JSON: ${(error as Error).message}`);
    }
    if (meta.format !== META_FORMAT || !Array.isArray(meta.ids) || typeof meta.factory !== 'string') {
      throw new InputError(metaPath, undefined, 'format', `expected a ${META_FORMAT} index description`);
    }
    const spec = parseFactory(meta.factory, meta.dim);
    verifyChecksum(path);
    let native: NativeIndex;
    try {
      native = faiss().Index.read(path);
    } catch (error) {
      throw new InputError(path, undefined, undefined, `faiss cannot read it: ${(error as Error).message}`);
    }
    if (native.getDimension() !== meta.dim || native.ntotal() !== meta.ids.length) {
      throw new InputError(
        path,
        undefined,
        undefined,
        `holds ${native.ntotal()} vectors of dimension ${native.getDimension()}, but ${metaPath} describes ${meta.ids.length} of dimension ${meta.dim}`,
      );
    }
    return new VectorIndex(native, spec, meta.ids, meta.trainingId);
  }

  get dim(): number {
    return this.native.getDimension();
  }

  get size(): number {
    return this.idList.length;
  }

  get isTrained(): boolean {
    return this.native.isTrained();
  }

  get ids(): readonly string[] {
    return this.idList;
  }

  /** Trains on a random sample of `vectors` (row-major, dim columns); a no-op for indexes that need none. */
  train(vectors: Float32Array, options: TrainOptions = {}): void {
    if (this.isTrained) return;
    const rows = this.rowsOf(vectors, 'training vectors');
    const sampleSize = Math.min(rows, options.sampleSize ?? Math.max(50_000, this.spec.minTrainingVectors * 40));
    if (sampleSize < this.spec.minTrainingVectors) {
      throw new UserError(
        `"${this.spec.factory}" needs at least ${this.spec.minTrainingVectors} training vectors, got ${sampleSize}`,
        'use more vectors, fewer IVF lists or fewer PQ bits',
      );
    }
    assertFinite(vectors, 'training vectors');
    const sample = sampleRows(vectors, this.dim, sampleSize, options.seed ?? 0);
    this.native.train(sample);
    this.trainingId = randomBytes(8).toString('hex');
  }

  add(ids: readonly string[], vectors: Float32Array): void {
    const rows = this.rowsOf(vectors, 'vectors');
    if (rows !== ids.length) throw new UserError(`add: ${ids.length} ids for ${rows} vectors`);
    if (!this.isTrained)
      throw new UserError(
        `"${this.spec.factory}" must be trained before vectors are added`,
        'call train() (simkit index trains on a sample automatically)',
      );
    const batch = new Set<string>();
    for (const id of ids) {
      if (this.idSet.has(id) || batch.has(id)) throw new UserError(`add: id "${id}" is already in the index`);
      batch.add(id);
    }
    assertFinite(vectors, 'vectors');
    this.native.add(vectors);
    for (const id of ids) {
      this.idList.push(id);
      this.idSet.add(id);
    }
  }

  /**
   * The `k` most similar indexed vectors of each query (row-major, dim columns), best first.
   * `k` is clamped to the index size; queries go to faiss in batches of `batchSize`.
   */
  search(queries: Float32Array, k: number, options: { batchSize?: number } = {}): SearchResult {
    if (!Number.isInteger(k) || k < 1) throw new UserError(`k must be a positive integer, got ${k}`);
    if (this.size === 0) throw new UserError('cannot search an empty index', 'add vectors first');
    if (!this.isTrained) throw new UserError(`"${this.spec.factory}" is not trained`);
    const count = this.rowsOf(queries, 'queries');
    assertFinite(queries, 'queries');
    const kUsed = Math.min(k, this.size);
    const batchSize = options.batchSize ?? SEARCH_BATCH;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new UserError(`batch size must be a positive integer, got ${batchSize}`);
    const indices = new Int32Array(count * kUsed);
    const similarities = new Float32Array(count * kUsed);
    for (let start = 0; start < count; start += batchSize) {
      const end = Math.min(count, start + batchSize);
      const { labels, distances } = this.native.search(queries.subarray(start * this.dim, end * this.dim), kUsed);
      const offset = start * kUsed;
      for (let i = 0; i < labels.length; i++) {
        const label = Number(labels[i]!);
        indices[offset + i] = label;
        similarities[offset + i] = label < 0 ? -Infinity : distances[i]!;
      }
    }
    return { k: kUsed, count, indices, similarities };
  }

  /** Writes the faiss index and its `.json` sidecar, each through a temp file and a rename. */
  write(path: string): void {
    assertWritable(path);
    assertWritable(metaPathFor(path));
    const meta: IndexMeta = {
      format: META_FORMAT,
      factory: this.spec.factory,
      dim: this.dim,
      trainingId: this.trainingId,
      ids: this.idList,
    };
    dropChecksum(path);
    replaceFileSync(path, (temporary) => this.native.write(temporary));
    writeFileAtomicSync(metaPathFor(path), JSON.stringify(meta));
    writeChecksum(path);
  }

  /**
   * Moves every vector of `other` into this index (faiss empties `other`). Trained stores (PQ, SQ)
   * merge only when both were filled from the same trained state (copies of one trained, empty index).
   */
  mergeFrom(other: VectorIndex): void {
    if (other.dim !== this.dim)
      throw new UserError(`cannot merge an index of dimension ${other.dim} into one of dimension ${this.dim}`);
    if (other.spec.factory !== this.spec.factory)
      throw new UserError(`cannot merge "${other.spec.factory}" into "${this.spec.factory}"`);
    if (!this.spec.supportsMerge)
      throw new UserError(
        `"${this.spec.factory}" indexes cannot be merged`,
        'build one index from all shards: simkit index --embeddings <shard> <shard> …',
      );
    if (other.trainingId !== this.trainingId) {
      throw new UserError(
        'cannot merge indexes trained separately (their codebooks differ)',
        'train once, write the empty trained index, and fill each shard from a copy of it',
      );
    }
    for (const id of other.idList)
      if (this.idSet.has(id)) throw new UserError(`cannot merge: id "${id}" is in both indexes`);
    try {
      this.native.mergeFrom(other.native);
    } catch (error) {
      throw new UserError(`faiss refused the merge: ${(error as Error).message}`);
    }
    for (const id of other.idList) {
      this.idList.push(id);
      this.idSet.add(id);
    }
    other.idList = [];
    other.idSet.clear();
  }

  /** Removes the vectors with these ids (flat indexes only); returns how many were removed. */
  removeIds(ids: readonly string[]): number {
    if (!this.spec.supportsRemove)
      throw new UserError(
        `removing vectors is not supported for "${this.spec.factory}"`,
        'rebuild the index without them',
      );
    const doomed = new Set(ids.filter((id) => this.idSet.has(id)));
    if (doomed.size === 0) return 0;
    const labels: number[] = [];
    this.idList.forEach((id, label) => {
      if (doomed.has(id)) labels.push(label);
    });
    const removed = this.native.removeIds(labels);
    this.idList = this.idList.filter((id) => !doomed.has(id));
    for (const id of doomed) this.idSet.delete(id);
    return removed;
  }

  private rowsOf(vectors: Float32Array, what: string): number {
    if (!(vectors instanceof Float32Array)) throw new UserError(`${what} must be a Float32Array`);
    if (vectors.length % this.dim !== 0)
      throw new UserError(`${what}: length ${vectors.length} is not a multiple of the index dimension ${this.dim}`);
    return vectors.length / this.dim;
  }
}

/** `size` distinct rows of `vectors`, chosen with a seeded partial Fisher-Yates shuffle. */
function sampleRows(vectors: Float32Array, dim: number, size: number, seed: number): Float32Array {
  const rows = vectors.length / dim;
  if (size >= rows) return vectors;
  const order = Int32Array.from({ length: rows }, (_, i) => i);
  const random = new Random(seed);
  const sample = new Float32Array(size * dim);
  for (let i = 0; i < size; i++) {
    const j = i + random.int(rows - i);
    [order[i], order[j]] = [order[j]!, order[i]!];
    sample.set(vectors.subarray(order[i]! * dim, (order[i]! + 1) * dim), i * dim);
  }
  return sample;
}
