import { readFile } from 'node:fs/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { InputError } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/io/atomic-write.js';

/**
 * IDX files (the MNIST layout): two zero bytes, a type byte (0x08 = unsigned byte, the only type
 * used by (Fashion-)MNIST), the number of dimensions, each dimension as a big-endian uint32, then
 * the values row-major. Files may be gzip-compressed (detected by the gzip magic bytes).
 */
export interface IdxArray {
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

const UNSIGNED_BYTE = 0x08;
const GZIP_MAGIC = [0x1f, 0x8b] as const;

function isGzip(bytes: Uint8Array): boolean {
  return bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
}

/** Parses the bytes of an IDX file (already decompressed); `file` names it in errors. */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4)
    throw new InputError(
      file,
      undefined,
      'header',
      `${bytes.length} bytes; an IDX file starts with a 4-byte magic number`,
    );
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new InputError(
      file,
      undefined,
      'header',
      `magic number starts with 0x${hex(bytes[0]!)}${hex(bytes[1]!)}, expected 0x0000 (not an IDX file)`,
    );
  }
  if (bytes[2] !== UNSIGNED_BYTE)
    throw new InputError(file, undefined, 'header', `value type 0x${hex(bytes[2]!)}, expected 0x08 (unsigned byte)`);
  const dims = bytes[3]!;
  if (dims < 1) throw new InputError(file, undefined, 'header', 'declares 0 dimensions');
  const headerBytes = 4 + 4 * dims;
  if (bytes.length < headerBytes)
    throw new InputError(file, undefined, 'header', `declares ${dims} dimensions but ends after ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: dims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const expected = shape.reduce((product, size) => product * size, 1);
  const actual = bytes.length - headerBytes;
  if (actual !== expected) {
    throw new InputError(
      file,
      undefined,
      'data',
      `header declares shape ${shape.join('×')} (${expected} values) but the file holds ${actual}`,
    );
  }
  return { shape, data: bytes.subarray(headerBytes) };
}

export async function readIdx(file: string): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new InputError(
      file,
      undefined,
      undefined,
      `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  if (isGzip(bytes)) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw new InputError(file, undefined, undefined, `not a valid gzip stream: ${(error as Error).message}`);
    }
  }
  return parseIdx(bytes, file);
}

/** The bytes of an IDX file of unsigned bytes with this shape. */
export function encodeIdx(array: IdxArray): Buffer {
  const expected = array.shape.reduce((product, size) => product * size, 1);
  if (array.data.length !== expected)
    throw new RangeError(`shape ${array.shape.join('×')} needs ${expected} values, got ${array.data.length}`);
  const header = Buffer.alloc(4 + 4 * array.shape.length);
  header[2] = UNSIGNED_BYTE;
  header[3] = array.shape.length;
  array.shape.forEach((size, i) => header.writeUInt32BE(size, 4 + 4 * i));
  return Buffer.concat([header, array.data]);
}

/** Writes a gzip-compressed IDX file atomically (temporary file in the same directory, then rename). */
export async function writeIdxGz(file: string, array: IdxArray): Promise<void> {
  await writeFileAtomic(file, gzipSync(encodeIdx(array)));
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
