import { closeSync, openSync } from 'node:fs';
import { bytesOf, writeFully } from './files.js';

/**
 * faiss's on-disk layout of a generic IndexFlat (fourcc "IxFl", faiss 1.7.x index_io; metric 0 = inner product):
 * d:int32, ntotal:int64, two int64 placeholders (1<<20), is_trained:uint8, metric:int32,
 * then the float count:uint64 and the floats. Writing it directly and reading it back with
 * faiss is how vectors enter a flat index without faiss-node's per-element array conversion.
 */
const HEADER_BYTES = 45;

function flatHeader(dim: number, count: number): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.write('IxFl', 0, 'latin1');
  header.writeInt32LE(dim, 4);
  header.writeBigInt64LE(BigInt(count), 8);
  header.writeBigInt64LE(1n << 20n, 16);
  header.writeBigInt64LE(1n << 20n, 24);
  header.writeUInt8(1, 32);
  header.writeInt32LE(0, 33);
  header.writeBigUInt64LE(BigInt(count) * BigInt(dim), 37);
  return header;
}

/** Writes `count` vectors, supplied in order by `chunks`, as a faiss IndexFlatIP file. */
export function writeFlatIndexFile(path: string, dim: number, count: number, chunks: Iterable<Float32Array>): void {
  const fd = openSync(path, 'w');
  try {
    writeFully(fd, flatHeader(dim, count));
    let written = 0;
    for (const chunk of chunks) {
      writeFully(fd, bytesOf(chunk));
      written += chunk.length;
    }
    if (written !== count * dim) throw new Error(`flat index file: expected ${count * dim} floats, got ${written}`);
  } finally {
    closeSync(fd);
  }
}
