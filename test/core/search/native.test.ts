import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { NativeIndex } from '../../../core/search/native.js';
import { VectorIndex } from '../../../core/search/vector-index.js';

const require = createRequire(import.meta.url);
const faiss = require('faiss-node') as typeof import('faiss-node') & { simkitTypedArrays?: boolean };

describe('faiss-node', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('is the native addon built by this project against the system libfaiss, not a fallback', () => {
    const dir = dirname(require.resolve('faiss-node/package.json'));
    const addon = join(dir, 'build', 'Release', 'faiss-node.node');
    expect(existsSync(addon)).toBe(true);
    // The shim that replaces faiss's vendored sources is what the addon was configured with.
    const cache = readFileSync(join(dir, 'build', 'CMakeCache.txt'), 'utf8');
    expect(cache).toMatch(/faiss_DIR:PATH=\/usr\/(lib|share)/);
    // The source it was compiled from carries native/faiss-node-typed-arrays.patch.
    expect(readFileSync(join(dir, 'src', 'faiss.cc'), 'utf8')).toContain(
      'simkit (native/faiss-node-typed-arrays.patch)',
    );
    expect(faiss.simkitTypedArrays).toBe(true);
  });

  it('still takes and returns plain arrays, as upstream', () => {
    const index = new faiss.IndexFlatIP(2);
    index.add([1, 0, 0, 1, 0.6, 0.8]);
    const { labels, distances } = index.search([0.6, 0.8], 2);
    expect(labels).toEqual([2, 1]);
    expect(distances[0]).toBeCloseTo(1, 6);
    expect(distances[1]).toBeCloseTo(0.8, 6);
  });

  it('takes Float32Array input (also a subarray) and returns typed arrays', () => {
    const index = new faiss.IndexFlatIP(2) as unknown as {
      add(x: Float32Array): void;
      search(x: Float32Array, k: number): { distances: Float32Array; labels: BigInt64Array };
    };
    index.add(new Float32Array([1, 0, 0, 1, 0.6, 0.8]));
    const queries = new Float32Array([9, 9, 0.6, 0.8, 1, 0]);
    const { labels, distances } = index.search(queries.subarray(2), 2);
    expect(labels).toBeInstanceOf(BigInt64Array);
    expect(distances).toBeInstanceOf(Float32Array);
    expect(Array.from(labels)).toEqual([2n, 1n, 0n, 2n]);
    expect(Array.from(distances)).toEqual([1, 0.8, 1, 0.6].map(Math.fround));
    expect(() => index.search(new Float64Array([0, 1]) as unknown as Float32Array, 1)).toThrow(
      /must be an Array or a Float32Array/,
    );
    expect(() => index.add(new Float32Array(3))).toThrow(/array length/);
  });

  it('is what VectorIndex searches through: Float32Array queries in, typed arrays out', () => {
    const index = VectorIndex.create(2);
    index.add(['a', 'b', 'c'], new Float32Array([1, 0, 0, 1, 0.6, 0.8]));
    // The addon's prototype methods are not configurable; spy on this index's own faiss object.
    const search = vi.spyOn((index as unknown as { native: NativeIndex }).native, 'search');
    const result = index.search(new Float32Array([0.6, 0.8]), 2);
    expect(search).toHaveBeenCalledTimes(1);
    expect(search.mock.calls[0]![0]).toBeInstanceOf(Float32Array);
    expect((search.mock.results[0]!.value as { labels: unknown }).labels).toBeInstanceOf(BigInt64Array);
    expect(Array.from(result.indices)).toEqual([2, 1]);
  });
});
