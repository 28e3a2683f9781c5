import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFactory } from '../../../core/search/factory.js';
import { rowsOf, searchNeighbours } from '../../../core/search/neighbours.js';
import { VectorIndex } from '../../../core/search/vector-index.js';
import { bruteForce, idsFor, tempDir, unitVectors } from './helpers.js';

const dim = 16;
const gallery = unitVectors(600, dim, 1);
const queries = unitVectors(25, dim, 2);

function flatIndex(): VectorIndex {
  const index = VectorIndex.create(dim);
  index.add(idsFor(600), gallery);
  return index;
}

describe('VectorIndex (exact inner product)', () => {
  it('returns the same neighbours and similarities as a float64 brute force', () => {
    const result = flatIndex().search(queries, 10, { batchSize: 7 });
    const expected = bruteForce(queries, gallery, dim, 10);
    expect(result.k).toBe(10);
    for (let q = 0; q < 25; q++) {
      for (let r = 0; r < 10; r++) {
        expect(result.indices[q * 10 + r]).toBe(expected[q]![r]!.index);
        expect(result.similarities[q * 10 + r]).toBeCloseTo(expected[q]![r]!.similarity, 5);
      }
    }
  });

  it('adds in several calls (chunked flat path) with the same result as one call', () => {
    const index = VectorIndex.create(dim);
    index.add(idsFor(250), gallery.subarray(0, 250 * dim));
    index.add(
      idsFor(350).map((_, i) => `item${250 + i}`),
      gallery.subarray(250 * dim),
    );
    expect(index.size).toBe(600);
    expect(Array.from(index.search(queries, 5).indices)).toEqual(Array.from(flatIndex().search(queries, 5).indices));
  });

  it('clamps k to the number of indexed vectors', () => {
    const index = VectorIndex.create(dim);
    index.add(['a', 'b', 'c'], gallery.subarray(0, 3 * dim));
    const result = index.search(queries.subarray(0, dim), 50);
    expect(result.k).toBe(3);
    expect([...result.indices].sort()).toEqual([0, 1, 2]);
  });

  it('excludes the query itself when asked, keeping k others', () => {
    const index = flatIndex();
    const rows = searchNeighbours(
      index,
      ['item3', 'item7'],
      gallery.subarray(3 * dim, 5 * dim).map((x) => x),
      { k: 4, excludeSelf: true },
    );
    expect(rows[0]!.indices).toHaveLength(4);
    expect(rows[0]!.indices).not.toContain(3);
    // 'item7' is not the vector searched (row 4), so nothing is removed but the list is cut to k.
    expect(rows[1]!.indices).toEqual(rowsOf(index.search(gallery.subarray(4 * dim, 5 * dim), 4))[0]!.indices);
  });
});

describe('VectorIndex refuses what would abort the process', () => {
  it('refuses bad k, empty indexes, wrong dimensions and non-finite values', () => {
    const index = flatIndex();
    expect(() => index.search(queries, 0)).toThrow(/k must be a positive integer/);
    expect(() => index.search(queries, 2.5)).toThrow(/k must be a positive integer/);
    expect(() => index.search(new Float32Array(dim + 1), 1)).toThrow(/not a multiple of the index dimension 16/);
    expect(() => VectorIndex.create(dim).search(queries, 1)).toThrow(/empty index/);
    expect(() => index.add(['x'], new Float32Array(dim - 1))).toThrow(/not a multiple/);
    expect(() => index.add(['x', 'y'], new Float32Array(dim))).toThrow(/2 ids for 1 vectors/);
    expect(() => index.add(['item1'], gallery.subarray(0, dim))).toThrow(/already in the index/);
    const nan = new Float32Array(dim).fill(0.1);
    nan[3] = NaN;
    expect(() => index.search(nan, 1)).toThrow(/not finite/);
    expect(() => index.search(Array.from(queries) as unknown as Float32Array, 1)).toThrow(/must be a Float32Array/);
  });

  it('refuses adding to or searching an untrained IVF index, and training on too few vectors', () => {
    const index = VectorIndex.create(dim, 'IVF32,Flat');
    expect(index.isTrained).toBe(false);
    expect(() => index.add(['a'], gallery.subarray(0, dim))).toThrow(/must be trained before/);
    expect(() => index.train(gallery.subarray(0, 10 * dim))).toThrow(/at least 32 training vectors, got 10/);
    expect(() => VectorIndex.create(dim, 'IVF16,PQ4').train(gallery.subarray(0, 100 * dim))).toThrow(
      /at least 256 training vectors/,
    );
  });

  it('refuses unwritable paths before faiss sees them', () => {
    const dir = tempDir();
    expect(() => flatIndex().write(join(dir, 'missing', 'x.index'))).toThrow(/does not exist/);
    mkdirSync(join(dir, 'adir'));
    expect(() => flatIndex().write(join(dir, 'adir'))).toThrow(/is a directory/);
  });

  it('refuses removeIds and merges where faiss does not support them', () => {
    const hnsw = VectorIndex.create(dim, 'HNSW8');
    hnsw.add(idsFor(50), gallery.subarray(0, 50 * dim));
    expect(() => hnsw.removeIds(['item1'])).toThrow(/not supported for "HNSW8"/);
    const other = VectorIndex.create(dim, 'HNSW8');
    expect(() => hnsw.mergeFrom(other)).toThrow(/"HNSW8" indexes cannot be merged/);
    expect(() => VectorIndex.create(dim, 'IVF8,Flat').mergeFrom(VectorIndex.create(dim, 'IVF8,Flat'))).toThrow(
      /cannot be merged/,
    );
    expect(() => flatIndex().mergeFrom(VectorIndex.create(8))).toThrow(/dimension 8 into one of dimension 16/);
    const pqA = VectorIndex.create(dim, 'PQ4x4');
    const pqB = VectorIndex.create(dim, 'PQ4x4');
    pqA.train(gallery);
    pqB.train(gallery);
    expect(() => pqA.mergeFrom(pqB)).toThrow(/trained separately/);
  });

  it('refuses factory strings it cannot validate', () => {
    expect(() => parseFactory('IVF10,Flat,PQ4', dim)).toThrow(/must be the last component/);
    expect(() => parseFactory('LSH', dim)).toThrow(/unsupported faiss factory component "LSH"/);
    expect(() => parseFactory('PQ5', dim)).toThrow(/not divisible by 5/);
    expect(() => parseFactory('IVF10', dim)).toThrow(/needs a storage component/);
    expect(parseFactory('Flat', dim)).toMatchObject({ exact: true, supportsRemove: true, supportsMerge: true });
    expect(parseFactory('IVF64,PQ8x4', dim).minTrainingVectors).toBe(64);
    expect(parseFactory('OPQ4_8,IVF16,PQ4', dim).minTrainingVectors).toBe(256);
  });
});

