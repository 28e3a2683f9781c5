import { closeSync, fstatSync, openSync, readSync, renameSync, rmSync } from 'node:fs';
import { InputError, UserError } from '../errors.js';
import { temporarySibling } from '../io/atomic-write.js';
import { dropChecksum, verifyChecksum, writeChecksum } from '../io/checksum.js';
import { assertReadable, assertWritable, bytesOf, writeFully } from './files.js';

/**
 * simkit embeddings file (docs/knn.md):
 *   bytes 0-7   magic "SIMKEMB1"
 *   bytes 8-11  uint32 LE: size of the header block (a multiple of 64, so vectors start aligned)
 *   bytes 12-…  UTF-8 JSON header, padded with spaces to the header block size
 *   then        count × dim float32 LE, L2-normalised, row-major
 *   then        the ids, UTF-8, each followed by "\n" (header.idsBytes bytes)
 */
export const EMBEDDINGS_MAGIC = 'SIMKEMB1';
const PREFIX_BYTES = 12;
const ALIGN = 64;

export interface Shard {
  /** 0-based. */
  readonly index: number;
  readonly count: number;
}

/** Where the vectors came from; free-form strings saved in the header. */
export interface EmbeddingsInfo {
  readonly model?: string;
  readonly run?: string;
}

export interface EmbeddingsHeader extends EmbeddingsInfo {
  readonly format: 'simkit-embeddings';
  readonly version: 1;
  readonly dtype: 'float32';
  readonly normalized: true;
  readonly dim: number;
  readonly count: number;
  readonly idsBytes: number;
  readonly shard?: Shard;
  readonly createdAt: string;
}

export interface EmbeddingsBatch {
  readonly ids: string[];
  /** ids.length × dim, row-major. */
  readonly vectors: Float32Array;
}

/** Parses `--shard i/n` (0 ≤ i < n). */
export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index >= count)
    throw new UserError(`invalid shard "${text}"`, 'write i/n with 0 ≤ i < n, e.g. --shard 0/4');
  return { index, count };
}

/** Item number `position` (0-based, in input order) belongs to shard `position mod n`. */
export function inShard(shard: Shard | undefined, position: number): boolean {
  return !shard || position % shard.count === shard.index;
}

function headerBlockSize(json: string): number {
  return Math.ceil((PREFIX_BYTES + Buffer.byteLength(json)) / ALIGN) * ALIGN;
}

/**
 * Streams embeddings to a file: vectors go straight to a temp file next to the target, ids to a
 * second temp file; `close()` appends the ids, writes the final header and renames. Memory stays
 * bounded by one batch (plus the set of ids, to refuse duplicates).
 */
export class EmbeddingsWriter {
  private count = 0;
  private idsBytes = 0;
  private closed = false;
  private readonly seen = new Set<string>();
  private readonly reserved: number;

