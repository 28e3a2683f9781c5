import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rename, rm, stat, statfs, type FileHandle } from 'node:fs/promises';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { fileSystemError, replaceFile, temporarySibling } from '../io/atomic-write.js';
import { log } from '../log.js';
import { channelsOf, filesOf, outputShape, type DecodeOptions, type ImageSource } from './image-decode.js';

/**
 * Decoded images kept at the training size (core/data/image-decode.ts's decodePixels: bytes, HWC), one slot per
 * item, so that sharp decodes each image once and every later epoch augments the stored bytes. The slots live in
 * shared memory when they fit under a bound, in a file otherwise; worker threads read and fill them directly.
 */

/** What a worker thread needs to read and fill the slots of a cache. */
export interface CacheHandle {
  readonly slotBytes: number;
  /** One byte per slot, FILLED once the slot's pixels are stored. */
  readonly state: SharedArrayBuffer;
  /** The slots in memory, one after another… */
  readonly pixels?: SharedArrayBuffer;
  /** …or in this file, from `pixelOffset` on. */
  readonly file?: string;
  readonly pixelOffset: number;
}

/** A slot of a cache, as a decoding request carries it. */
export interface CacheSlot {
  readonly handle: CacheHandle;
  readonly slot: number;
}

const FILLED = 1;
/** File layout: magic, slot count, slot bytes, one state byte per slot, then the slots from a page boundary. */
const MAGIC = 'SKPIXEL1';
const HEADER_BYTES = 16;
const PAGE = 4096;
/** Bumped whenever decodePixels changes what it produces, so that older caches are not read. */
const FORMAT = 1;
const CACHE_PREFIX = 'images-';
const CACHE_SUFFIX = '.pixels';

/** The stored pixels of a slot, or undefined when it is not filled yet. */
export function cachedPixels({ handle, slot }: CacheSlot): Uint8Array | undefined {
  if (Atomics.load(new Uint8Array(handle.state), slot) !== FILLED) return undefined;
  if (handle.pixels) return new Uint8Array(handle.pixels, slot * handle.slotBytes, handle.slotBytes);
  const pixels = new Uint8Array(handle.slotBytes);
  const fd = openSync(handle.file!, 'r');
  try {
    readSync(fd, pixels, 0, pixels.length, handle.pixelOffset + slot * handle.slotBytes);
  } finally {
    closeSync(fd);
  }
  return pixels;
}

/** Stores a slot's pixels, then marks it filled (two threads filling one slot write the same bytes). */
export function storePixels({ handle, slot }: CacheSlot, pixels: Uint8Array): void {
  if (pixels.length !== handle.slotBytes)
    throw new Error(`${pixels.length} decoded bytes for a cache slot of ${handle.slotBytes}`);
  if (handle.pixels) new Uint8Array(handle.pixels, slot * handle.slotBytes, handle.slotBytes).set(pixels);
  else {
    const fd = openSync(handle.file!, 'r+');
    try {
      writeSync(fd, pixels, 0, pixels.length, handle.pixelOffset + slot * handle.slotBytes);
    } finally {
      closeSync(fd);
    }
  }
  Atomics.store(new Uint8Array(handle.state), slot, FILLED);
}

export interface ImageCacheOptions {
  /** Folder where the cache is kept between runs (one cache per folder); without one it lasts while open. */
  readonly dir?: string;
  /** Largest cache held in memory; a larger one is a file. Default: a quarter of the memory, at most 2 GiB. */
  readonly memoryBytes?: number;
}

export const DEFAULT_CACHE_MEMORY_BYTES = Math.min(2 * 1024 ** 3, Math.floor(totalmem() / 4));

/** The key of a cache: its items' files (path, size, modification time), the output size and channels, the decoder. */
async function cacheKey(items: readonly ImageSource[], size: DecodeOptions['size'], channels: number): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ format: FORMAT, vips: sharp.versions.vips, size, channels }));
  const CHUNK = 256;
  for (let start = 0; start < items.length; start += CHUNK) {
    const described = await Promise.all(
      items.slice(start, start + CHUNK).map(async (item) =>
        Promise.all(
          filesOf(item).map(async (file) => {
            const info = await stat(file).catch(() => undefined);
            return info ? [file, info.size, info.mtimeMs] : [file, null];
          }),
        ),
      ),
    );
    hash.update(JSON.stringify(described));
  }
  return hash.digest('hex').slice(0, 24);
}

