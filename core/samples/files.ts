import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Writes a file through a temporary sibling and a rename, so readers never see a partial file. */
export async function writeFileAtomic(path: string, content: string | Uint8Array, encoding: BufferEncoding = 'utf8'): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.tmp-${process.pid}`;
  await writeFile(temporary, content, typeof content === 'string' ? { encoding } : undefined);
  await rename(temporary, path);
}
