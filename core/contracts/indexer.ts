import type { VectorIndex } from '../index/vector-index.js';

/** Builds empty inner-product indexes of one kind; registered by name under TOKENS.Indexer. */
export interface Indexer {
  /** The faiss factory string this indexer builds. */
  readonly factory: string;
  /** How many vectors to train on (a random sample of those indexed); 0 when no training is needed. */
  readonly trainingSample: number;
  create(dim: number): VectorIndex;
}