function header(count: number, slotBytes: number): Buffer {
  const bytes = Buffer.alloc(HEADER_BYTES);
  bytes.write(MAGIC, 0, 'latin1');
  bytes.writeUInt32LE(count, 8);
  bytes.writeUInt32LE(slotBytes, 12);
  return bytes;
}

/** Whether `file` is a complete cache file of `count` slots of `slotBytes`. */
async function isCacheFile(file: string, count: number, slotBytes: number, pixelOffset: number): Promise<boolean> {
  const info = await stat(file).catch(() => undefined);
  if (!info || info.size !== pixelOffset + count * slotBytes) return false;
  const handle = await open(file, 'r');
  try {
    const bytes = Buffer.alloc(HEADER_BYTES);
    await handle.read(bytes, 0, HEADER_BYTES, 0);
    return bytes.equals(header(count, slotBytes));
  } finally {
    await handle.close();
  }
}

/** Removes the folder's other caches and any temporary left by a run that was stopped. */
async function removeStale(dir: string, keep: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const stale = name.startsWith(`.${CACHE_PREFIX}`) || (name.startsWith(CACHE_PREFIX) && name !== keep);
    if (stale) await rm(join(dir, name), { force: true });
  }
}

/** Reads or writes all of `bytes` at `position` (a call moves at most 2 GiB). */
async function transfer(
  handle: FileHandle,
  mode: 'read' | 'write',
  bytes: Uint8Array,
  position: number,
): Promise<void> {
  for (let done = 0; done < bytes.length;) {
    const length = Math.min(bytes.length - done, 1 << 30);
    const moved =
      mode === 'read'
        ? (await handle.read(bytes, done, length, position + done)).bytesRead
        : (await handle.write(bytes, done, length, position + done)).bytesWritten;
    if (moved === 0) throw new Error(`the cache file ended early`);
    done += moved;
  }
}

async function readInto(file: string, target: Uint8Array, position: number): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await transfer(handle, 'read', target, position);
  } finally {
    await handle.close();
  }
}

/**
 * The cache of one list of items at one output size. `open` finds the cache an earlier run left in `dir` when the
 * key (files, sizes, modification times, output size, channels, decoder) matches, else starts an empty one; `close`
 * keeps it for the next run (atomically: a stopped run leaves the previous cache or none, never a part).
 */
export class ImageCache {
  /** Slots whose image could not be decoded, with the reason: they are not retried while the cache is open. */
  readonly bad = new Map<number, string>();
  private readonly filledAtOpen: number;

  private constructor(
    readonly handle: CacheHandle,
    readonly count: number,
    /** Where the cache is kept after close, if anywhere. */
    private readonly keptAt: string | undefined,
    /** A folder of this cache's own, removed at close. */
    private readonly scratch: string | undefined,
  ) {
    this.filledAtOpen = this.filled;
  }

