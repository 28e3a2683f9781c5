import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { threadId, Worker } from 'node:worker_threads';
import { InputError } from '../errors.js';
import { log } from '../log.js';
import { itemProgress } from '../progress.js';
import type { ImageCache } from './image-cache.js';
import { WORKER_READY, type DecodeReply, type DecodeRequest } from './worker-protocol.js';
import {
  channelsOf,
  decodeImage,
  filesOf,
  outputShape,
  sampleSeed,
  type DecodeOptions,
  type ImageSource,
} from './image-decode.js';

export { IMAGENET_MEAN, IMAGENET_STD, decodeImage, sampleSeed } from './image-decode.js';
export type { DecodeOptions, ImageSource } from './image-decode.js';

export { WORKER_READY, type DecodeReply, type DecodeRequest } from './worker-protocol.js';

/**
 * The worker runs from dist/ when compiled (.js) and from source under tsx or vitest (.ts), like the
 * DI modules in core/di/container.ts (a query string, as tsx's tsImport adds, is ignored). Node 20
 * does not apply `--import tsx` hooks to a worker's entry module, so a source worker is started
 * through tsx's tsImport.
 */
function startWorker(): Worker {
  if (!new URL(import.meta.url).pathname.endsWith('.ts'))
    return new Worker(new URL('./image-worker.js', import.meta.url));
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('tsx/package.json');
  const api = (require(manifest) as { exports: Record<string, { import: { default: string } }> }).exports['./esm/api']!;
  const tsx = new URL(api.import.default, pathToFileURL(manifest)).href;
  const entry = new URL('./image-worker.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(tsx)}).then((api) => api.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(entry)}))`;
  return new Worker(code, { eval: true });
}

/** A promise with its resolve and reject (Promise.withResolvers, which Node 20 lacks). */
function resolvers<T>(): { promise: Promise<T>; resolve(value: T): void; reject(error: Error): void } {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

/** Most tasks sent to a thread in one message. */
const MAX_CHUNK = 16;

interface Pending {
  readonly request: DecodeRequest;
  resolve(reply: DecodeReply): void;
  reject(error: Error): void;
}

/**
 * A fixed set of worker threads that decode and augment images (sharp + the float augmentations),
 * so that decoding overlaps training on the main thread. Tasks run in submission order.
 */
export class DecoderPool {
  private readonly workers: Worker[];
  private readonly idle: Worker[];
  private readonly queue: Pending[] = [];
  private readonly running = new Map<Worker, Pending[]>();
  private dispatchScheduled = false;
  private nextTask = 0;
  private failure: Error | undefined;
  private started = 0;
  private readonly whenReady = resolvers<void>();

  constructor(size: number = availableParallelism()) {
    this.whenReady.promise.catch(() => {}); // a failure is reported by the calls that wait for it
    this.workers = Array.from({ length: Math.max(1, size) }, () => this.start());
    this.idle = [...this.workers];
  }

  /** The threads' ids (worker_threads.threadId), for diagnostics. */
  get threadIds(): number[] {
    return this.workers.map((worker) => worker.threadId);
  }

  get size(): number {
    return this.workers.length;
  }

  /** Resolves once every thread has loaded its modules (sharp included) and can take work. */
  ready(): Promise<void> {
    return this.whenReady.promise;
  }

  decode(
    source: ImageSource,
    options: DecodeOptions,
    seed: number,
    cached: Pick<DecodeRequest, 'cache' | 'fillOnly'> = {},
  ): Promise<DecodeReply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ request: { task: this.nextTask++, source, options, seed, ...cached }, resolve, reject });
      this.scheduleDispatch();
    });
  }

  /** Stops the threads; tasks not finished are rejected. */
  async close(): Promise<void> {
    this.fail(new Error('the decoder pool was closed'));
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  private start(): Worker {
    const worker = startWorker();
    worker.on('message', (replies: DecodeReply[] | typeof WORKER_READY) => {
      if (replies === WORKER_READY) {
        this.started++;
        if (this.started === this.workers.length) this.whenReady.resolve();
        return;
      }
      const pending = this.running.get(worker) ?? [];
      this.running.delete(worker);
      this.idle.push(worker);
      pending.forEach((task, i) => task.resolve(replies[i]!));
      this.dispatch();
    });
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => {
      if (!this.failure) this.fail(new Error(`an image decoding thread stopped (exit code ${code})`));
    });
    return worker;
  }

  /** Dispatches once the caller's synchronous requests are all queued, so that they can go out in chunks. */
  private scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    queueMicrotask(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  /**
   * Sends each idle thread a chunk of the queue (an equal share, at most MAX_CHUNK tasks): one message per chunk
   * rather than per image keeps the threads' round trips few when an image takes little work (cached pixels).
   */
  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const share = Math.ceil(this.queue.length / this.idle.length);
      const worker = this.idle.pop()!;
      const chunk = this.queue.splice(0, Math.min(MAX_CHUNK, share));
      this.running.set(worker, chunk);
      worker.postMessage(chunk.map((pending) => pending.request));
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.whenReady.reject(this.failure);
    for (const pending of [...[...this.running.values()].flat(), ...this.queue]) pending.reject(this.failure);
    this.running.clear();
    this.queue.length = 0;
  }
}

