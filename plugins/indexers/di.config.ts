import type { Indexer } from '../../core/contracts/indexer.js';
import type { Registration } from '../../core/contracts/registration.js';
import { registrations } from '../../core/di/container.js';
import { VectorIndex } from '../../core/search/vector-index.js';

interface FactoryOptions {
  /** A faiss index factory string: `Flat`, `HNSW32`, `IVF1024,Flat`, `IVF4096,PQ32`, … */
  readonly factory: string;
  /** Vectors sampled to train indexes that need training (IVF, PQ). */
  readonly trainingSample: number;
}

export function faissIndexer(factory: string, trainingSample: number): Indexer {
  return {
    factory,
    trainingSample,
    build: (dim, training) => {
      const index = VectorIndex.create(dim, factory);
      index.train(training, { sampleSize: trainingSample });
      return index;
    },
  };
}

const flat: Registration<Indexer, Record<string, never>> = {
  name: 'flat',
  description: 'exact inner-product search (faiss IndexFlatIP); the default',
  defaults: {},
  create: () => faissIndexer('Flat', 0),
};

const factory: Registration<Indexer, FactoryOptions> = {
  name: 'faiss',
  description: 'any faiss factory string (HNSW32, IVF4096,Flat, IVF…,PQ…) trained on a random sample of the gallery',
  defaults: { factory: 'HNSW32', trainingSample: 100_000 },
  create: ({ factory, trainingSample }: FactoryOptions) => faissIndexer(factory, trainingSample),
};

export default registrations('Indexer', [flat, factory]);
