import type { CacheSlot } from './image-cache.js';
import type { DecodeOptions, ImageSource } from './image-decode.js';

/** The messages between a DecoderPool (core/data/images.ts) and its worker threads (core/data/image-worker.ts). */

/** What a worker thread posts once its modules are loaded. */
export const WORKER_READY = 'ready';

export interface DecodeRequest {
  readonly task: number;
  readonly source: ImageSource;
  readonly options: DecodeOptions;
  readonly seed: number;
  /** Where the item's decoded pixels are cached: read from there when filled, stored there when not. */
  readonly cache?: CacheSlot;
  /** Only fill the cache slot: no augmentation, no data in the reply. */
  readonly fillOnly?: boolean;
}

export interface DecodeReply {
  readonly task: number;
  readonly threadId: number;
  readonly data?: Float32Array;
  readonly error?: string;
  /** The pixels came from the cache (sharp did not decode the image). */
  readonly cached?: boolean;
}