/** An item of a batch stream; `label` is copied into the batch's labels (−1 when absent). */
export interface BatchSource extends ImageSource {
  readonly label?: number;
  /** The item's slot in the stream's cache. */
  readonly cacheSlot?: number;
}

export interface ImageBatchOptions extends DecodeOptions {
  readonly batchSize: number;
  /** Seeds the augmentations; with the same seed and items a stream repeats exactly. Default 0. */
  readonly seed?: number;
  /** Batches decoded ahead of the one being used. Default 2. */
  readonly prefetch?: number;
  /** An unreadable image fails the stream (InputError) instead of being skipped. */
  readonly strict?: boolean;
  /** Threads of the pool created for the stream (default: one per core); ignored when `pool` is given. */
  readonly workers?: number;
  /** A pool to share between streams; the stream then leaves it open. */
  readonly pool?: DecoderPool;
  /** Decoded pixels of the items with a `cacheSlot` (at this stream's size and channels): sharp decodes each once. */
  readonly cache?: ImageCache;
}

export interface ImageBatch {
  readonly ids: string[];
  /** Positions of the batch's items in the stream's item list. */
  readonly indices: Int32Array;
  readonly labels: Int32Array;
  /** n × height × width × channels (or n × channels × height × width for layout 'chw'). */
  readonly data: Float32Array;
  readonly shape: [number, number, number, number];
  /** Ids of the threads that decoded the items. */
  readonly threadIds: number[];
}

/** Items left out because their image could not be read, and images sharp decoded (not taken from the cache). */
export interface StreamSummary {
  skipped: number;
  readonly reasons: { readonly id: string; readonly file: string; readonly reason: string }[];
  decoded: number;
}

/**
 * Batches of decoded, augmented images in item order, decoded by a worker pool while the previous
 * batches are used. At most `prefetch` batches beyond the current one are held in memory. An
 * unreadable image is left out of its batch (a batch may then be smaller) and counted in `summary`.
 */
export class ImageBatches implements AsyncIterable<ImageBatch> {
  readonly summary: StreamSummary = { skipped: 0, reasons: [], decoded: 0 };

  constructor(
    private readonly items: readonly BatchSource[],
    private readonly options: ImageBatchOptions,
  ) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new RangeError(`batchSize must be a positive integer, got ${options.batchSize}`);
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ImageBatch> {
    const { batchSize, prefetch = 2 } = this.options;
    const pool = this.options.pool ?? new DecoderPool(this.options.workers);
    const pending: Promise<DecodedBatch>[] = [];
    let next = 0;
    try {
      while (next < this.items.length || pending.length > 0) {
        while (pending.length < 1 + prefetch && next < this.items.length) {
          const batch = this.decodeBatch(pool, next, Math.min(next + batchSize, this.items.length));
          batch.catch(() => {}); // awaited in turn below; this only keeps a later failure from being reported early
          pending.push(batch);
          next += batchSize;
        }
        const batch = this.assemble(await pending.shift()!);
        if (batch) yield batch;
      }
    } finally {
      if (!this.options.pool) await pool.close();
    }
  }

  private async decodeBatch(pool: DecoderPool, start: number, end: number): Promise<DecodedBatch> {
    const { size, channels, layout, mean, std, augment, seed = 0 } = this.options;
    const options: DecodeOptions = { size, channels, layout, mean, std, augment };
    const indices = Array.from({ length: end - start }, (_, i) => start + i);
    const replies = await Promise.all(
      indices.map((index) => this.decodeItem(pool, this.items[index]!, options, sampleSeed(seed, index))),
    );
    return { indices, replies };
  }

  private async decodeItem(
    pool: DecoderPool,
    item: BatchSource,
    options: DecodeOptions,
    seed: number,
  ): Promise<DecodeReply> {
    const { cache } = this.options;
    if (!cache || item.cacheSlot === undefined) return this.counted(await pool.decode(item, options, seed));
    const known = cache.bad.get(item.cacheSlot);
    if (known !== undefined) return { task: -1, threadId, error: known };
    const reply = this.counted(await pool.decode(item, options, seed, { cache: cache.slot(item.cacheSlot) }));
    if (reply.error !== undefined) cache.bad.set(item.cacheSlot, reply.error);
    return reply;
  }

  private counted(reply: DecodeReply): DecodeReply {
    if (!reply.cached) this.summary.decoded++;
    return reply;
  }

