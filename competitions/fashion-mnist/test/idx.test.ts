import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../core/errors.js';
import { encodeIdx, readIdx } from '../idx.js';

const dir = mkdtempSync(join(tmpdir(), 'simkit-idx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: number[], gzip = true): string {
  const path = join(dir, name);
  writeFileSync(path, gzip ? gzipSync(Buffer.from(bytes)) : Buffer.from(bytes));
  return path;
}

// Two 2×3 images, written byte by byte: magic 0x00000803, then 2, 2, 3 as big-endian uint32.
const TWO_IMAGES = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 255, 254, 253, 252, 251, 250];

describe('IDX reader', () => {
  it('reads a gzip-compressed 3-d file: shape from the big-endian header, values row-major', async () => {
    const array = await readIdx(file('images.gz', TWO_IMAGES));
    expect(array.shape).toEqual([2, 2, 3]);
    expect([...array.data]).toEqual([1, 2, 3, 4, 5, 6, 255, 254, 253, 252, 251, 250]);
  });

  it('reads an uncompressed 1-d file and a dimension above 255 (multi-byte size)', async () => {
    const labels = Array.from({ length: 300 }, (_, i) => i % 10);
    const array = await readIdx(file('labels', [0, 0, 8, 1, 0, 0, 1, 44, ...labels], false));
    expect(array.shape).toEqual([300]);
    expect(array.data[299]).toBe(9);
  });

  it('encodes the same bytes as the hand-written file', () => {
    const encoded = encodeIdx({ shape: [2, 2, 3], data: Uint8Array.from(TWO_IMAGES.slice(16)) });
    expect([...encoded]).toEqual(TWO_IMAGES);
  });

  it.each([
    ['bad magic', [8, 3, 0, 0, 0, 0, 0, 1, 7], /magic number starts with 0x0803, expected 0x0000/],
    ['a non-byte value type', [0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0], /value type 0x0d, expected 0x08/],
    ['a truncated header', [0, 0, 8, 3, 0, 0, 0, 2], /declares 3 dimensions but ends after 8 bytes/],
    ['a short body', TWO_IMAGES.slice(0, -1), /shape 2×2×3 \(12 values\) but the file holds 11/],
    ['a 2-byte file', [0, 0], /2 bytes; an IDX file starts with a 4-byte magic number/],
  ])('refuses %s with an error naming the file', async (name, bytes, message) => {
    const path = file(`${name.replace(/ /g, '-')}.gz`, bytes);
    const error = await readIdx(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(path);
  });

  it('refuses a file that claims gzip but is not', async () => {
    await expect(readIdx(file('broken.gz', [0x1f, 0x8b, 1, 2, 3], false))).rejects.toThrow(/not a valid gzip stream/);
  });
});