  private constructor(
    readonly path: string,
    readonly dim: number,
    private readonly info: EmbeddingsInfo & { shard?: Shard },
    private readonly vectorsTemp: string,
    private readonly idsTemp: string,
    private readonly vectorsFd: number,
    private readonly idsFd: number,
  ) {
    // The header is rewritten in place on close: reserve room for the largest counts it can hold.
    this.reserved = headerBlockSize(this.headerJson(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
  }

  static open(path: string, dim: number, info: EmbeddingsInfo & { shard?: Shard } = {}): EmbeddingsWriter {
    if (!Number.isInteger(dim) || dim < 1)
      throw new UserError(`embedding dimension must be a positive integer, got ${dim}`);
    assertWritable(path);
    const vectorsTemp = temporarySibling(path);
    const idsTemp = `${vectorsTemp}.ids`;
    return new EmbeddingsWriter(
      path,
      dim,
      info,
      vectorsTemp,
      idsTemp,
      openSync(vectorsTemp, 'w'),
      openSync(idsTemp, 'w'),
    );
  }

  get written(): number {
    return this.count;
  }

  /** Appends a batch; each vector is L2-normalised here (zero or non-finite vectors are refused). */
  append(ids: readonly string[], vectors: Float32Array): void {
    if (this.closed) throw new Error('append after close');
    if (vectors.length !== ids.length * this.dim)
      throw new UserError(
        `embeddings: ${ids.length} ids for ${vectors.length / this.dim} vectors of dimension ${this.dim}`,
      );
    const normalized = new Float32Array(vectors.length);
    for (let row = 0; row < ids.length; row++) {
      const id = ids[row]!;
      if (id.length === 0 || id.includes('\n'))
        throw new UserError(
          `embeddings: invalid id ${JSON.stringify(id)}`,
          'ids must be non-empty and contain no newline',
        );
      if (this.seen.has(id)) throw new UserError(`embeddings: duplicate id "${id}"`);
      this.seen.add(id);
      normalizeInto(vectors, normalized, row, this.dim, id);
    }
    if (this.count === 0) writeFully(this.vectorsFd, new Uint8Array(this.reserved));
    writeFully(this.vectorsFd, bytesOf(normalized));
    const idBytes = Buffer.from(ids.map((id) => `${id}\n`).join(''), 'utf8');
    writeFully(this.idsFd, idBytes);
    this.idsBytes += idBytes.length;
    this.count += ids.length;
  }

  /** Finishes the file and moves it into place; returns its header. */
  close(): EmbeddingsHeader {
    if (this.closed) throw new Error('close called twice');
    this.closed = true;
    try {
      if (this.count === 0) writeFully(this.vectorsFd, new Uint8Array(this.reserved));
      closeSync(this.idsFd);
      const idsFd = openSync(this.idsTemp, 'r');
      try {
        const chunk = Buffer.alloc(1 << 20);
        let position = 0;
        for (let n; (n = readSync(idsFd, chunk, 0, chunk.length, position)) > 0; position += n)
          writeFully(this.vectorsFd, chunk.subarray(0, n));
      } finally {
        closeSync(idsFd);
      }
      const json = this.headerJson(this.count, this.idsBytes);
      const block = Buffer.alloc(this.reserved, ' ');
      block.write(EMBEDDINGS_MAGIC, 0, 'latin1');
      block.writeUInt32LE(this.reserved, 8);
      block.write(json, PREFIX_BYTES, 'utf8');
      writeFully(this.vectorsFd, block, 0);
      closeSync(this.vectorsFd);
      dropChecksum(this.path);
      renameSync(this.vectorsTemp, this.path);
      writeChecksum(this.path);
      return JSON.parse(json) as EmbeddingsHeader;
    } catch (error) {
      this.removeTemps();
      throw error;
    } finally {
      rmSync(this.idsTemp, { force: true });
    }
  }

  /** Drops everything written so far; the target file is left untouched. */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    this.removeTemps();
  }

  private removeTemps(): void {
    for (const fd of [this.vectorsFd, this.idsFd]) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
    rmSync(this.vectorsTemp, { force: true });
    rmSync(this.idsTemp, { force: true });
  }

  private headerJson(count: number, idsBytes: number): string {
    const header: EmbeddingsHeader = {
      format: 'simkit-embeddings',
      version: 1,
      dtype: 'float32',
      normalized: true,
      dim: this.dim,
      count,
      idsBytes,
      ...(this.info.model === undefined ? {} : { model: this.info.model }),
      ...(this.info.run === undefined ? {} : { run: this.info.run }),
      ...(this.info.shard === undefined ? {} : { shard: this.info.shard }),
      createdAt: new Date().toISOString(),
    };
    return JSON.stringify(header);
  }
}

function normalizeInto(source: Float32Array, target: Float32Array, row: number, dim: number, id: string): void {
  const offset = row * dim;
  let sum = 0;
  for (let j = 0; j < dim; j++) sum += source[offset + j]! * source[offset + j]!;
  if (!Number.isFinite(sum) || sum === 0)
    throw new UserError(
      `embeddings: the vector of "${id}" is ${sum === 0 ? 'zero' : 'not finite'}`,
      'check the model output for NaN or dead features',
    );
  const scale = 1 / Math.sqrt(sum);
  for (let j = 0; j < dim; j++) target[offset + j] = source[offset + j]! * scale;
}

/** An open embeddings file: validated header, ids, and random access to vector rows. */
export class EmbeddingsFile {
  private constructor(
    readonly path: string,
    readonly header: EmbeddingsHeader,
    private readonly vectorsOffset: number,
    private readonly fd: number,
  ) {}

