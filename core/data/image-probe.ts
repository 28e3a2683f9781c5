import { stat } from 'node:fs/promises';
import sharp from 'sharp';
import { itemProgress } from '../progress.js';

const PROBE_CONCURRENCY = 16;

/** Image files that cannot be used, sorted: missing (or not a file), or whose header no decoder reads. */
export interface UnusableImages {
  readonly missing: readonly string[];
  readonly unreadable: readonly string[];
}

/**
 * Probes each file: that it exists, and that its header decodes (sharp reads only the header, so
 * this is cheap next to decoding). A file that passes can still fail to decode later (a truncated
 * body); that is counted where it is decoded.
 */
export async function unusableImages(files: readonly string[]): Promise<UnusableImages> {
  const missing: string[] = [];
  const unreadable: string[] = [];
  let next = 0;
  const progress = itemProgress('checking images', files.length);
  const worker = async () => {
    for (let i = next++; i < files.length; i = next++) {
      const file = files[i]!;
      const found = await stat(file).catch(() => undefined);
      if (!found?.isFile()) missing.push(file);
      else if (
        !(await sharp(file)
          .metadata()
          .then(
            (meta) => (meta.width ?? 0) > 0 && (meta.height ?? 0) > 0,
            () => false,
          ))
      )
        unreadable.push(file);
      progress.advance(1);
    }
  };
  try {
    await Promise.all(Array.from({ length: PROBE_CONCURRENCY }, worker));
  } finally {
    progress.stop();
  }
  return { missing: missing.sort(), unreadable: unreadable.sort() };
}