  static async open(
    items: readonly ImageSource[],
    decode: Pick<DecodeOptions, 'size' | 'channels'>,
    options: ImageCacheOptions = {},
  ): Promise<ImageCache | undefined> {
    if (items.length === 0) return undefined;
    const channels = channelsOf(items[0]!, decode);
    if (items.some((item) => channelsOf(item, decode) !== channels)) return undefined;
    const { height, width } = outputShape(decode, channels);
    const slotBytes = height * width * channels;
    const count = items.length;
    const pixelOffset = Math.ceil((HEADER_BYTES + count) / PAGE) * PAGE;
    const bytes = count * slotBytes;
    const name = `${CACHE_PREFIX}${await cacheKey(items, decode.size, channels)}${CACHE_SUFFIX}`;
    const keptAt = options.dir === undefined ? undefined : join(options.dir, name);
    try {
      if (options.dir !== undefined) {
        await mkdir(options.dir, { recursive: true });
        await removeStale(options.dir, name);
      }
      const existing = keptAt !== undefined && (await isCacheFile(keptAt, count, slotBytes, pixelOffset));
      const state = new SharedArrayBuffer(count);
      if (bytes <= (options.memoryBytes ?? DEFAULT_CACHE_MEMORY_BYTES)) {
        const pixels = new SharedArrayBuffer(bytes);
        if (existing) {
          await readInto(keptAt, new Uint8Array(state), HEADER_BYTES);
          await readInto(keptAt, new Uint8Array(pixels), pixelOffset);
        }
        return new ImageCache({ slotBytes, state, pixels, pixelOffset }, count, keptAt, undefined);
      }
      const scratch = keptAt === undefined ? await mkdtemp(join(tmpdir(), 'simkit-images-')) : undefined;
      const folder = options.dir ?? scratch!;
      const free = await statfs(folder).then((info) => info.bavail * info.bsize);
      if (!existing && pixelOffset + bytes > free / 2) {
        log.info(
          `images are decoded every epoch: their cache (${gib(bytes)}) would take more than half the free disk space in ${folder}`,
        );
        if (scratch) await rm(scratch, { recursive: true, force: true });
        return undefined;
      }
      // The file is used under a temporary name and renamed back at close.
      const file = keptAt === undefined ? join(scratch!, name) : temporarySibling(keptAt);
      if (existing) {
        await rename(keptAt, file);
        await readInto(file, new Uint8Array(state), HEADER_BYTES);
      } else {
        const handle = await open(file, 'w');
        try {
          await handle.write(header(count, slotBytes), 0, HEADER_BYTES, 0);
          await handle.truncate(pixelOffset + bytes);
        } finally {
          await handle.close();
        }
      }
      return new ImageCache({ slotBytes, state, file, pixelOffset }, count, keptAt, scratch);
    } catch (error) {
      throw fileSystemError(keptAt ?? tmpdir(), error);
    }
  }

  /** 'memory' or 'disk'. */
  get where(): 'memory' | 'disk' {
    return this.handle.pixels ? 'memory' : 'disk';
  }

  get filled(): number {
    return new Uint8Array(this.handle.state).reduce((sum, value) => sum + (value === FILLED ? 1 : 0), 0);
  }

  /** Filled by an earlier run. */
  get reused(): number {
    return this.filledAtOpen;
  }

  isFilled(slot: number): boolean {
    return Atomics.load(new Uint8Array(this.handle.state), slot) === FILLED;
  }

  /** A slot of this cache, for a decoding request. */
  slot(slot: number): CacheSlot {
    return { handle: this.handle, slot };
  }

  /** Keeps the cache for the next run (when opened with a folder) and releases it. */
  async close(): Promise<void> {
    const { file, pixels, state } = this.handle;
    try {
      if (file !== undefined) {
        if (this.keptAt !== undefined && this.filled > 0) {
          const handle = await open(file, 'r+');
          try {
            await handle.write(new Uint8Array(state), 0, this.count, HEADER_BYTES);
            await handle.sync();
          } finally {
            await handle.close();
          }
          await rename(file, this.keptAt);
        } else await rm(file, { force: true });
      } else if (this.keptAt !== undefined && this.filled > this.filledAtOpen) {
        await replaceFile(this.keptAt, async (temporary) => {
          const handle = await open(temporary, 'w');
          try {
            const count = this.count;
            const pixelOffset = this.handle.pixelOffset;
            await handle.write(header(count, this.handle.slotBytes), 0, HEADER_BYTES, 0);
            await handle.write(new Uint8Array(state), 0, count, HEADER_BYTES);
            await transfer(handle, 'write', new Uint8Array(pixels!), pixelOffset);
            await handle.sync();
          } finally {
            await handle.close();
          }
        });
      }
    } finally {
      if (this.scratch) await rm(this.scratch, { recursive: true, force: true });
    }
  }
}

function gib(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${Math.ceil(bytes / 1024 ** 2)} MiB`;
}