  static open(path: string): EmbeddingsFile {
    assertReadable(path, 'embeddings file');
    verifyChecksum(path);
    const fd = openSync(path, 'r');
    try {
      const { header, vectorsOffset } = readHeader(path, fd);
      return new EmbeddingsFile(path, header, vectorsOffset, fd);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  get dim(): number {
    return this.header.dim;
  }

  get count(): number {
    return this.header.count;
  }

  ids(): string[] {
    const bytes = Buffer.alloc(this.header.idsBytes);
    readFully(this.fd, bytes, this.vectorsOffset + this.count * this.dim * 4);
    const ids = bytes.toString('utf8').split('\n');
    ids.pop();
    if (ids.length !== this.count)
      throw new InputError(this.path, undefined, 'ids', `expected ${this.count} ids, found ${ids.length}`);
    return ids;
  }

  /** Rows [start, end) as one Float32Array, read straight into its buffer. */
  vectors(start = 0, end = this.count): Float32Array {
    if (start < 0 || end > this.count || start > end)
      throw new RangeError(`rows ${start}..${end} outside 0..${this.count}`);
    const out = new Float32Array((end - start) * this.dim);
    readFully(this.fd, bytesOf(out), this.vectorsOffset + start * this.dim * 4);
    return out;
  }

  /** Consecutive row blocks of at most `rows` rows, in file order. */
  *vectorChunks(rows: number): Generator<Float32Array> {
    for (let start = 0; start < this.count; start += rows)
      yield this.vectors(start, Math.min(this.count, start + rows));
  }

  /** Batches of ids and vectors in file order. */
  *batches(rows: number): Generator<EmbeddingsBatch> {
    const ids = this.ids();
    for (let start = 0; start < this.count; start += rows) {
      const end = Math.min(this.count, start + rows);
      yield { ids: ids.slice(start, end), vectors: this.vectors(start, end) };
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Reads a whole embeddings file (ids and vectors). */
export function readEmbeddings(path: string): { header: EmbeddingsHeader; ids: string[]; vectors: Float32Array } {
  const file = EmbeddingsFile.open(path);
  try {
    return { header: file.header, ids: file.ids(), vectors: file.vectors() };
  } finally {
    file.close();
  }
}

function readFully(fd: number, target: Uint8Array, position: number): void {
  let offset = 0;
  while (offset < target.length) {
    const n = readSync(fd, target, offset, Math.min(target.length - offset, 1 << 30), position + offset);
    if (n === 0) throw new Error('unexpected end of file');
    offset += n;
  }
}

function readHeader(path: string, fd: number): { header: EmbeddingsHeader; vectorsOffset: number } {
  const size = fstatSync(fd).size;
  const fail = (field: string | undefined, problem: string): never => {
    throw new InputError(path, undefined, field, problem);
  };
  const prefix = Buffer.alloc(PREFIX_BYTES);
  if (
    size < PREFIX_BYTES ||
    readSync(fd, prefix, 0, PREFIX_BYTES, 0) < PREFIX_BYTES ||
    prefix.toString('latin1', 0, 8) !== EMBEDDINGS_MAGIC
  ) {
    fail(undefined, `not a simkit embeddings file (expected it to start with "${EMBEDDINGS_MAGIC}")`);
  }
  const blockSize = prefix.readUInt32LE(8);
  if (blockSize < PREFIX_BYTES || blockSize % ALIGN !== 0 || blockSize > size)
    fail('header size', `${blockSize} is not a valid header size for a file of ${size} bytes`);
  const block = Buffer.alloc(blockSize - PREFIX_BYTES);
  readFully(fd, block, PREFIX_BYTES);
  let header: EmbeddingsHeader;
  try {
    header = JSON.parse(block.toString('utf8')) as EmbeddingsHeader;
  } catch (error) {
    return fail('header', `the JSON header does not parse: ${(error as Error).message}`);
  }
  if (header === null || typeof header !== 'object') fail('header', 'the JSON header is not an object');
  if (header.format !== 'simkit-embeddings' || header.version !== 1)
    fail('format', `expected simkit-embeddings version 1, got ${header.format} ${header.version}`);
  if (header.dtype !== 'float32') fail('dtype', `only float32 is supported, got ${header.dtype}`);
  for (const field of ['dim', 'count', 'idsBytes'] as const) {
    const value = header[field];
    if (!Number.isSafeInteger(value) || value < (field === 'dim' ? 1 : 0))
      fail(field, `expected a ${field === 'dim' ? 'positive' : 'non-negative'} integer, got ${JSON.stringify(value)}`);
  }
  const expected = blockSize + header.count * header.dim * 4 + header.idsBytes;
  if (expected !== size)
    fail(
      undefined,
      `the header describes ${header.count} vectors of dimension ${header.dim} (${expected} bytes) but the file has ${size} bytes (truncated or corrupt)`,
    );
  return { header, vectorsOffset: blockSize };
}

/**
 * Concatenates embeddings files (e.g. the shards of one run) into `out`, streaming. All inputs
 * must share the dimension and the model/run they came from.
 */
export function mergeEmbeddingFiles(inputs: readonly string[], out: string, batchRows = 65_536): EmbeddingsHeader {
  if (inputs.length === 0) throw new UserError('nothing to merge');
  const files = inputs.map((path) => EmbeddingsFile.open(path));
  try {
    const first = files[0]!.header;
    for (const file of files) {
      if (file.dim !== first.dim)
        throw new UserError(`${file.path} has dimension ${file.dim}, ${files[0]!.path} has ${first.dim}`);
      if (file.header.model !== first.model || file.header.run !== first.run)
        throw new UserError(`${file.path} comes from another model/run than ${files[0]!.path}`);
    }
    const writer = EmbeddingsWriter.open(out, first.dim, { model: first.model, run: first.run });
    try {
      for (const file of files) for (const batch of file.batches(batchRows)) writer.append(batch.ids, batch.vectors);
      return writer.close();
    } catch (error) {
      writer.abort();
      throw error;
    }
  } finally {
    for (const file of files) file.close();
  }
}
