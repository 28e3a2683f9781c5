import { describe, expect, it } from 'vitest';
import { Simkit } from '../../../core/di/container.js';
import type { Indexer } from '../../../core/contracts/indexer.js';
import { Random } from '../../../core/random.js';

const DIM = 8;
const random = new Random(4);
const vectors = Float32Array.from({ length: 200 * DIM }, () => random.uniform(-1, 1));

describe('indexers', () => {
  it('the faiss indexer trains on trainingSample vectors of those given', async () => {
    const indexers = (await Simkit.create()).registry<Indexer>('Indexer');
    // IVF16 needs at least 16 training vectors: a sample of 8 is refused, one of 100 trains.
    expect(() => indexers.create('faiss', { factory: 'IVF16,Flat', trainingSample: 8 }).build(DIM, vectors)).toThrow(
      'needs at least 16 training vectors, got 8',
    );
    const index = indexers.create('faiss', { factory: 'IVF16,Flat', trainingSample: 100 }).build(DIM, vectors);
    index.add(
      Array.from({ length: 200 }, (_, i) => `v${i}`),
      vectors,
    );
    expect(index.search(vectors.subarray(0, DIM), 1).count).toBe(1);
  });

  it('flat needs no training and takes no options', async () => {
    const indexers = (await Simkit.create()).registry<Indexer>('Indexer');
    expect(indexers.create('flat').trainingSample).toBe(0);
    expect(() => indexers.create('flat', { trainingSample: 10 })).toThrow(
      'has no option "trainingSample"; its options: (none)',
    );
  });
});
