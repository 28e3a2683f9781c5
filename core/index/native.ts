import { createRequire } from 'node:module';
import type * as FaissNode from 'faiss-node';
import { UserError } from '../errors.js';

export type NativeIndex = FaissNode.Index;
type FaissModule = typeof FaissNode;

let loaded: FaissModule | undefined;

/** faiss-node is a CommonJS native addon; load it lazily so commands that never search don't need it. */
export function faiss(): FaissModule {
  if (!loaded) {
    try {
      loaded = createRequire(import.meta.url)('faiss-node') as FaissModule;
    } catch (error) {
      throw new UserError(`faiss-node did not load: ${(error as Error).message.split('\n')[0]}`, 'run `make setup` (builds the native addon against libfaiss-dev)');
    }
  }
  return loaded;
}

export const METRIC_INNER_PRODUCT = 0;

/**
 * faiss-node accepts only plain arrays and reads them element by element. Chunks bound the
 * transient memory (8 bytes per element) and keep the conversion cache-friendly; see bench/knn.ts.
 */
export const CONVERSION_CHUNK_ELEMENTS = 1 << 20;

/** A plain array copy of `values`, built by push so V8 keeps a packed double array (fastest for the addon to read). */
export function toPlainArray(values: Float32Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) out.push(values[i]!);
  return out;
}