describe('factory strings', () => {
  for (const factory of ['IVF16,Flat', 'HNSW16', 'IVF8,PQ4x4', 'PCA8,Flat', 'SQ8']) {
    it(`${factory}: trains on a sample, adds, and finds each indexed vector as its own best match`, () => {
      const index = VectorIndex.create(dim, factory);
      index.train(gallery, { sampleSize: 400, seed: 3 });
      expect(index.isTrained).toBe(true);
      index.add(idsFor(600), gallery);
      const probe = gallery.subarray(0, 40 * dim);
      const result = index.search(probe, 5);
      let selfFirst = 0;
      for (let q = 0; q < 40; q++) {
        expect(result.indices[q * 5]).toBeGreaterThanOrEqual(0);
        if (result.indices[q * 5] === q) selfFirst++;
      }
      // Lossy codes (PQ, PCA) may rank a close neighbour above the vector itself now and then.
      expect(selfFirst).toBeGreaterThanOrEqual(factory.includes('PQ') || factory.includes('PCA') ? 20 : 40);
    });
  }
});

describe('persistence, merge and removal', () => {
  it('round-trips through write/read with ids, without leaving temp files', () => {
    const dir = tempDir();
    const path = join(dir, 'flat.index');
    const index = flatIndex();
    index.write(path);
    expect(readdirSync(dir).sort()).toEqual(['flat.index', 'flat.index.json', 'flat.index.sha256']);
    const loaded = VectorIndex.read(path);
    expect(loaded.ids).toEqual(index.ids);
    expect(loaded.search(queries, 8)).toEqual(index.search(queries, 8));
  });

  it('reports a missing sidecar or a corrupt index file clearly', () => {
    const dir = tempDir();
    const path = join(dir, 'x.index');
    flatIndex().write(path);
    expect(() => VectorIndex.read(join(dir, 'nope.index'))).toThrow(/does not exist/);
    writeFileSync(path, 'garbage');
    expect(() => VectorIndex.read(path)).toThrow(/x\.index: checksum mismatch/);
    rmSync(`${path}.sha256`);
    expect(() => VectorIndex.read(path)).toThrow(/faiss cannot read it/);
    writeFileSync(`${path}.json`, '{');
    expect(() => VectorIndex.read(path)).toThrow(/not valid JSON/);
  });

  it('merges flat shards into the index built from all vectors', () => {
    const a = VectorIndex.create(dim);
    const b = VectorIndex.create(dim);
    a.add(idsFor(600).slice(0, 300), gallery.subarray(0, 300 * dim));
    b.add(idsFor(600).slice(300), gallery.subarray(300 * dim));
    a.mergeFrom(b);
    expect(b.size).toBe(0);
    expect(a.ids).toEqual(idsFor(600));
    expect(a.search(queries, 10)).toEqual(flatIndex().search(queries, 10));
  });

  it('merges PQ shards filled from copies of one trained index', () => {
    const dir = tempDir();
    const trained = VectorIndex.create(dim, 'PQ4x4');
    trained.train(gallery);
    trained.write(join(dir, 'trained.index'));
    const whole = VectorIndex.read(join(dir, 'trained.index'));
    whole.add(idsFor(600), gallery);
    const a = VectorIndex.read(join(dir, 'trained.index'));
    const b = VectorIndex.read(join(dir, 'trained.index'));
    a.add(idsFor(600).slice(0, 200), gallery.subarray(0, 200 * dim));
    b.add(idsFor(600).slice(200), gallery.subarray(200 * dim));
    a.mergeFrom(b);
    expect(a.size).toBe(600);
    expect(a.search(queries, 5)).toEqual(whole.search(queries, 5));
  });

  it('removes vectors from a flat index and keeps ids aligned', () => {
    const index = flatIndex();
    const best = index.search(queries.subarray(0, dim), 1).indices[0]!;
    const removedId = index.ids[best]!;
    expect(index.removeIds([removedId, 'not-there'])).toBe(1);
    expect(index.size).toBe(599);
    expect(index.ids).not.toContain(removedId);
    const expected = bruteForce(queries.subarray(0, dim), gallery, dim, 2)[0]![1]!;
    const after = index.search(queries.subarray(0, dim), 1);
    expect(index.ids[after.indices[0]!]).toBe(`item${expected.index}`);
  });
});
