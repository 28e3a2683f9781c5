import type { Indexer } from '../../core/contracts/indexer.js';
import type { Registration } from '../../core/contracts/registration.js';
import { registrations } from '../../core/di/container.js';
import { VectorIndex } from '../../core/index/vector-index.js';

interface FactoryOptions {
  /** A faiss index factory string: `Flat`, `HNSW32`, `IVF1024,Flat`, `IVF4096,PQ32`, … */
  readonly factory: string;
  /** Vectors sampled to train indexes that need training (IVF, PQ). */
  readonly trainingSample: number;
}

function indexer(factory: string, trainingSample: number): Indexer {
  return { factory, trainingSample, create: (dim) => VectorIndex.create(dim, factory) };
}

const flat: Registration<Indexer, Record<string, never>> = {
  name: 'flat',
  description: 'exact inner-product search (faiss IndexFlatIP); the default',
  defaults: {},
  create: () => indexer('Flat', 0),
};

const factory: Registration<Indexer, FactoryOptions> = {
  name: 'faiss',
  description: 'any faiss factory string (HNSW32, IVF4096,Flat, IVF…,PQ…) with training on a sample',
  defaults: { factory: 'HNSW32', trainingSample: 100_000 },
  create: (options) => indexer(options?.factory ?? 'HNSW32', options?.trainingSample ?? 100_000),
};

export default registrations('Indexer', [flat, factory]);
