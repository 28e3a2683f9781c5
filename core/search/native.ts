import { createRequire } from 'node:module';
import type * as FaissNode from 'faiss-node';
import { UserError } from '../errors.js';

/**
 * faiss-node's Index as built by scripts/build-faiss.mjs with native/faiss-node-typed-arrays.patch:
 * add/train/search read a Float32Array in place, and search fills typed arrays (labels are faiss's int64 ids).
 */
export interface NativeIndex {
  ntotal(): number;
  getDimension(): number;
  isTrained(): boolean;
  add(vectors: Float32Array): void;
  train(vectors: Float32Array): void;
  search(queries: Float32Array, k: number): { distances: Float32Array; labels: BigInt64Array };
  write(path: string): void;
  mergeFrom(other: NativeIndex): void;
  removeIds(labels: number[]): number;
}

type FaissModule = Omit<typeof FaissNode, 'Index'> & {
  readonly Index: {
    read(path: string): NativeIndex;
    fromFactory(dim: number, factory: string, metric: number): NativeIndex;
  };
  readonly simkitTypedArrays?: boolean;
};

const REBUILD = 'node scripts/build-faiss.mjs --force (needs libfaiss-dev; `make setup` installs it)';

let loaded: FaissModule | undefined;

/** faiss-node is a CommonJS native addon; load it lazily so commands that never search don't need it. */
export function faiss(): FaissModule {
  if (!loaded) {
    let module: FaissModule;
    try {
      module = createRequire(import.meta.url)('faiss-node') as FaissModule;
    } catch (error) {
      throw new UserError(
        `faiss-node did not load: ${(error as Error).message.split('\n')[0]}`,
        'run `make setup` (builds the native addon against libfaiss-dev)',
      );
    }
    if (module.simkitTypedArrays !== true) {
      throw new UserError(
        "faiss-node was built without simkit's typed-array patch (native/faiss-node-typed-arrays.patch)",
        `rebuild it: ${REBUILD}`,
      );
    }
    loaded = module;
  }
  return loaded;
}

export const METRIC_INNER_PRODUCT = 0;