  /** Runs in item order, so that skips are counted (and strict failures raised) in that order. */
  private assemble({ indices, replies }: DecodedBatch): ImageBatch | undefined {
    const kept = indices.flatMap((index, i) => (this.keep(this.items[index]!, replies[i]!) ? [i] : []));
    if (kept.length === 0) return undefined;
    const { height, width, channels } = outputShape(
      this.options,
      channelsOf(this.items[indices[kept[0]!]!]!, this.options),
    );
    const pixels = height * width * channels;
    const data = new Float32Array(kept.length * pixels);
    kept.forEach((i, position) => {
      const values = replies[i]!.data!;
      if (values.length !== pixels) {
        const item = this.items[indices[i]!]!;
        throw new InputError(
          filesOf(item).join(', '),
          undefined,
          undefined,
          `decoded to ${values.length} values, expected ${pixels}: items of one stream need the same number of channels`,
        );
      }
      data.set(values, position * pixels);
    });
    const shape: [number, number, number, number] =
      this.options.layout === 'chw' ? [kept.length, channels, height, width] : [kept.length, height, width, channels];
    const items = kept.map((i) => this.items[indices[i]!]!);
    return {
      ids: items.map((item) => item.id),
      indices: Int32Array.from(kept, (i) => indices[i]!),
      labels: Int32Array.from(items, (item) => item.label ?? -1),
      data,
      shape,
      threadIds: kept.map((i) => replies[i]!.threadId),
    };
  }

  private keep(item: ImageSource, reply: DecodeReply): boolean {
    if (reply.error === undefined) return true;
    const file = filesOf(item).join(', ') || item.id;
    if (this.options.strict) throw new InputError(file, undefined, undefined, `cannot decode image: ${reply.error}`);
    // One line per epoch sums these up (the trainer); each file only with --verbose.
    log.debug(`skipped ${item.id}: cannot decode ${file}: ${reply.error}`);
    this.summary.skipped++;
    this.summary.reasons.push({ id: item.id, file, reason: reply.error });
    return false;
  }
}

interface DecodedBatch {
  readonly indices: number[];
  readonly replies: DecodeReply[];
}

export function imageBatches(items: readonly BatchSource[], options: ImageBatchOptions): ImageBatches {
  return new ImageBatches(items, options);
}

/**
 * Decodes every item whose cache slot (its position in `items`) is not filled yet, on the pool's threads, with a
 * progress bar; images that cannot be decoded are recorded in the cache's `bad` (streams skip and count them).
 */
export async function fillImageCache(
  items: readonly ImageSource[],
  cache: ImageCache,
  options: DecodeOptions,
  pool: DecoderPool,
): Promise<void> {
  const missing = items.flatMap((_, slot) => (cache.isFilled(slot) || cache.bad.has(slot) ? [] : [slot]));
  const progress = itemProgress('decoding images once', missing.length);
  try {
    await Promise.all(
      missing.map(async (slot) => {
        const reply = await pool.decode(items[slot]!, options, 0, { cache: cache.slot(slot), fillOnly: true });
        if (reply.error !== undefined) cache.bad.set(slot, reply.error);
        progress.advance(1);
      }),
    );
  } finally {
    progress.stop();
  }
}

export interface ImageOptions extends DecodeOptions {
  /** 1 (grey), 3 (RGB), or the number of channelPaths. */
  readonly channels: number;
  /** Unreadable images fail the call instead of being replaced by zeros. */
  readonly strict?: boolean;
  /** Items decoded at once on the main thread (libvips decodes on its own threads). */
  readonly concurrency?: number;
  readonly seed?: number;
}

export interface LoadedImages {
  /** items.length images in the options' layout (HWC by default), aligned with the items. */
  readonly data: Float32Array;
  /** Ids of items whose image could not be read (their pixels are zero). */
  readonly skipped: readonly string[];
}

/**
 * Decodes a small set of items at once, aligned with the items (an unreadable one becomes zeros, or
 * fails under `strict`). For training epochs over a whole data set use imageBatches, which streams.
 */
export async function loadImages(items: readonly ImageSource[], options: ImageOptions): Promise<LoadedImages> {
  const { height, width, channels } = outputShape(options, options.channels);
  const pixels = height * width * channels;
  const data = new Float32Array(items.length * pixels);
  const skipped: string[] = [];
  let next = 0;
  const decodeNext = async () => {
    for (let i = next++; i < items.length; i = next++) {
      const item = items[i]!;
      try {
        if (channelsOf(item, options) !== channels)
          throw new Error(`${channelsOf(item, options)} channels, expected ${channels}`);
        data.set(await decodeImage(item, options, sampleSeed(options.seed ?? 0, i)), i * pixels);
      } catch (error) {
        const file = filesOf(item).join(', ') || item.id;
        if (options.strict)
          throw new InputError(file, undefined, undefined, `cannot decode image: ${(error as Error).message}`);
        skipped.push(item.id);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? availableParallelism() * 2 }, decodeNext));
  if (skipped.length > 0)
    log.warn(
      `${skipped.length} unreadable image(s) replaced by blank ones (first: ${skipped[0]}); --strict makes this an error`,
    );
  return { data, skipped };
}
